package graphtest

import (
	"crypto/sha256"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// What the bot did with one notification entry (inbound.handling).
const (
	// handledApplied: the entry changed the bot's view of its call.
	handledApplied = ""
	// handledDuplicate: an entry identical to one already handled.
	handledDuplicate = "duplicate"
	// handledStale: older than what the bot already applied.
	handledStale = "stale"
)

// CallView is what a bot believes about one call, built only from the
// notifications it applied (never from Graph's answers), as an
// event-driven bot's state is.
type CallView struct {
	// State is the last call state applied: establishing, established,
	// terminated; "" before any.
	State string
	// Deleted is set once the call's deletion was applied.
	Deleted bool
	// Participants counts the last roster applied (0 before any).
	Participants int
	// Operations maps each operation id (as the resource names it, lower
	// case) to the last status applied: running, completed, failed.
	Operations map[string]string
}

// callView is a CallView and the ordering evidence behind it.
type callView struct {
	CallView
	rank      int   // lifecycle rank of State (callRank); 4 once deleted
	etag      int64 // numeric part of the last applied @odata.etag; -1 when none
	rosterSeq int64 // sequenceNumber of the last roster applied; -1 when none
}

// callRank orders a call's lifecycle: it never goes back.
var callRank = map[string]int{"incoming": 1, "establishing": 1, "established": 2, "terminating": 3, "terminated": 3}

// operationRank orders an operation's statuses: once it completed or
// failed, it stays so.
var operationRank = map[string]int{"notStarted": 0, "running": 1, "completed": 2, "failed": 2}

// Action is one change a bot made to its view of a call because of a
// notification entry.
type Action struct {
	// Resource is the entry's resource, e.g. /app/calls/{id}/participants.
	Resource string
	// Change says what was applied: "state established", "status
	// completed", "roster 2 participants", "deleted".
	Change string
}

// entryKey identifies a notification entry for deduplication: the change
// type, the resource (GUIDs in any form compare equal) and a hash of the
// resourceData as sent. Graph's commsNotification has no id of its own, and a
// redelivery carries the same body; an entry equal in all three carries no
// news, so acting on it once is right even when Graph really sent it twice.
func entryKey(it gjson.Result) [32]byte {
	h := sha256.New()
	h.Write([]byte(it.Get("changeType").String()))
	h.Write([]byte{0})
	h.Write([]byte(canonicalResource(it.Get("resource").String())))
	h.Write([]byte{0})
	h.Write([]byte(it.Get("resourceData").Raw))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// canonicalResource lower-cases a resource and reduces each GUID in it to
// 32 hex digits, so "/app/calls/57DAB8B1…" and "/app/calls/57dab8b1-…"
// name the same thing.
func canonicalResource(r string) string {
	seg := strings.Split(strings.ToLower(r), "/")
	for i, s := range seg {
		if c := canonicalID(s); len(c) == 32 {
			seg[i] = c
		}
	}
	return strings.Join(seg, "/")
}

// weakETag returns the number in a W/"5442" etag, or -1.
func weakETag(s string) int64 {
	s = strings.Trim(strings.TrimPrefix(s, "W/"), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// handle decides what the bot does with one entry and applies it to views:
// the sample bot skips duplicates and stale entries; with naive it applies
// every entry as it comes. It returns the handling and the action taken
// (zero when none). Called under b.mu.
func (b *Bot) handle(it gjson.Result) (string, Action) {
	if !b.opts.Naive {
		k := entryKey(it)
		if b.seen[k] {
			return handledDuplicate, Action{}
		}
		b.seen[k] = true
	}
	resource := it.Get("resource").String()
	callRef, rest := resourceCall(resource)
	if callRef == "" {
		return handledApplied, Action{}
	}
	key := canonicalID(callRef)
	if len(key) != 32 {
		key = strings.ToLower(callRef)
	}
	v := b.views[key]
	if v == nil {
		v = &callView{etag: -1, rosterSeq: -1, CallView: CallView{Operations: map[string]string{}}}
		b.views[key] = v
	}
	data := it.Get("resourceData")
	change := it.Get("changeType").String()
	naive := b.opts.Naive
	// Nothing applies to a call that is gone: its end is final.
	if !naive && v.Deleted {
		return handledStale, Action{}
	}
	switch {
	case rest == "":
		if change == "deleted" {
			v.Deleted, v.rank = true, 4
			return handledApplied, Action{Resource: resource, Change: "deleted"}
		}
		state := data.Get("state").String()
		rank, etag := callRank[state], weakETag(data.Get(`@odata\.etag`).String())
		if !naive && (rank < v.rank || (etag >= 0 && v.etag >= 0 && etag < v.etag)) {
			return handledStale, Action{}
		}
		v.State, v.rank = state, rank
		if etag >= 0 {
			v.etag = etag
		}
		return handledApplied, Action{Resource: resource, Change: "state " + state}
	case strings.HasPrefix(rest, "/operations/"):
		_, op := callAndOperation(rest)
		op = strings.ToLower(op)
		if c := canonicalID(op); len(c) == 32 {
			op = c
		}
		status := data.Get("status").String()
		if !naive && operationRank[status] < operationRank[v.Operations[op]] {
			return handledStale, Action{}
		}
		if !naive && operationRank[v.Operations[op]] == 2 && status != v.Operations[op] {
			// completed and failed are both ends: the first one applied stands.
			return handledStale, Action{}
		}
		v.Operations[op] = status
		return handledApplied, Action{Resource: resource, Change: "status " + status}
	case rest == "/participants":
		// Graph's ordering evidence for a roster is deltaParticipants'
		// sequenceNumber; the full-roster form (an array) carries none, so
		// it is applied in arrival order.
		seq := int64(-1)
		if s := data.Get("sequenceNumber"); s.Exists() {
			seq = s.Int()
		}
		if !naive && seq >= 0 && v.rosterSeq >= 0 && seq <= v.rosterSeq {
			return handledStale, Action{}
		}
		if !naive && v.rank >= callRank["terminated"] {
			// A roster of a call that has ended is older than its end.
			return handledStale, Action{}
		}
		n := len(data.Array())
		if data.IsObject() {
			n = len(data.Get("participants").Array())
		}
		v.Participants = n
		if seq >= 0 {
			v.rosterSeq = seq
		}
		return handledApplied, Action{Resource: resource, Change: "roster " + strconv.Itoa(n) + " participants"}
	}
	return handledApplied, Action{Resource: resource, Change: change}
}

// Call returns the bot's view of call id (any GUID form), built from the
// notifications it applied; false when none named it.
func (b *Bot) Call(id string) (CallView, bool) {
	key := canonicalID(id)
	if len(key) != 32 {
		key = strings.ToLower(id)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	v := b.views[key]
	if v == nil {
		return CallView{}, false
	}
	out := v.CallView
	out.Operations = make(map[string]string, len(v.Operations))
	for k, s := range v.Operations {
		out.Operations[k] = s
	}
	return out, true
}

// Actions returns the changes the bot applied since its latest Run began,
// notifications that came after Run returned included (a duplicate of a
// scenario's last notification may come after the scenario ended): call
// it once the sender is done (Graph.Flush, or a replay's end).
func (b *Bot) Actions() []Action {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Action
	for _, in := range b.inbox[b.actionsFrom:] {
		for _, a := range in.actions {
			if a != (Action{}) {
				out = append(out, a)
			}
		}
	}
	return out
}
