package proxy

import (
	"container/heap"
	"context"
	"sync"
	"time"
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
	index   int // in the heap
}

// delivery is the outcome of delivering one notification.
type delivery struct {
	status   int
	latency  time.Duration
	attempts int
	err      error
}

// deliveryRecord is a finished delivery as the report shows it.
type deliveryRecord struct {
	n    *notification
	sent time.Time
	d    delivery
}

// scheduler delivers notifications in recorded order, each at its trigger's
// live answer time plus its recorded gap scaled by 1/speed, and never before
// the one recorded before it was delivered. One goroutine (run) and one timer
// serve every notification: armed notifications wait in a heap by due time.
type scheduler struct {
	speed   float64
	deliver func(context.Context, *notification) delivery

	wake chan struct{} // buffered 1: something was armed

	mu        sync.Mutex // guards everything below and the notifications' scheduler fields
	all       []*notification
	byTrigger map[uint64][]*notification
	heap      dueHeap
	held      map[int]*notification // due, waiting for an earlier one
	next      int                   // order of the next notification to deliver
	done      []deliveryRecord
	onDone    func(*notification) // called after each delivery, without the lock
}

// newScheduler takes the notifications in recorded order. deliver sends one
// and returns what the bot answered; speed 0 keeps only the order.
func newScheduler(all []*notification, speed float64, deliver func(context.Context, *notification) delivery) *scheduler {
	s := &scheduler{
		speed:     speed,
		deliver:   deliver,
		wake:      make(chan struct{}, 1),
		all:       all,
		byTrigger: map[uint64][]*notification{},
		held:      map[int]*notification{},
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
		heap.Push(&s.heap, n)
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

// run delivers notifications until all are delivered or ctx is done.
func (s *scheduler) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if s.next >= len(s.all) {
			s.mu.Unlock()
			return
		}
		now := time.Now()
		for s.heap.Len() > 0 && !s.heap[0].due.After(now) {
			n := heap.Pop(&s.heap).(*notification)
			s.held[n.order] = n
		}
		if n, ok := s.held[s.next]; ok {
			delete(s.held, s.next)
			s.next++
			s.mu.Unlock()
			sent := time.Now()
			d := s.deliver(ctx, n)
			s.mu.Lock()
			s.done = append(s.done, deliveryRecord{n: n, sent: sent, d: d})
			onDone := s.onDone
			s.mu.Unlock()
			// A notification may itself trigger later ones.
			s.arm(n.seq, time.Now())
			if onDone != nil {
				onDone(n)
			}
			continue
		}
		wait := time.Duration(-1)
		if s.heap.Len() > 0 {
			wait = s.heap[0].due.Sub(now)
		}
		s.mu.Unlock()
		if wait >= 0 {
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
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

// dueHeap orders armed notifications by due time, then recorded order.
type dueHeap []*notification

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].order < h[j].order
}
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *dueHeap) Push(x any) {
	n := x.(*notification)
	n.index = len(*h)
	*h = append(*h, n)
}
func (h *dueHeap) Pop() any {
	old := *h
	n := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	n.index = -1
	return n
}
