package proxy

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/graphvcr/graphvcr/proxy/fault"
)

// notification is a recorded notification waiting to be delivered.
type notification struct {
	seq     uint64
	order   int    // index in recorded order
	trigger uint64 // seq of the exchange that caused it; 0 = replay start
	path    string // recorded path and query (redacted)
	// gap is the recorded time from the trigger's answer to the notification
	// (Offset − (trigger Offset + trigger Latency), never negative).
	gap            time.Duration
	recordedStatus int

	// Set by the scheduler, guarded by its lock.
	armed   bool
	armedAt time.Time // when the trigger was answered live
	due     time.Time
}

// delivery is the outcome of delivering one notification.
type delivery struct {
	status   int
	latency  time.Duration
	attempts int
	err      error
	// sent is when the request went out (its first attempt); zero means
	// when the scheduler called the send.
	sent time.Time
}

// deliveryRecord is a finished delivery as the report shows it.
type deliveryRecord struct {
	n    *notification
	sent time.Time
	d    delivery
	copy bool // a duplicate fault's second delivery
}

// sender sends a prepared notification and says what the bot answered.
type sender func(context.Context) delivery

// defaultSpin is how long before a due time the scheduler stops sleeping
// and watches the clock instead. A sleeping goroutine's thread must be woken
// by the OS, which on a busy machine takes from a fraction of a millisecond
// to several; a thread that stays runnable for the last stretch leaves on
// time. It costs at most this much CPU per notification.
const defaultSpin = time.Millisecond

// scheduler delivers notifications in recorded order, each at its trigger's
// live answer time plus its recorded gap scaled by 1/speed, and never before
// the one recorded before it was delivered. One goroutine (run) delivers
// them one at a time: only the next in recorded order can be due, so it
// waits for that one alone, preparing its request (when prepare is set)
// before its due time so that only the send is left at that time.
type scheduler struct {
	speed float64
	schedulerHooks
	// spin is how long before a due time run stops sleeping (see defaultSpin);
	// 0 sleeps to the due time.
	spin time.Duration

	wake chan struct{} // buffered 1: something was armed

	mu        sync.Mutex // guards everything below and the notifications' scheduler fields
	all       []*notification
	byTrigger map[uint64][]*notification
	next      int // order of the next notification to deliver
	done      []deliveryRecord

	// Faults (replay_faults.go): held is touched by run's goroutine only;
	// extra counts the goroutines of delayed and duplicated deliveries.
	held  []heldNote
	extra sync.WaitGroup
}

// schedulerHooks are what the scheduler calls for each notification, in
// recorded order, from its one goroutine: prepare (when set) once it is the
// next to go and armed, deliver or the prepared sender at its due time,
// onDone after. A step that must act before each notification (a fault
// that drops or delays it) belongs in prepare, which sees every one first.
type schedulerHooks struct {
	// deliver sends one notification and returns what the bot answered.
	deliver func(context.Context, *notification) delivery
	// prepare, when set, does the slow part of delivering a notification
	// (reading it from the cassette, applying the bindings, signing) as soon
	// as it is the next to go and armed, and returns what sends it at its due
	// time. Bindings may still change before then: a sender that depends on
	// them checks and prepares again. Nil means deliver does all at due time.
	prepare func(context.Context, *notification) sender
	// onDone, when set, is called after each delivery, without the lock.
	onDone func(*notification)
	// fault, when set, says which fault a notification gets (the zero
	// value: none), asked once, when it is the next to go.
	fault func(*notification) fault.NotificationFault
	// faulted, when set, is told when a fault is applied, and returns what
	// takes the bot's answer to the notification faulted.
	faulted func(*notification, fault.NotificationFault) func(status int)
}

// newScheduler takes the notifications in recorded order and the hooks
// that deliver them; speed 0 keeps only the order.
func newScheduler(all []*notification, speed float64, hooks schedulerHooks) *scheduler {
	s := &scheduler{
		speed:          speed,
		schedulerHooks: hooks,
		wake:           make(chan struct{}, 1),
		all:            all,
		byTrigger:      map[uint64][]*notification{},
	}
	if speed > 0 {
		s.spin = defaultSpin
	}
	for i, n := range all {
		n.order = i
		s.byTrigger[n.trigger] = append(s.byTrigger[n.trigger], n)
	}
	return s
}

// scale returns a recorded duration at the replay speed.
func (s *scheduler) scale(d time.Duration) time.Duration {
	if s.speed <= 0 || d <= 0 {
		return 0
	}
	return time.Duration(float64(d) / s.speed)
}

// arm starts the clock of the notifications triggered by seq (0 = replay
// start), answered live at at. Arming twice is a no-op.
func (s *scheduler) arm(seq uint64, at time.Time) {
	s.mu.Lock()
	armed := false
	for _, n := range s.byTrigger[seq] {
		if n.armed {
			continue
		}
		n.armed, n.armedAt, n.due = true, at, at.Add(s.scale(n.gap))
		armed = true
	}
	s.mu.Unlock()
	if armed {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// run delivers notifications until all are delivered or ctx is done, then
// waits for the deliveries it handed to goroutines (faults).
func (s *scheduler) run(ctx context.Context) {
	defer s.extra.Wait()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		s.mu.Lock()
		if s.next >= len(s.all) {
			s.mu.Unlock()
			s.release(ctx, 0, true) // partners that never came
			return
		}
		n := s.all[s.next]
		armed, due := n.armed, n.due
		s.mu.Unlock()
		if !armed {
			if len(s.held) > 0 {
				// The bot may need a held notification before it sends
				// what arms the next: release, never deadlock.
				s.release(ctx, 0, true)
				continue
			}
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
			}
			continue
		}
		f := s.faultOf(n)
		switch {
		case f.Action == fault.Drop:
			if !s.sleepUntil(ctx, timer, due) {
				return
			}
			s.advance()
			s.applied(n, f)
			s.arm(n.seq, time.Now()) // what it triggers still comes
			if s.onDone != nil {
				s.onDone(n)
			}
			continue
		case f.Action == fault.Delay:
			if !s.sleepUntil(ctx, timer, due) {
				return
			}
			s.advance()
			s.later(ctx, n, due.Add(f.By), false, s.applied(n, f))
			continue
		case f.Action == fault.Reorder && f.Wait:
			if !s.sleepUntil(ctx, timer, due) {
				return
			}
			s.advance()
			s.held = append(s.held, heldNote{n: n, partner: f.Partner, answered: s.applied(n, f)})
			continue
		}
		var send sender
		if s.prepare != nil {
			send = s.prepare(ctx, n)
		}
		if !s.sleepUntil(ctx, timer, due) {
			return
		}
		s.advance()
		var answered func(int)
		if f.Action != fault.None {
			// Listed before the send: the bot may act on the notification
			// (and meet a request fault) before its answer is back.
			answered = s.applied(n, f)
		}
		d := s.sendPrepared(ctx, n, send)
		// A notification may itself trigger later ones (complete arms
		// them). A duplicate is done once its copy is.
		dup := f.Action == fault.Duplicate && ctx.Err() == nil
		s.complete(n, d, false, answered, !dup)
		switch {
		case dup && f.By > 0:
			s.later(ctx, n, time.Now().Add(f.By), true, answered)
		case dup:
			// Right after the first was answered, before the next
			// notification: as Graph's redelivery of a lost answer.
			s.complete(n, s.sendNow(ctx, n), true, answered, true)
		case f.Action == fault.Reorder:
			s.release(ctx, n.seq, false)
		}
	}
}

// sleepUntil returns at due (never before), or false when ctx is done
// first. It sleeps on timer until spin before due, then yields until due.
func (s *scheduler) sleepUntil(ctx context.Context, timer *time.Timer, due time.Time) bool {
	for {
		left := time.Until(due)
		if left <= 0 {
			return true
		}
		if left <= s.spin {
			break
		}
		timer.Reset(left - s.spin)
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C:
		}
	}
	for time.Now().Before(due) {
		if ctx.Err() != nil {
			return false
		}
		runtime.Gosched()
	}
	return true
}

// snapshot returns the deliveries so far and the notifications not yet delivered.
func (s *scheduler) snapshot() (done []deliveryRecord, pending []notification) {
	s.mu.Lock()
	defer s.mu.Unlock()
	done = append(done, s.done...)
	for _, n := range s.all[s.next:] {
		pending = append(pending, *n)
	}
	return done, pending
}
