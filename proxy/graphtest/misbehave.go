package graphtest

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/graphvcr/graphvcr/proxy/internal/glob"
)

// RequestFault makes the simulator answer chosen requests as an unwell
// Graph does, instead of serving them: the request has no effect (no call
// is created, no notification follows), so a retry is served normally.
type RequestFault struct {
	// Match selects requests: a glob over the path where "*" matches any
	// run of characters, "/" included ("*/participants/invite"), with an
	// optional method before it ("POST */calls", "POST:*/calls"), as
	// graphvcr's --fault match= reads it. "" selects every request.
	Match string
	// Nth is the first selected request (1-based, in arrival order) that
	// gets the fault; 0 means 1.
	Nth int
	// Times is how many selected requests in a row, from the Nth, get it;
	// 0 means 1.
	Times int
	// Status is the answer's status (429, 503, 504…), with a Graph error
	// body. 0 means 503. Ignored with Reset.
	Status int
	// RetryAfter, when positive, is sent as Retry-After in whole seconds
	// (rounded up), as Graph sends it.
	RetryAfter time.Duration
	// Reset closes the connection with no answer at all (hijacked and
	// closed; an HTTP/2 stream is reset).
	Reset bool
}

// NotificationAction is what a NotificationFault does.
type NotificationAction int

// The notification faults.
const (
	// Duplicate delivers the notification, then the same body again (with
	// a fresh token) By after the bot answered the first.
	Duplicate NotificationAction = iota + 1
	// Delay delivers it By later than due; the call's later notifications
	// keep their own times, so they may overtake it.
	Delay
	// Reorder swaps it with the next notification caused by the same
	// request: that one goes out when due, this one right after it. The
	// last of its batch has none to swap with and goes out as usual.
	Reorder
)

// String names the action as graphvcr's --fault does.
func (a NotificationAction) String() string {
	switch a {
	case Duplicate:
		return "duplicate"
	case Delay:
		return "delay"
	case Reorder:
		return "reorder"
	}
	return "none"
}

// NotificationFault makes the simulator deliver chosen notifications twice,
// late or out of order, as real Graph sometimes does.
type NotificationFault struct {
	// Action is Duplicate, Delay or Reorder.
	Action NotificationAction
	// Match selects notifications by what they report, as graphvcr show
	// classifies them ("call establishing", "call established", "operation
	// completed", "operation failed", "roster updated", "call terminated",
	// "call deleted"): any run of consecutive words of the class of one of
	// the body's entries ("established", "roster"). "" selects every one.
	Match string
	// Nth takes only the Nth selected notification (1-based, in the order
	// the simulator schedules them); 0 takes every one.
	Nth int
	// By is how late Delay delivers, or how long after the first copy was
	// answered Duplicate sends the second.
	By time.Duration
}

// Request is one request the simulator received.
type Request struct {
	// Offset is when its headers were read, from the simulator's start.
	Offset time.Duration
	// Method and Path are the request's.
	Method, Path string
	// Fault is how it was answered when a RequestFault chose it: "status
	// 429", "reset"; "" when served.
	Fault string
}

// Requests returns a copy of the requests received so far, in arrival
// order.
func (g *Graph) Requests() []Request {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Request(nil), g.requests...)
}

// misbehaving logs every request and answers those a RequestFault chooses.
func (g *Graph) misbehaving(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := g.since()
		g.mu.Lock()
		var f *RequestFault
		for i := range g.opts.RequestFaults {
			rf := &g.opts.RequestFaults[i]
			if !requestSelected(rf.Match, r) {
				continue
			}
			g.reqHits[i]++
			first, times := max(rf.Nth, 1), max(rf.Times, 1)
			if f == nil && g.reqHits[i] >= first && g.reqHits[i] < first+times {
				f = rf
			}
		}
		rec := Request{Offset: at, Method: r.Method, Path: r.URL.Path}
		if f != nil {
			rec.Fault = "reset"
			if !f.Reset {
				rec.Fault = "status " + strconv.Itoa(statusOf(f))
			}
		}
		g.requests = append(g.requests, rec)
		g.mu.Unlock()
		if f == nil {
			next.ServeHTTP(w, r)
			return
		}
		g.logger.Debug("graph request faulted", "method", r.Method, "path", r.URL.Path, "fault", rec.Fault)
		if f.Reset {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			// HTTP/2 cannot hijack: aborting the handler resets the stream.
			panic(http.ErrAbortHandler)
		}
		if f.RetryAfter > 0 {
			secs := (f.RetryAfter + time.Second - 1) / time.Second
			w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
		}
		status := statusOf(f)
		code := map[int]string{429: "TooManyRequests", 503: "ServiceUnavailable", 504: "GatewayTimeout"}[status]
		if code == "" {
			code = strings.ReplaceAll(http.StatusText(status), " ", "")
		}
		// The request id comes from a source of its own: a faulted request
		// leaves the ids of the rest of the session as they would have been.
		reqID := graphHeadersID(w, r, g.faultIDs.guid())
		g.graphErrorID(w, r, status, code, "Injected fault: "+http.StatusText(status)+".", reqID)
	})
}

func statusOf(f *RequestFault) int {
	if f.Status == 0 {
		return http.StatusServiceUnavailable
	}
	return f.Status
}

// httpMethods are the prefixes a RequestFault.Match may carry.
var httpMethods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true,
}

// requestSelected reports whether match selects r.
func requestSelected(match string, r *http.Request) bool {
	match = strings.TrimSpace(match)
	if match == "" {
		return true
	}
	if i := strings.IndexAny(match, " :"); i > 0 && httpMethods[strings.ToUpper(match[:i])] {
		if !strings.EqualFold(match[:i], r.Method) {
			return false
		}
		match = strings.TrimSpace(match[i+1:])
	}
	return glob.Match(strings.ToLower(match), strings.ToLower(r.URL.Path))
}

// notificationClasses names each entry of a commsNotifications body as
// graphvcr show does: "call established", "operation completed", "roster
// updated", "call deleted".
func notificationClasses(body []byte) []string {
	var out []string
	for _, it := range gjson.GetBytes(body, "value").Array() {
		change := it.Get("changeType").String()
		_, rest := resourceCall(it.Get("resource").String())
		data := it.Get("resourceData")
		switch {
		case strings.HasPrefix(rest, "/operations"):
			out = append(out, "operation "+data.Get("status").String())
		case rest == "/participants":
			out = append(out, "roster "+change)
		case change == "deleted":
			out = append(out, "call deleted")
		default:
			out = append(out, "call "+data.Get("state").String())
		}
	}
	return out
}

// notificationSelected reports whether match selects a body of the given
// classes: match's words appear as a consecutive run in one class.
func notificationSelected(match string, classes []string) bool {
	words := strings.Fields(strings.ToLower(match))
	if len(words) == 0 {
		return true
	}
	for _, c := range classes {
		if glob.HasRun(strings.Fields(strings.ToLower(c)), words) {
			return true
		}
	}
	return false
}

// notificationFaults decides, for a batch of notifications being
// scheduled, the fault of each (nil when none). Called under g.mu, in the
// request's goroutine, so that Nth counts in scheduling order.
func (g *Graph) notificationFaults(ps []pending) []*NotificationFault {
	if len(g.opts.NotificationFaults) == 0 {
		return nil
	}
	out := make([]*NotificationFault, len(ps))
	for k, p := range ps {
		classes := notificationClasses(p.body)
		for i := range g.opts.NotificationFaults {
			nf := &g.opts.NotificationFaults[i]
			if !notificationSelected(nf.Match, classes) {
				continue
			}
			g.noteHits[i]++
			if out[k] == nil && (nf.Nth == 0 || g.noteHits[i] == nf.Nth) {
				out[k] = nf
			}
		}
	}
	return out
}
