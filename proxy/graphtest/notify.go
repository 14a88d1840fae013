package graphtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Sent is one notification the simulator sent.
type Sent struct {
	// Offset is when sending started, from the simulator's start.
	Offset time.Duration
	// Trigger is the offset of the request that caused the notification.
	Trigger time.Duration
	// Delay is the drawn delay (after DelayScale) from Trigger; sending
	// never starts before Trigger + Delay.
	Delay time.Duration
	// URL is where it was posted; Path is URL's path.
	URL, Path string
	// Header holds the request headers sent (Authorization included).
	Header http.Header
	// Body is the commsNotifications body as sent.
	Body []byte
	// Status is the bot's answer, 0 when the post failed.
	Status int
	// Err is why the post failed, nil when the bot answered.
	Err error
	// Fault names the NotificationFault that changed this delivery:
	// "duplicate" on the second copy, "delay" on a late one, "reorder" on
	// both of a swapped pair; "" otherwise.
	Fault string
}

// pending is a notification waiting for its time.
type pending struct {
	delay time.Duration // unscaled, from the trigger
	body  []byte
	apply func() // state change made visible when the notification goes out; runs under g.mu
}

// callbackURL resolves where a call's notifications go, honouring
// GraphOptions.CallbackBase.
func (g *Graph) callbackURL(c *call) string {
	if g.opts.CallbackBase == "" {
		return c.callbackURI
	}
	cb, err := url.Parse(c.callbackURI)
	base, err2 := url.Parse(g.opts.CallbackBase)
	if err != nil || err2 != nil {
		return c.callbackURI
	}
	cb.Scheme, cb.Host = base.Scheme, base.Host
	return cb.String()
}

// schedule sends ps one after the other, each no earlier than trigger plus
// its scaled delay, and never before the notifications scheduled earlier
// for the same call: Graph delivers a call's notifications in order, unless
// GraphOptions.NotificationFaults say otherwise. Everything random is drawn
// here, in the request's goroutine, so that the draws follow the order of
// requests.
func (g *Graph) schedule(trigger time.Duration, c *call, ps []pending) {
	msgIDs := make([]string, len(ps))
	for i := range ps {
		msgIDs[i] = g.ids.guid()
	}
	target := g.callbackURL(c)
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	faults := g.notificationFaults(ps)
	g.wg.Add(1)
	g.pending++
	prev, done := c.last, make(chan struct{})
	c.last = done
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		defer close(done)
		defer g.finished()
		// due waits until trigger + d, then until the call's earlier
		// notifications are out; false when the simulator closes first.
		due := func(d time.Duration) bool {
			if sleepCtx(g.ctx, time.Until(g.start.Add(trigger+d))) != nil {
				return false
			}
			if prev != nil {
				select {
				case <-g.ctx.Done():
					return false
				case <-prev:
					prev = nil
				}
			}
			return true
		}
		for i := 0; i < len(ps); i++ {
			p := ps[i]
			var f *NotificationFault
			if faults != nil {
				f = faults[i]
			}
			if f != nil && f.Action == Reorder && i+1 < len(ps) {
				// The state changes happen in order; only the deliveries swap.
				q, dq := ps[i+1], g.scaled(ps[i+1].delay)
				if !due(dq) {
					return
				}
				g.mu.Lock()
				p.apply()
				q.apply()
				g.mu.Unlock()
				g.deliver(g.ctx, target, c, msgIDs[i+1], trigger, dq, q.body, "reorder")
				g.deliver(g.ctx, target, c, msgIDs[i], trigger, g.scaled(p.delay), p.body, "reorder")
				i++
				continue
			}
			d := g.scaled(p.delay)
			if !due(d) {
				return
			}
			g.mu.Lock()
			p.apply()
			g.mu.Unlock()
			switch {
			case f != nil && f.Action == Delay:
				g.deliverLate(f.By, target, c, msgIDs[i], trigger, d, p.body)
			case f != nil && f.Action == Duplicate:
				g.deliver(g.ctx, target, c, msgIDs[i], trigger, d, p.body, "")
				if sleepCtx(g.ctx, f.By) != nil {
					return
				}
				g.deliver(g.ctx, target, c, msgIDs[i], trigger, d, p.body, "duplicate")
			default:
				g.deliver(g.ctx, target, c, msgIDs[i], trigger, d, p.body, "")
			}
		}
	}()
}

// finished counts one pending delivery done and wakes Flush.
func (g *Graph) finished() {
	g.mu.Lock()
	g.pending--
	close(g.changed)
	g.changed = make(chan struct{})
	g.mu.Unlock()
}

// deliverLate delivers body by later, on its own: the call's later
// notifications do not wait for it, so they may overtake it.
func (g *Graph) deliverLate(by time.Duration, target string, c *call, msgID string, trigger, delay time.Duration, body []byte) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.wg.Add(1)
	g.pending++
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		defer g.finished()
		if sleepCtx(g.ctx, by) != nil {
			return
		}
		g.deliver(g.ctx, target, c, msgID, trigger, delay, body, "delay")
	}()
}

// deliver posts one notification the way Graph does and records it.
// fault names the NotificationFault that changed this delivery ("" none).
func (g *Graph) deliver(ctx context.Context, target string, c *call, msgID string, trigger, delay time.Duration, body []byte, fault string) {
	s := Sent{Trigger: trigger, Delay: delay, URL: target, Body: body, Fault: fault}
	if u, err := url.Parse(target); err == nil {
		s.Path = u.Path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err == nil {
		tok, terr := g.notificationToken()
		if terr != nil {
			err = terr
		} else {
			h := req.Header
			h.Set("Content-Type", "application/json; charset=utf-8")
			h.Set("Authorization", "Bearer "+tok)
			h.Set("User-Agent", "Microsoft-Skype/3.0")
			h.Set("X-Microsoft-Skype-Chain-ID", c.chainID)
			h.Set("X-Microsoft-Skype-Message-ID", msgID)
			h.Set("Client-Request-Id", msgID)
			h.Set("Scenario-Id", c.chainID)
			h.Set("Platform-Call-Id", c.id)
			s.Header = h.Clone()
		}
	}
	g.mu.Lock()
	s.Offset = g.since()
	idx := len(g.sent)
	g.sent = append(g.sent, s)
	g.mu.Unlock()

	status := 0
	if err == nil {
		var resp *http.Response
		resp, err = g.notifier.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			status = resp.StatusCode
		}
	}
	if err != nil {
		g.logger.Warn("notification not delivered", "path", s.Path, "err", err)
	} else {
		g.logger.Debug("notification delivered", "path", s.Path, "status", status)
	}
	g.mu.Lock()
	g.sent[idx].Status, g.sent[idx].Err = status, err
	g.mu.Unlock()
}
