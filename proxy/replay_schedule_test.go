package proxy

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// delivered is a notification seen by a test deliver func, at its offset
// from the start of the bubble.
type delivered struct {
	seq uint64
	at  time.Duration
}

func TestSchedulerTiming(t *testing.T) {
	ms := time.Millisecond
	type arming struct {
		trigger uint64
		at      time.Duration
	}
	tests := []struct {
		name   string
		speed  float64
		notifs []notification // in recorded order
		arms   []arming       // trigger answers, besides 0 at start
		want   []delivered
	}{
		{
			name:  "trigger time plus recorded gap",
			speed: 1,
			notifs: []notification{
				{seq: 2, trigger: 0, gap: 100 * ms},
				{seq: 4, trigger: 3, gap: 50 * ms},
				{seq: 5, trigger: 3, gap: 80 * ms},
			},
			arms: []arming{{3, 200 * ms}},
			want: []delivered{{2, 100 * ms}, {4, 250 * ms}, {5, 280 * ms}},
		},
		{
			name:  "speed scales the gaps",
			speed: 2,
			notifs: []notification{
				{seq: 2, trigger: 0, gap: 100 * ms},
				{seq: 4, trigger: 3, gap: 50 * ms},
			},
			arms: []arming{{3, 200 * ms}},
			want: []delivered{{2, 50 * ms}, {4, 225 * ms}},
		},
		{
			name:  "never before the one recorded before it",
			speed: 1,
			notifs: []notification{
				{seq: 4, trigger: 3, gap: 10 * ms},
				{seq: 5, trigger: 0, gap: 0},
			},
			arms: []arming{{3, 100 * ms}},
			want: []delivered{{4, 110 * ms}, {5, 110 * ms}},
		},
		{
			name:  "speed 0 keeps only the order",
			speed: 0,
			notifs: []notification{
				{seq: 2, trigger: 0, gap: 5 * time.Second},
				{seq: 4, trigger: 3, gap: time.Hour},
				{seq: 5, trigger: 0, gap: time.Minute},
			},
			arms: []arming{{3, 30 * ms}},
			want: []delivered{{2, 0}, {4, 30 * ms}, {5, 30 * ms}},
		},
		{
			name:  "a notification can trigger the next",
			speed: 1,
			notifs: []notification{
				{seq: 2, trigger: 0, gap: 10 * ms},
				{seq: 3, trigger: 2, gap: 20 * ms},
			},
			want: []delivered{{2, 10 * ms}, {3, 30 * ms}},
		},
		{
			name:   "an unanswered trigger keeps it pending",
			speed:  1,
			notifs: []notification{{seq: 2, trigger: 9, gap: 0}},
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				var mu sync.Mutex
				var got []delivered
				all := make([]*notification, len(tt.notifs))
				for i := range tt.notifs {
					n := tt.notifs[i]
					all[i] = &n
				}
				s := newScheduler(all, tt.speed, schedulerHooks{deliver: func(_ context.Context, n *notification) delivery {
					mu.Lock()
					got = append(got, delivered{n.seq, time.Since(start)})
					mu.Unlock()
					return delivery{status: 202, attempts: 1}
				}})
				s.spin = 0 // fake time does not pass while a goroutine spins
				ctx, cancel := context.WithCancel(t.Context())
				var wg sync.WaitGroup
				wg.Go(func() { s.run(ctx) })
				s.arm(0, start)
				for _, a := range tt.arms {
					time.Sleep(a.at - time.Since(start)) // fake time: advances the bubble's clock
					s.arm(a.trigger, time.Now())
				}
				time.Sleep(2 * time.Hour)
				synctest.Wait()
				cancel()
				wg.Wait()
				if !slices.Equal(got, tt.want) {
					t.Errorf("delivered %v, want %v", got, tt.want)
				}
				done, pending := s.snapshot()
				if len(done)+len(pending) != len(tt.notifs) || len(done) != len(tt.want) {
					t.Errorf("snapshot: %d done, %d pending; want %d done of %d", len(done), len(pending), len(tt.want), len(tt.notifs))
				}
				for _, d := range done {
					if want := s.scale(d.n.gap); d.sent.Sub(d.n.armedAt) < want {
						t.Errorf("seq %d sent %v after its trigger, before its gap %v", d.n.seq, d.sent.Sub(d.n.armedAt), want)
					}
				}
			})
		})
	}
}

func TestSchedulerReturnsWhenAllDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newScheduler([]*notification{{seq: 1}, {seq: 2, trigger: 1, gap: time.Second}}, 1,
			schedulerHooks{deliver: func(context.Context, *notification) delivery { return delivery{status: 202} }})
		s.spin = 0
		finished := make(chan struct{})
		go func() {
			s.run(t.Context())
			close(finished)
		}()
		s.arm(0, time.Now())
		time.Sleep(2 * time.Second)
		synctest.Wait()
		select {
		case <-finished:
		default:
			t.Fatal("run still running after every notification was delivered")
		}
	})
}

func TestSchedulerPreparesAhead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := time.Millisecond
		start := time.Now()
		all := []*notification{
			{seq: 2, trigger: 0, gap: 100 * ms},
			{seq: 3, trigger: 0, gap: 100 * ms}, // due with seq 2: goes right after it
			{seq: 5, trigger: 4, gap: 50 * ms},
		}
		type event struct {
			what string
			seq  uint64
			at   time.Duration
		}
		var mu sync.Mutex
		var got []event
		note := func(what string, seq uint64) {
			mu.Lock()
			got = append(got, event{what, seq, time.Since(start)})
			mu.Unlock()
		}
		s := newScheduler(all, 1, schedulerHooks{
			deliver: func(context.Context, *notification) delivery {
				t.Error("deliver called although prepare is set")
				return delivery{}
			},
			prepare: func(_ context.Context, n *notification) sender {
				note("prepare", n.seq)
				time.Sleep(10 * ms) // slow work, done before the due time
				return func(context.Context) delivery {
					note("send", n.seq)
					time.Sleep(30 * ms) // the bot takes its time to answer
					return delivery{status: 202, attempts: 1}
				}
			},
		})
		s.spin = 0
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { s.run(ctx) })
		s.arm(0, start)
		time.Sleep(500 * ms)
		s.arm(4, time.Now())
		time.Sleep(time.Second)
		synctest.Wait()
		cancel()
		wg.Wait()
		want := []event{
			{"prepare", 2, 0}, {"send", 2, 100 * ms},
			// seq 3 was due at 100 ms too; it waits for seq 2's answer.
			{"prepare", 3, 130 * ms}, {"send", 3, 140 * ms},
			// seq 5's trigger is answered at 500 ms.
			{"prepare", 5, 500 * ms}, {"send", 5, 550 * ms},
		}
		if !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		done, _ := s.snapshot()
		for _, d := range done {
			if gap := d.sent.Sub(d.n.armedAt); d.n.seq != 3 && gap != d.n.gap {
				t.Errorf("seq %d: sent %v after its trigger, want its gap %v (the send time, not the prepare time)", d.n.seq, gap, d.n.gap)
			}
		}
	})
}

func TestSchedulerReportsSendTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		s := newScheduler([]*notification{{seq: 1, gap: time.Second}}, 1, schedulerHooks{deliver: func(context.Context, *notification) delivery {
			time.Sleep(200 * time.Millisecond) // prepared at due time, then sent
			return delivery{status: 202, sent: time.Now()}
		}})
		s.spin = 0
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { s.run(ctx) })
		s.arm(0, start)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		cancel()
		wg.Wait()
		done, _ := s.snapshot()
		if len(done) != 1 || done[0].sent.Sub(start) != 1200*time.Millisecond {
			t.Fatalf("deliveries %+v, want one sent at 1.2s, the time deliver reported", done)
		}
	})
}

func TestSleepUntil(t *testing.T) {
	s := &scheduler{spin: defaultSpin}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	tests := []struct {
		name   string
		in     time.Duration
		cancel bool
		want   bool
	}{
		{"past", -time.Millisecond, false, true},
		{"within the spin", defaultSpin / 2, false, true},
		{"beyond the spin", 3 * defaultSpin, false, true},
		{"cancelled", time.Hour, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			due := time.Now().Add(tt.in)
			if got := s.sleepUntil(ctx, timer, due); got != tt.want {
				t.Fatalf("sleepUntil = %v, want %v", got, tt.want)
			}
			if tt.want && time.Now().Before(due) {
				t.Errorf("returned %v before the due time", time.Until(due))
			}
		})
	}
}
