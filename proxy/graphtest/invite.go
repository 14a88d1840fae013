package graphtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxInvitees is how many participants one invite may name.
const maxInvitees = 5

// operation is an inviteParticipantsOperation.
type operation struct {
	id            string // dashed lower case
	callID        string // as named in the invite path
	legacy        bool
	clientContext string
	status        string // running, completed, failed
	invitees      []invitee
	created       time.Time
	updated       time.Time
	failure       string // resultInfo message when failed
}

// inviteRequest is the body of participants/invite.
type inviteRequest struct {
	Participants  []invitee `json:"participants"`
	ClientContext string    `json:"clientContext"`
}

// fails reports whether inviting inv fails, and the participant's MRI.
func (g *Graph) fails(inv invitee) (string, bool) {
	kind, id := inv.who()
	mri := "28:" + dashedUpper(id.ID)
	if kind == "phone" {
		mri = "4:" + id.ID
	}
	if kind == "phone" && id.ID == FailPhone {
		return mri, true
	}
	for _, f := range g.opts.FailInvitees {
		if f == id.ID || (len(canonicalID(f)) == 32 && canonicalID(f) == canonicalID(id.ID)) {
			return mri, true
		}
	}
	return mri, false
}

// handleInvite answers participants/invite with a running
// inviteParticipantsOperation and a Location header, then notifies the
// operation's end, the roster update and, with replacesCallId, the end of
// the replaced call.
func (g *Graph) handleInvite(w http.ResponseWriter, r *http.Request, legacy bool) {
	c := g.lookup(w, r)
	if c == nil {
		return
	}
	body, err := readBody(r)
	if err != nil {
		g.graphError(w, r, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	var req inviteRequest
	if err := json.Unmarshal(body, &req); err != nil {
		g.graphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid request body: "+err.Error())
		return
	}
	switch {
	case len(req.Participants) == 0:
		g.graphError(w, r, http.StatusBadRequest, "BadRequest", "Participants are required.")
		return
	case len(req.Participants) > maxInvitees:
		g.graphError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Inviting more than %d participants is not supported.", maxInvitees))
		return
	case len(req.ClientContext) > 256:
		g.graphError(w, r, http.StatusBadRequest, "BadRequest", "ClientContext exceeds 256 characters.")
		return
	}
	for _, p := range req.Participants {
		if kind, id := p.who(); kind == "" || id.ID == "" {
			g.graphError(w, r, http.StatusBadRequest, "BadRequest", "Participant identity is required.")
			return
		}
	}
	invitees := req.Participants
	if invitees[0].ReplacesCallID != "" {
		// Only the first participant is read when replacing a call.
		invitees = invitees[:1]
	}
	trigger := g.since()
	pathCall := r.PathValue("call")
	now := time.Now().UTC()
	op := &operation{
		id:            g.ids.guid(),
		callID:        pathCall,
		legacy:        legacy,
		clientContext: req.ClientContext,
		status:        "running",
		invitees:      invitees,
		created:       now,
		updated:       now,
	}
	g.mu.Lock()
	g.ops[canonicalID(op.id)] = op
	g.mu.Unlock()

	g.graphHeaders(w, r)
	version := r.PathValue("version")
	opRef := op.id
	root := "/communications/calls/"
	if legacy {
		opRef = undashedUpper(op.id)
		root = "/app/calls/"
	}
	w.Header().Set("Location", g.baseURL(r)+"/"+version+root+pathCall+"/operations/"+opRef)
	write(w, r, http.StatusOK, odataJSON, mustJSON(g.operationBody(r, op, true)))

	g.scheduleInvite(trigger, c, op)
}

// scheduleInvite draws the delays and bodies of what follows an invite.
func (g *Graph) scheduleInvite(trigger time.Duration, c *call, op *operation) {
	var mris []string
	for _, inv := range op.invitees {
		if mri, bad := g.fails(inv); bad {
			mris = append(mris, mri)
		}
	}
	callRef, opRef := c.id, op.id
	if op.legacy {
		callRef, opRef = op.callID, undashedUpper(op.id)
	}
	if len(mris) > 0 {
		msg := "addParticipantsfailed for participants: " + strings.Join(mris, ",") +
			" reason: Audio-video modality controller could not invite participant to this conversation., code=580 subcode=5201"
		d := g.ids.between(400*time.Millisecond, 1500*time.Millisecond)
		g.schedule(trigger, c, []pending{{delay: d, body: failedBody(callRef, opRef, op.clientContext, msg, op.legacy), apply: func() {
			op.status, op.failure, op.updated = "failed", msg, time.Now().UTC()
		}}})
		return
	}

	wrap := commsBody
	if op.legacy {
		wrap = legacyBody
	}
	// Operation completed.
	var data obj
	if op.legacy {
		data = obj{
			{"@odata.type", "#microsoft.graph.inviteParticipantsOperation"},
			{"@odata.id", "/app/calls/" + callRef + "/operations/" + opRef},
			{"@odata.etag", `W/"51"`},
			{"clientContext", op.clientContext},
			{"status", "completed"},
		}
	} else {
		infos := make([]obj, 0, len(op.invitees))
		for _, inv := range op.invitees {
			infos = append(infos, invitationInfo(inv, g.tenantID))
		}
		data = obj{
			{"@odata.type", "#microsoft.graph.inviteParticipantsOperation"},
			{"participants", infos},
			{"status", "completed"},
			{"clientContext", op.clientContext},
			{"id", op.id},
		}
	}
	done := note("deleted", callRef, "/operations/"+opRef, op.legacy, data)

	// Roster: everyone in the call, the new participants included.
	g.mu.Lock()
	roster := slices.Clone(c.roster)
	next := len(roster) + 1
	g.mu.Unlock()
	var added []member
	for i, inv := range op.invitees {
		m := member{id: g.ids.guid(), sourceID: fmt.Sprint(next + i), inv: inv}
		if kind, id := inv.who(); kind == "user" && id.TenantID == "" {
			cp := *id
			cp.TenantID = g.tenantID
			m.inv.Identity = identitySet{User: &cp}
		}
		added = append(added, m)
	}
	roster = append(roster, added...)
	items := make([]obj, 0, len(roster))
	for _, m := range roster {
		items = append(items, participantBody(m, op.legacy, callRef))
	}
	rosterNote := note("updated", callRef, "/participants", op.legacy, items)

	d1 := g.ids.between(300*time.Millisecond, 900*time.Millisecond)
	d2 := d1 + g.ids.between(80*time.Millisecond, 400*time.Millisecond)
	plan := []pending{
		{delay: d1, body: wrap(done), apply: func() { op.status, op.updated = "completed", time.Now().UTC() }},
		{delay: d2, body: wrap(rosterNote), apply: func() { c.roster = append(c.roster, added...) }},
	}
	if rid := op.invitees[0].ReplacesCallID; rid != "" {
		// The replaced call is named as the invite named it: a GUID, or
		// "/app/calls/{id}" in the 2019 examples.
		ref := lastSegment(rid)
		d3 := d2 + g.ids.between(150*time.Millisecond, 500*time.Millisecond)
		d4 := d3 + g.ids.between(50*time.Millisecond, 250*time.Millisecond)
		key := canonicalID(ref)
		plan = append(plan,
			pending{delay: d3, body: wrap(replacedTerminated(ref, op.legacy)), apply: func() {
				if rc := g.calls[key]; rc != nil {
					rc.state = "terminated"
				}
			}},
			pending{delay: d4, body: wrap(replacedDeleted(ref, op.legacy)), apply: func() { delete(g.calls, key) }},
		)
	}
	g.schedule(trigger, c, plan)
}

// operationBody renders an operation; answer selects the invite answer's
// form (status "running" as the 2020 page shows it).
func (g *Graph) operationBody(r *http.Request, op *operation, answer bool) obj {
	g.mu.Lock()
	status, failure, updated := op.status, op.failure, op.updated
	g.mu.Unlock()
	if op.legacy {
		o := obj{
			{"id", op.id},
			{"status", status},
			{"createdDateTime", op.created.Format(time.RFC3339)},
			{"lastActionDateTime", updated.Format(time.RFC3339)},
			{"clientContext", op.clientContext},
		}
		if failure != "" {
			o = append(o, field{"resultInfo", obj{{"@odata.type", "#microsoft.graph.resultInfo"}, {"code", 500}, {"subCode", 0}, {"message", failure}}})
		}
		return o
	}
	if answer && status == "running" {
		status = "Running"
	}
	parts := make([]obj, 0, len(op.invitees))
	for _, inv := range op.invitees {
		parts = append(parts, answerParticipant(inv, g.tenantID))
	}
	var result any
	if failure != "" {
		result = obj{{"@odata.type", "#microsoft.graph.resultInfo"}, {"code", 500}, {"subCode", 0}, {"message", failure}}
	}
	return obj{
		{"@odata.context", g.baseURL(r) + "/" + r.PathValue("version") + "/$metadata#microsoft.graph.inviteParticipantsOperation"},
		{"@odata.type", "#microsoft.graph.inviteParticipantsOperation"},
		{"id", op.id},
		{"status", status},
		{"clientContext", op.clientContext},
		{"resultInfo", result},
		{"participants", parts},
	}
}

// handleGetOperation answers GET .../calls/{id}/operations/{op}: running
// until the operation's end has been notified, then completed or failed.
func (g *Graph) handleGetOperation(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	op := g.ops[canonicalID(r.PathValue("op"))]
	g.mu.Unlock()
	if op == nil || canonicalID(op.callID) != canonicalID(r.PathValue("call")) {
		g.graphError(w, r, http.StatusNotFound, "itemNotFound", "Operation "+r.PathValue("op")+" not found.")
		return
	}
	g.graphHeaders(w, r)
	write(w, r, http.StatusOK, odataJSON, mustJSON(g.operationBody(r, op, false)))
}
