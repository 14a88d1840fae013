package graphtest

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/tidwall/gjson"
)

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
	return rs.waitEnded(ctx, rs.res.CallID, "call terminated, then deleted")
}
