package graphtest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

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

// waitEnded waits for the notifications that end callID, its terminated
// update and then its deletion, and checks under name that they came in
// that order, after the positions in after.
func (rs *runState) waitEnded(ctx context.Context, callID, name string, after ...[2]int) error {
	term, err := rs.waitCall(ctx, callID, "updated", "terminated")
	if err != nil {
		return err
	}
	del, err := rs.waitCall(ctx, callID, "deleted", "")
	if err != nil {
		return err
	}
	rs.order(name, append(after, term, del)...)
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
				// A duplicate was handled when its first copy came: the
				// sample bot waits for news, not for copies.
				if pos := [2]int{i, j}; !rs.used[pos] && b.inbox[i].handling[j] != handledDuplicate && match(it) {
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

// order checks that notifications arrived in the given order. The naive
// bot relies on arrival order. The sample bot does not, since Graph promises
// none: it accepts notifications about different resources in any order,
// and two about one resource out of order when the one that came late was
// recognised as stale and ignored (a call does not go back to establishing).
func (rs *runState) order(name string, pos ...[2]int) {
	b := rs.bot
	b.mu.Lock()
	defer b.mu.Unlock()
	ok := true
	var tolerated []string
	for i := 1; i < len(pos); i++ {
		a, c := pos[i-1], pos[i]
		if a[0] < c[0] || (a[0] == c[0] && a[1] < c[1]) {
			continue
		}
		if b.opts.Naive || a == c {
			ok = false
			continue
		}
		ra := canonicalResource(b.inbox[a[0]].items[a[1]].Get("resource").String())
		rc := canonicalResource(b.inbox[c[0]].items[c[1]].Get("resource").String())
		switch {
		case ra != rc:
			tolerated = append(tolerated, "different resources arrived in another order")
		case b.inbox[a[0]].handling[a[1]] == handledStale:
			tolerated = append(tolerated, "the older state came late and was ignored as stale")
		default:
			ok = false
		}
	}
	detail := fmt.Sprintf("positions %v", pos)
	if len(tolerated) > 0 {
		detail += " (" + strings.Join(tolerated, "; ") + ")"
	}
	rs.res.check("order: "+name, ok, "%s", detail)
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
			n.Ignored = in.handling[j]
			rc.Notifications = append(rc.Notifications, n)
			if a := in.actions[j]; a != (Action{}) {
				rs.res.Actions = append(rs.res.Actions, a)
			}
			// A duplicate or a stale entry is Graph's doing, not a failure
			// of the scenario: the sample bot acknowledged and ignored it.
			if !rs.used[[2]int{rs.from + k, j}] && n.Ignored == "" {
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
