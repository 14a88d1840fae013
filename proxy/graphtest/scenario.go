package graphtest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// Scenario names a sequence of Graph requests the Bot makes and the
// notifications it then expects.
type Scenario string

// The scenarios. Each creates a group call and waits until it is
// established before inviting.
const (
	// SingleInvite invites one user (dashed lower-case id).
	SingleInvite Scenario = "single-invite"
	// MultipleInvite invites three users in one request, one of them with
	// an upper-case id.
	MultipleInvite Scenario = "multiple-invite"
	// ReplaceCall invites one user with replacesCallId naming a
	// peer-to-peer call, which Graph then terminates and deletes.
	ReplaceCall Scenario = "replace-call"
	// PSTNInvite invites a phone number.
	PSTNInvite Scenario = "pstn-invite"
	// FailedInvite invites FailPhone; the operation fails and the bot reads
	// the failure's status by following Location.
	FailedInvite Scenario = "failed-invite"
	// LegacyAppCalls invites through the deprecated
	// POST /beta/app/calls/{ID}/participants/invite with the call id as 32
	// upper-case hex digits.
	LegacyAppCalls Scenario = "legacy-app-calls"
	// FullCall invites one user, polls the operation at Location until it
	// completed, reads the roster and the call, and hangs up.
	FullCall Scenario = "full-call"
)

// Scenarios returns every scenario, in a stable order.
func Scenarios() []Scenario {
	return []Scenario{SingleInvite, MultipleInvite, ReplaceCall, PSTNInvite, FailedInvite, LegacyAppCalls, FullCall}
}

// IDs are the identifiers a bot presents in one scenario, all derived from
// BotOptions.Seed and the scenario's name.
type IDs struct {
	// ClientContext is the invite's clientContext (32 upper-case hex digits
	// for LegacyAppCalls, a dashed GUID otherwise).
	ClientContext string
	// Target is the user the created call targets.
	Target string
	// Users are the invitees of MultipleInvite; Users[0] is the invitee of
	// the single-user scenarios. Users[1] is in upper case.
	Users []string
	// Phone is PSTNInvite's invitee.
	Phone string
	// ReplacedCallID is the peer-to-peer call ReplaceCall replaces.
	ReplacedCallID string
}

// idsFor derives the ids; rs.ids continues the same source for the
// client-request-id headers.
func (b *Bot) idsFor(s Scenario) (IDs, *idSource) {
	h := fnv.New64a()
	h.Write([]byte(s))
	src := newIDSource(b.opts.Seed, h.Sum64())
	ids := IDs{
		ClientContext:  src.guid(),
		Target:         src.guid(),
		Users:          []string{src.guid(), strings.ToUpper(src.guid()), src.guid()},
		Phone:          "+1425" + src.digits(7),
		ReplacedCallID: src.guid(),
	}
	if s == LegacyAppCalls {
		ids.ClientContext = undashedUpper(ids.ClientContext)
	}
	return ids, src
}

// IDs returns the identifiers the bot uses in scenario s.
func (b *Bot) IDs(s Scenario) IDs {
	ids, _ := b.idsFor(s)
	return ids
}

// ExpectedShapes returns the Result.Shapes of a correct run of s against
// Graph (or a faithful replay of one).
func (b *Bot) ExpectedShapes(s Scenario) []string {
	call := []string{
		"updated /app/calls/{id} state=establishing",
		"updated /app/calls/{id} state=established",
	}
	done := "deleted /app/calls/{id}/operations/{id} status=completed"
	roster := func(n int) string { return fmt.Sprintf("updated /app/calls/{id}/participants (%d participants)", n) }
	switch s {
	case MultipleInvite:
		return append(call, done, roster(4))
	case ReplaceCall:
		return append(call, done, roster(2), "updated /app/calls/{id} state=terminated", "deleted /app/calls/{id}")
	case FailedInvite:
		return append(call, "deleted /app/calls/{id}/operations/{id} status=failed")
	case FullCall:
		return append(call, done, roster(2), "updated /app/calls/{id} state=terminated", "deleted /app/calls/{id}")
	}
	return append(call, done, roster(2))
}

// errStopped reports a scenario that could not go on; the failed check
// says why.
var errStopped = errors.New("scenario stopped")

// runState is one Run.
type runState struct {
	bot   *Bot
	res   *Result
	ids   *idSource
	id    IDs
	start time.Time
	from  int             // first inbox entry of this run
	used  map[[2]int]bool // inbox entry and value index already correlated
	// myParticipantID is the bot's participant in the call it invites into.
	myParticipantID string
}

// Run plays scenario s against GraphURL: it creates the call(s), invites,
// waits for every expected notification (each wait bounded by ctx and
// WaitTimeout) and checks that ids, clientContext, statuses and order
// correlate. The error is non-nil when the scenario could not be played to
// its end (transport failure, timeout, an unexpected status); the Result
// is returned in every case and its Err says whether every check passed.
func (b *Bot) Run(ctx context.Context, s Scenario) (*Result, error) {
	if !slices.Contains(Scenarios(), s) {
		return nil, fmt.Errorf("run scenario: unknown scenario %q", s)
	}
	if b.opts.GraphURL == "" || b.opts.TokenURL == "" || b.opts.ClientID == "" {
		return nil, errors.New("run scenario: GraphURL, TokenURL and ClientID are required")
	}
	ids, src := b.idsFor(s)
	b.mu.Lock()
	from := len(b.inbox)
	b.mu.Unlock()
	rs := &runState{bot: b, res: &Result{Scenario: s}, ids: src, id: ids, start: time.Now(), from: from, used: make(map[[2]int]bool)}
	err := rs.play(ctx, s)
	rs.finish(err == nil)
	if err != nil {
		return rs.res, fmt.Errorf("run %s: %w", s, err)
	}
	return rs.res, nil
}

// play dispatches the scenario.
func (rs *runState) play(ctx context.Context, s Scenario) error {
	version := "v1.0"
	if s == LegacyAppCalls {
		version = "beta"
	}
	callID, err := rs.createCall(ctx, version)
	if err != nil {
		return err
	}
	rs.res.CallID = callID
	base := rs.bot.opts.GraphURL + "/" + version + "/communications/calls/" + callID
	user := func(i int) any { return rs.userInvitee(rs.id.Users[i], "") }
	inv := invitePlan{callRef: callID, url: base + "/participants/invite", clientContext: rs.id.ClientContext}
	switch s {
	case SingleInvite, FullCall:
		inv.participants, inv.want = []any{user(0)}, []string{rs.id.Users[0]}
	case MultipleInvite:
		inv.participants, inv.want = []any{user(0), user(1), user(2)}, rs.id.Users
	case ReplaceCall:
		inv.participants, inv.want = []any{rs.userInvitee(rs.id.Users[0], rs.id.ReplacedCallID)}, []string{rs.id.Users[0]}
	case PSTNInvite:
		inv.participants, inv.want = []any{phoneInvitee(rs.id.Phone)}, []string{rs.id.Phone}
	case FailedInvite:
		inv.participants, inv.fail = []any{phoneInvitee(FailPhone)}, true
	case LegacyAppCalls:
		inv.legacy = true
		inv.callRef = undashedUpper(callID)
		inv.url = rs.bot.opts.GraphURL + "/beta/app/calls/" + inv.callRef + "/participants/invite"
		inv.participants = []any{obj{
			{"endpointType", "default"},
			{"identity", obj{{"user", obj{{"id", rs.id.Users[0]}, {"tenantId", rs.tenantID()}, {"displayName", "Test User"}}}}},
			{"languageId", "en-US"},
			{"region", "westus"},
		}}
		inv.want = []string{rs.id.Users[0]}
	}
	opID, location, err := rs.invite(ctx, inv)
	if err != nil {
		return err
	}
	rs.res.OperationID = opID

	if s == FullCall {
		// Poll the operation where Location says, before and after its end
		// is notified: two GETs whatever the timing, so that the request
		// sequence (and the simulator's ids) stay deterministic.
		if _, err := rs.getOperation(ctx, location, "running", "completed"); err != nil {
			return err
		}
	}
	if inv.fail {
		if _, err := rs.waitOperation(ctx, inv, "failed"); err != nil {
			return err
		}
		_, err := rs.getOperation(ctx, location, "failed")
		return err
	}
	done, err := rs.waitOperation(ctx, inv, "completed")
	if err != nil {
		return err
	}
	roster, err := rs.waitRoster(ctx, inv)
	if err != nil {
		return err
	}
	rs.order("operation completed before roster update", done, roster)
	if s == ReplaceCall {
		term, err := rs.waitCall(ctx, rs.id.ReplacedCallID, "updated", "terminated")
		if err != nil {
			return err
		}
		del, err := rs.waitCall(ctx, rs.id.ReplacedCallID, "deleted", "")
		if err != nil {
			return err
		}
		rs.order("replaced call terminated, then deleted, after the roster update", roster, term, del)
	}
	if s == FullCall {
		return rs.hangUp(ctx, base, location, inv)
	}
	return nil
}

// tenantID is BotOptions.TenantID or the tenant in TokenURL's path.
func (rs *runState) tenantID() string {
	if t := rs.bot.opts.TenantID; t != "" {
		return t
	}
	if u, err := url.Parse(rs.bot.opts.TokenURL); err == nil {
		if seg := strings.Split(strings.Trim(u.Path, "/"), "/"); len(seg) > 0 {
			return seg[0]
		}
	}
	return ""
}

// userInvitee is an invitationParticipantInfo for an AAD user (2020 form).
func (rs *runState) userInvitee(id, replaces string) any {
	o := obj{{"@odata.type", "#microsoft.graph.invitationParticipantInfo"}}
	if replaces != "" {
		o = append(o, field{"replacesCallId", replaces})
	}
	return append(o, field{"identity", obj{
		{"@odata.type", "#microsoft.graph.identitySet"},
		{"user", obj{{"@odata.type", "#microsoft.graph.identity"}, {"id", id}, {"identityProvider", "AAD"}}},
	}})
}

// phoneInvitee is an invitationParticipantInfo for a PSTN number.
func phoneInvitee(number string) any {
	return obj{
		{"@odata.type", "#microsoft.graph.invitationParticipantInfo"},
		{"identity", obj{
			{"@odata.type", "#microsoft.graph.identitySet"},
			{"phone", obj{{"@odata.type", "#microsoft.graph.identity"}, {"id", number}}},
		}},
	}
}

var threadIDPattern = regexp.MustCompile(`^19:meeting_[A-Za-z0-9+/=_-]+@thread\.v2$`)

// createCall creates a group call and waits until it is established.
func (rs *runState) createCall(ctx context.Context, version string) (string, error) {
	body := obj{
		{"@odata.type", "#microsoft.graph.call"},
		{"callbackUri", rs.bot.callbackURL()},
		{"requestedModalities", []string{"audio"}},
		{"mediaConfig", obj{{"@odata.type", "#microsoft.graph.serviceHostedMediaConfig"}}},
		{"source", obj{
			{"@odata.type", "#microsoft.graph.participantInfo"},
			{"identity", obj{
				{"@odata.type", "#microsoft.graph.identitySet"},
				{"application", obj{{"@odata.type", "#microsoft.graph.identity"}, {"displayName", "graphtest bot"}, {"id", rs.bot.opts.ClientID}}},
			}},
		}},
		{"targets", []obj{{
			{"@odata.type", "#microsoft.graph.invitationParticipantInfo"},
			{"identity", obj{
				{"@odata.type", "#microsoft.graph.identitySet"},
				{"user", obj{{"@odata.type", "#microsoft.graph.identity"}, {"id", rs.id.Target}}},
			}},
		}}},
		{"tenantId", rs.tenantID()},
	}
	status, _, resp, err := rs.bot.graph(ctx, rs, http.MethodPost, rs.bot.opts.GraphURL+"/"+version+"/communications/calls", body)
	if err != nil {
		rs.res.check("create call", false, "%v", err)
		return "", err
	}
	if !rs.res.check("create call: 201 Created", status == http.StatusCreated, "status %d", status) {
		return "", errStopped
	}
	r := gjson.ParseBytes(resp)
	id := r.Get("id").String()
	rs.res.check("create call: id issued", id != "", "id %q", id)
	rs.res.check("create call: state establishing", r.Get("state").String() == "establishing", "state %q", r.Get("state").String())
	rs.res.check("create call: chatInfo.threadId", threadIDPattern.MatchString(r.Get("chatInfo.threadId").String()), "threadId %q", r.Get("chatInfo.threadId").String())
	rs.res.check("create call: myParticipantId", r.Get("myParticipantId").String() != "", "myParticipantId %q", r.Get("myParticipantId").String())
	rs.res.check("create call: callbackUri echoed", r.Get("callbackUri").String() == rs.bot.callbackURL(), "callbackUri %q", r.Get("callbackUri").String())
	if id == "" {
		return "", errStopped
	}
	rs.myParticipantID = r.Get("myParticipantId").String()
	est, err := rs.waitCall(ctx, id, "updated", "establishing")
	if err != nil {
		return "", err
	}
	ok, err := rs.waitCall(ctx, id, "updated", "established")
	if err != nil {
		return "", err
	}
	rs.order("call establishing, then established", est, ok)
	return id, nil
}

// invitePlan is one invite request and what it should lead to.
type invitePlan struct {
	url           string
	callRef       string // the call id as the invite path names it
	legacy        bool
	participants  []any
	clientContext string
	want          []string // identity ids the roster must list
	fail          bool
}

// invite posts the invite and checks the answer; it returns the operation
// id and the Location header.
func (rs *runState) invite(ctx context.Context, inv invitePlan) (string, string, error) {
	status, h, resp, err := rs.bot.graph(ctx, rs, http.MethodPost, inv.url, obj{{"participants", inv.participants}, {"clientContext", inv.clientContext}})
	if err != nil {
		rs.res.check("invite", false, "%v", err)
		return "", "", err
	}
	if !rs.res.check("invite: 200 OK", status == http.StatusOK, "status %d", status) {
		return "", "", errStopped
	}
	r := gjson.ParseBytes(resp)
	opID := r.Get("id").String()
	loc := h.Get("Location")
	u, perr := url.Parse(loc)
	rs.res.check("invite: Location is absolute", perr == nil && u.IsAbs() && u.Host != "", "Location %q", loc)
	var locCall, locOp string
	if perr == nil {
		locCall, locOp = callAndOperation(u.Path)
	}
	rs.res.check("invite: Location names the call", locCall == inv.callRef, "Location %q, call %s", loc, inv.callRef)
	rs.res.check("invite: Location names the operation", locOp != "" && sameID(locOp, opID), "Location %q, operation id %q", loc, opID)
	rs.res.check("invite: clientContext echoed", r.Get("clientContext").String() == inv.clientContext, "clientContext %q, sent %q", r.Get("clientContext").String(), inv.clientContext)
	st := r.Get("status").String()
	if inv.legacy {
		rs.res.check("invite: status running", st == "running", "status %q", st)
	} else {
		rs.res.check("invite: status running", strings.EqualFold(st, "running"), "status %q", st)
		var got []string
		for _, p := range r.Get("participants").Array() {
			got = append(got, identityID(p.Get("identity")))
		}
		rs.res.check("invite: participants echoed", inv.fail || sameIDs(got, inv.want), "participants %v, invited %v", got, inv.want)
	}
	if opID == "" || loc == "" {
		return "", "", errStopped
	}
	return opID, loc, nil
}

// identityID returns the id of the one identity in an identitySet.
func identityID(set gjson.Result) string {
	for _, k := range []string{"user", "phone", "application", "applicationInstance", "guest"} {
		if v := set.Get(k + ".id"); v.Exists() && v.String() != "" {
			return v.String()
		}
	}
	return ""
}

// sameID compares two ids the way Graph treats them: GUIDs in any form and
// case are equal, anything else must match exactly.
func sameID(a, b string) bool {
	if ca, cb := canonicalID(a), canonicalID(b); len(ca) == 32 && len(cb) == 32 {
		return ca == cb
	}
	return a == b
}

// sameIDs reports whether got lists exactly the ids of want, in any order.
func sameIDs(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for _, w := range want {
		if !slices.ContainsFunc(got, func(g string) bool { return sameID(g, w) }) {
			return false
		}
	}
	return true
}

// callAndOperation splits ".../calls/{call}/operations/{op}".
func callAndOperation(p string) (string, string) {
	seg := strings.Split(p, "/")
	var callID, opID string
	for i := 0; i+1 < len(seg); i++ {
		switch seg[i] {
		case "calls":
			callID = seg[i+1]
		case "operations":
			opID = seg[i+1]
		}
	}
	return callID, opID
}

// resourceCall returns the call named by a notification's resource, and
// what follows it ("", "/participants", "/operations/{id}").
func resourceCall(resource string) (string, string) {
	_, after, ok := strings.Cut(resource, "/calls/")
	if !ok {
		return "", ""
	}
	id, rest, _ := strings.Cut(after, "/")
	if rest != "" {
		rest = "/" + rest
	}
	return id, rest
}

// waitOperation waits for the notification ending the invite's
// operation, correlated by operation id or clientContext.
func (rs *runState) waitOperation(ctx context.Context, inv invitePlan, want string) ([2]int, error) {
	opID := rs.res.OperationID
	name := "operation " + want + " notified"
	pos, n, err := rs.wait(ctx, name, func(n gjson.Result) bool {
		_, rest := resourceCall(n.Get("resource").String())
		_, op := callAndOperation(rest)
		return n.Get("changeType").String() == "deleted" && strings.HasPrefix(rest, "/operations/") &&
			(sameID(op, opID) || n.Get("resourceData.clientContext").String() == inv.clientContext)
	})
	if err != nil {
		return pos, err
	}
	callRef, rest := resourceCall(n.Get("resource").String())
	_, op := callAndOperation(rest)
	rs.res.check(name+": resource names the call", callRef == inv.callRef || (!inv.legacy && sameID(callRef, inv.callRef)), "resource %q", n.Get("resource").String())
	rs.res.check(name+": resource names the operation", sameID(op, opID), "resource %q, operation %q", n.Get("resource").String(), opID)
	rs.res.check(name+": clientContext echoed", n.Get("resourceData.clientContext").String() == inv.clientContext, "clientContext %q", n.Get("resourceData.clientContext").String())
	rs.res.check(name+": status", n.Get("resourceData.status").String() == want, "status %q", n.Get("resourceData.status").String())
	rs.res.check(name+": inviteParticipantsOperation", n.Get(`resourceData.@odata\.type`).String() == "#microsoft.graph.inviteParticipantsOperation", "@odata.type %q", n.Get(`resourceData.@odata\.type`).String())
	if want == "failed" {
		rs.res.check(name+": resultInfo", n.Get("resourceData.resultInfo.code").Int() >= 400 && n.Get("resourceData.resultInfo.message").String() != "", "resultInfo %s", n.Get("resourceData.resultInfo").Raw)
	}
	return pos, nil
}

// waitRoster waits for the roster update of the invite's call and checks
// that it lists the invitees.
func (rs *runState) waitRoster(ctx context.Context, inv invitePlan) ([2]int, error) {
	name := "roster updated"
	pos, n, err := rs.wait(ctx, name, func(n gjson.Result) bool {
		callRef, rest := resourceCall(n.Get("resource").String())
		return n.Get("changeType").String() == "updated" && rest == "/participants" && sameID(callRef, inv.callRef)
	})
	if err != nil {
		return pos, err
	}
	var got []string
	for _, p := range n.Get("resourceData").Array() {
		got = append(got, identityID(p.Get("info.identity")))
	}
	missing := slices.DeleteFunc(slices.Clone(inv.want), func(w string) bool {
		return slices.ContainsFunc(got, func(g string) bool { return sameID(g, w) })
	})
	rs.res.check(name+": lists the invitees", len(missing) == 0, "roster %v, missing %v", got, missing)
	// The bot finds itself by the myParticipantId of its call (the 2019
	// form names participants only in @odata.id).
	rs.res.check(name+": lists the bot's own participant", slices.ContainsFunc(n.Get("resourceData").Array(), func(p gjson.Result) bool {
		return sameID(p.Get("id").String(), rs.myParticipantID) || sameID(lastSegment(p.Get(`@odata\.id`).String()), rs.myParticipantID)
	}), "myParticipantId %s not in roster %v", rs.myParticipantID, got)
	return pos, nil
}

// waitCall waits for a notification about the call itself.
func (rs *runState) waitCall(ctx context.Context, callID, changeType, state string) ([2]int, error) {
	name := "call " + changeType
	if state != "" {
		name = "call " + state
	}
	name += " notified"
	pos, _, err := rs.wait(ctx, name, func(n gjson.Result) bool {
		ref, rest := resourceCall(n.Get("resource").String())
		return rest == "" && sameID(ref, callID) && n.Get("changeType").String() == changeType &&
			(state == "" || n.Get("resourceData.state").String() == state)
	})
	return pos, err
}

// getOperation GETs the operation at Location exactly as given and checks
// its status; the first of want is also accepted when it is not the last.
func (rs *runState) getOperation(ctx context.Context, location string, want ...string) (string, error) {
	status, _, body, err := rs.bot.graph(ctx, rs, http.MethodGet, location, nil)
	if err != nil {
		rs.res.check("get operation", false, "%v", err)
		return "", err
	}
	if !rs.res.check("get operation: 200 OK", status == http.StatusOK, "status %d", status) {
		return "", errStopped
	}
	st := gjson.GetBytes(body, "status").String()
	rs.res.check("get operation: status "+strings.Join(want, " or "), slices.Contains(want, st), "status %q", st)
	rs.res.check("get operation: id", sameID(gjson.GetBytes(body, "id").String(), rs.res.OperationID), "id %q", gjson.GetBytes(body, "id").String())
	if st == "failed" {
		rs.res.check("get operation: resultInfo", gjson.GetBytes(body, "resultInfo.code").Int() >= 400, "resultInfo %s", gjson.GetBytes(body, "resultInfo").Raw)
	}
	return st, nil
}

// hangUp reads the operation, roster and call, deletes the call and waits
// for its end.
func (rs *runState) hangUp(ctx context.Context, base, location string, inv invitePlan) error {
	if _, err := rs.getOperation(ctx, location, "completed"); err != nil {
		return err
	}
	status, _, body, err := rs.bot.graph(ctx, rs, http.MethodGet, base+"/participants", nil)
	if err != nil {
		return err
	}
	var got []string
	for _, p := range gjson.GetBytes(body, "value").Array() {
		got = append(got, identityID(p.Get("info.identity")))
	}
	rs.res.check("get participants: lists the invitee", status == http.StatusOK && slices.ContainsFunc(got, func(g string) bool { return sameID(g, inv.want[0]) }), "status %d, participants %v", status, got)
	status, _, body, err = rs.bot.graph(ctx, rs, http.MethodGet, base, nil)
	if err != nil {
		return err
	}
	rs.res.check("get call: established", status == http.StatusOK && gjson.GetBytes(body, "state").String() == "established", "status %d, state %q", status, gjson.GetBytes(body, "state").String())
	status, _, _, err = rs.bot.graph(ctx, rs, http.MethodDelete, base, nil)
	if err != nil {
		return err
	}
	if !rs.res.check("delete call: 204 No Content", status == http.StatusNoContent, "status %d", status) {
		return errStopped
	}
	term, err := rs.waitCall(ctx, rs.res.CallID, "updated", "terminated")
	if err != nil {
		return err
	}
	del, err := rs.waitCall(ctx, rs.res.CallID, "deleted", "")
	if err != nil {
		return err
	}
	rs.order("call terminated, then deleted", term, del)
	return nil
}

// wait returns the first notification of this run not yet correlated that
// satisfies match, waiting for it until ctx ends or WaitTimeout passes.
func (rs *runState) wait(ctx context.Context, name string, match func(gjson.Result) bool) ([2]int, gjson.Result, error) {
	timeout := rs.bot.opts.WaitTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b := rs.bot
	for {
		b.mu.Lock()
		for i := rs.from; i < len(b.inbox); i++ {
			for j, it := range b.inbox[i].items {
				if pos := [2]int{i, j}; !rs.used[pos] && match(it) {
					rs.used[pos] = true
					at := b.inbox[i].at
					b.mu.Unlock()
					rs.res.check(name, true, "after %v", at.Sub(rs.start).Round(time.Millisecond))
					return pos, it, nil
				}
			}
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			rs.res.check(name, false, "not received: %v", ctx.Err())
			return [2]int{}, gjson.Result{}, fmt.Errorf("wait for %s: %w", name, ctx.Err())
		}
	}
}

// order checks that notifications arrived in the given order.
func (rs *runState) order(name string, pos ...[2]int) {
	ok := true
	for i := 1; i < len(pos); i++ {
		a, b := pos[i-1], pos[i]
		if a[0] > b[0] || (a[0] == b[0] && a[1] >= b[1]) {
			ok = false
		}
	}
	rs.res.check("order: "+name, ok, "positions %v", pos)
}

// finish copies the run's notifications into the result and, when the
// scenario ran to its end, checks that every one was correlated.
func (rs *runState) finish(complete bool) {
	b := rs.bot
	b.mu.Lock()
	inbox := slices.Clone(b.inbox[rs.from:])
	b.mu.Unlock()
	var stray []string
	for k, in := range inbox {
		rc := Received{Offset: in.at.Sub(rs.start), Path: in.path, Header: in.header, Body: in.body, Status: in.status}
		for j, it := range in.items {
			n := Notification{
				ChangeType:    it.Get("changeType").String(),
				Resource:      it.Get("resource").String(),
				ResourceURL:   it.Get("resourceUrl").String(),
				ODataType:     it.Get(`resourceData.@odata\.type`).String(),
				State:         it.Get("resourceData.state").String(),
				Status:        it.Get("resourceData.status").String(),
				ClientContext: it.Get("resourceData.clientContext").String(),
			}
			if d := it.Get("resourceData"); d.IsArray() {
				n.Participants = len(d.Array())
			}
			rc.Notifications = append(rc.Notifications, n)
			if !rs.used[[2]int{rs.from + k, j}] {
				stray = append(stray, n.String())
			}
		}
		rc.Summary = summary(rc.Notifications)
		rs.res.Received = append(rs.res.Received, rc)
		if in.status != http.StatusAccepted {
			rs.res.check("notification accepted", false, "%s answered %d", in.path, in.status)
		}
	}
	if complete {
		rs.res.check("every notification correlated", len(stray) == 0, "uncorrelated: %v", stray)
	}
}
