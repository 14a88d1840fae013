package proxy

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/timeline"
	"github.com/graphvcr/graphvcr/proxy/fault"
	"github.com/graphvcr/graphvcr/proxy/internal/match"
)

// faultState is a replay's fault plan (ReplayConfig.Faults) and the faults
// it applied, for the report. Its zero value (no specs) applies none.
type faultState struct {
	plan     *fault.Plan // nil: no faults
	count    *fault.Counter
	warnings []fault.Warning

	mu      sync.Mutex // guards records
	records []fault.Record
}

// heads collects what the plan is built from, during load's one walk.
type faultHeads []timeline.Head

// add keeps ev's head when faults were asked for. A recorded validation
// request is left out: replay does its own handshake instead of
// scheduling it, so no fault (nor nth= count) can apply to it.
func (h *faultHeads) add(specs []fault.Spec, ev *cassette.Event) {
	if len(specs) == 0 || ev.Kind == cassette.KindNotification && isValidationEvent(ev.Request.Method, ev.Request.URL) {
		return
	}
	*h = append(*h, timeline.HeadOf(ev))
}

// init builds the plan of specs on the cassette's heads.
func (fs *faultState) init(seed int64, specs []fault.Spec, heads faultHeads) error {
	if len(specs) == 0 {
		return nil
	}
	plan, warns, err := fault.New(seed, specs, heads)
	if err != nil {
		return err
	}
	fs.plan, fs.count, fs.warnings = plan, plan.Counter(), warns
	return nil
}

// note appends a fault applied and returns a function that fills in the
// bot's answer to what was delivered (the last call wins: a duplicate's
// copy answers last).
func (fs *faultState) note(rec fault.Record) func(status int) {
	fs.mu.Lock()
	i := len(fs.records)
	fs.records = append(fs.records, rec)
	fs.mu.Unlock()
	return func(status int) {
		fs.mu.Lock()
		fs.records[i].BotStatus = status
		fs.mu.Unlock()
	}
}

// list returns the faults applied so far, in the order applied.
func (fs *faultState) list() []fault.Record {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]fault.Record{}, fs.records...)
}

// FaultWarnings returns what the fault plan found odd on this cassette
// (a match= that selects nothing, an nth= past the last match): replay
// runs anyway. Nil without faults.
func (r *Replayer) FaultWarnings() []fault.Warning { return r.faults.warnings }

// notificationFault is the scheduler's faultOf hook: the plan's decision
// for n, decided before replay started.
func (r *Replayer) notificationFault(n *notification) fault.NotificationFault {
	if r.faults.plan == nil {
		return fault.NotificationFault{}
	}
	return r.faults.plan.Notification(n.seq)
}

// notificationFaulted is the scheduler's applied hook: it lists f in the
// report, applied now.
func (r *Replayer) notificationFaulted(n *notification, f fault.NotificationFault) func(int) {
	return r.faults.note(f.Record(n.seq, r.since(time.Now())))
}

// matchFaulted matches a live request like Matcher.Match and decides its
// request fault: the plan's answer for this occurrence of the exchange
// matched. A first use withheld by a status or reset stays unused, so the
// bot's retry gets the recorded answer as a first use.
func (r *Replayer) matchFaulted(method, uri string, body []byte) (c *match.Candidate, first bool, key string, f fault.RequestFault, occ int) {
	if r.faults.plan == nil {
		c, first, key = r.m.Match(method, uri, body)
		return c, first, key, f, 0
	}
	c, first, key = r.m.MatchKeep(method, uri, body, func(c *match.Candidate, first bool) bool {
		if c.Kind != cassette.KindGraph || c.Abandoned > 0 {
			return false // an abandoned exchange is held as recorded
		}
		occ = r.faults.count.Next(c.Seq)
		f = r.faults.plan.Request(c.Seq, occ)
		return first && (f.Action == fault.Status || f.Action == fault.Reset)
	})
	return c, first, key, f, occ
}

// answerFaulted applies request fault f (drawn by the occ-th match of c)
// and reports whether it answered the request: a Graph-shaped error, or a
// closed connection (which never returns). A latency waits its by= and
// returns false, for serveGraph to answer as usual (bound late by a
// request that ended meanwhile: true). A withheld answer is not a match
// in the report and starts no notification's clock: the retry's match does.
func (r *Replayer) answerFaulted(w http.ResponseWriter, req *http.Request, c *match.Candidate, uri string, arrived time.Time, f fault.RequestFault, occ int) bool {
	r.faults.note(f.Record(c.Seq, occ, r.since(arrived)))
	switch f.Action {
	case fault.Status:
		r.log.Info("fault: answering an error instead of the recorded answer", "seq", c.Seq, "status", f.Code, "occurrence", occ)
		h := w.Header()
		for k, vs := range f.Header() {
			h[k] = vs
		}
		body := f.Body(time.Now())
		w.WriteHeader(f.Code)
		_, _ = w.Write(body)
		return true
	case fault.Reset:
		r.log.Info("fault: closing the connection without an answer", "seq", c.Seq, "occurrence", occ)
		// As for a recorded transport error: net/http closes the
		// connection (HTTP/1.1) or resets the stream (HTTP/2).
		panic(http.ErrAbortHandler)
	case fault.Latency:
		return !r.pause(req.Context(), f.By)
	}
	return false
}

// pause waits d of live time (a fault's by= is not scaled by the speed),
// returning false when the request ends first; closing the replay ends
// the pause early.
func (r *Replayer) pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-r.ctx.Done():
		return true // closing: answer now rather than hold up shutdown
	}
}

// The scheduler's side of notification faults. run asks faultOf for each
// notification when it is the next to go, and:
//   - drop: at its due time, counts it done without sending it;
//   - delay: hands it to a goroutine of its own (later) that sends it By
//     after its due time, and goes on with the next, which keeps its own
//     due time and so may overtake it;
//   - duplicate: sends it, then has later send it again (prepared anew, so
//     signed afresh) By after the bot answered;
//   - reorder: holds the earlier of the pair (held) until its partner was
//     sent, then sends it at once. A held notification is also released
//     when the next one to go waits for a request of the bot (the partner
//     may need the bot to act on the held one first) and when every other
//     notification is done: a reorder never deadlocks a replay.

// heldNote is a notification held by a reorder until its partner is sent.
type heldNote struct {
	n        *notification
	partner  uint64
	answered func(int)
}

// faultOf returns the fault of n; the zero value when faults are off.
func (s *scheduler) faultOf(n *notification) fault.NotificationFault {
	if s.fault == nil {
		return fault.NotificationFault{}
	}
	return s.fault(n)
}

// applied lists f as applied to n and returns what takes the bot's answer.
func (s *scheduler) applied(n *notification, f fault.NotificationFault) func(int) {
	if s.faulted == nil {
		return func(int) {}
	}
	return s.faulted(n, f)
}

// advance moves past the next notification in recorded order.
func (s *scheduler) advance() {
	s.mu.Lock()
	s.next++
	s.mu.Unlock()
}

// sendNow prepares and sends n at once.
func (s *scheduler) sendNow(ctx context.Context, n *notification) delivery {
	return s.sendPrepared(ctx, n, s.prepareOf(ctx, n))
}

// prepareOf prepares n's request when the scheduler has a prepare hook;
// nil means deliver does all at the send.
func (s *scheduler) prepareOf(ctx context.Context, n *notification) sender {
	if s.prepare == nil {
		return nil
	}
	return s.prepare(ctx, n)
}

// sendPrepared sends n, whose request is prepared already (send), or not
// (nil: deliver does all).
func (s *scheduler) sendPrepared(ctx context.Context, n *notification, send sender) delivery {
	sent := time.Now()
	var d delivery
	if send != nil {
		d = send(ctx)
	} else {
		d = s.deliver(ctx, n)
	}
	if d.sent.IsZero() {
		d.sent = sent
	}
	return d
}

// complete records a delivery of n (a duplicate's copy when isCopy) and
// hands the bot's answer to answered (nil: no fault to tell); an original
// arms what n triggers. countDone calls onDone: once per notification,
// after its last delivery (a duplicate's copy), so that a replay is not
// done, and its report final, while a copy is still to go.
func (s *scheduler) complete(n *notification, d delivery, isCopy bool, answered func(int), countDone bool) {
	s.mu.Lock()
	s.done = append(s.done, deliveryRecord{n: n, sent: d.sent, d: d, copy: isCopy})
	s.mu.Unlock()
	if answered != nil {
		answered(d.status)
	}
	if !isCopy {
		s.arm(n.seq, time.Now())
	}
	if countDone && s.onDone != nil {
		s.onDone(n)
	}
}

// later sends n (again, when isCopy) at, from a goroutine of its own that
// run waits for before it returns; nothing is sent once ctx is done. It
// counts n done after the send.
func (s *scheduler) later(ctx context.Context, n *notification, at time.Time, isCopy bool, answered func(int)) {
	s.extra.Add(1)
	go func() {
		defer s.extra.Done()
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		defer timer.Stop()
		// Prepared before the wait, as run does: only the send is left at
		// the delayed due time.
		send := s.prepareOf(ctx, n)
		if !s.sleepUntil(ctx, timer, at) {
			return
		}
		s.complete(n, s.sendPrepared(ctx, n, send), isCopy, answered, true)
	}()
}

// release sends the held notifications whose partner is seq (any held,
// when all is set), in recorded order.
func (s *scheduler) release(ctx context.Context, seq uint64, all bool) {
	kept := s.held[:0]
	var out []heldNote
	for _, h := range s.held {
		if all || h.partner == seq {
			out = append(out, h)
		} else {
			kept = append(kept, h)
		}
	}
	s.held = kept
	for _, h := range out {
		if ctx.Err() != nil {
			return
		}
		s.complete(h.n, s.sendNow(ctx, h.n), false, h.answered, true)
	}
}
