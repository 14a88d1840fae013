package fault

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/timeline"
)

// Plan decides which recorded events get which fault. It is built once per
// replay and never changes: it is safe for concurrent use, and its answers
// depend only on the seed, the specs and the recorded events.
type Plan struct {
	seed  int64
	specs []Spec
	// notes holds every notification's fault, decided up front, by seq.
	notes []NotificationFault
	// reqs holds, by seq, the specs that may fault a Graph request, in
	// spec order; the draw happens per occurrence, in Request.
	reqs [][]rule
}

// rule is one spec that selects one recorded request.
type rule struct {
	spec int
	// firstOnly is set when the spec has nth=: it faults the first
	// occurrence of its Nth exchange only.
	firstOnly bool
}

// NotificationFault is what replay does with one recorded notification.
// The zero value (Action None) delivers it as recorded.
type NotificationFault struct {
	// Action is None, Drop, Duplicate, Delay or Reorder.
	Action Action
	// By is how much later a Delay delivers it, or how long after the bot
	// answered the first copy a Duplicate sends the second.
	By time.Duration
	// Partner is, for Reorder, the notification it swaps with: the next one
	// recorded for the same call.
	Partner uint64
	// Wait is set, for Reorder, on the earlier notification of the pair: it
	// is held until Partner has been delivered, then delivered at once.
	// The later one (Wait false) is delivered when due, and releases it.
	Wait bool
	// Spec is the text of the spec that chose this fault.
	Spec string
}

// RequestFault is what replay does with one live request that matched a
// recorded exchange. The zero value (Action None) answers as recorded.
type RequestFault struct {
	// Action is None, Status, Reset or Latency.
	Action Action
	// Code is the status a Status fault answers.
	Code int
	// RetryAfter is the Retry-After a Status fault sends; negative for none.
	RetryAfter time.Duration
	// By is how much later than recorded a Latency fault answers.
	By time.Duration
	// Spec is the text of the spec that chose this fault.
	Spec string

	key uint64 // the decision's hash: a stable request-id for the error body
}

// Warning is a spec that is valid but does less than it says on this
// cassette: a match that selects nothing, an nth past the last match.
// Replay runs anyway; the CLI prints each on stderr.
type Warning struct {
	// Spec is the spec's text.
	Spec string
	// Message says what it selects, and what the cassette holds instead.
	Message string
}

func (w Warning) String() string { return fmt.Sprintf("fault %q: %s", w.Spec, w.Message) }

// New decides the faults of specs on the events whose heads are given (all
// of the cassette's, any order; timeline.Heads, or timeline.HeadOf for each
// event of EachHead). Notification faults are all decided here; request
// faults, which depend on how often the bot repeats a request, per call of
// Request. New fails only on a spec that Parse did not make, or on heads
// whose seqs are not a cassette's (far sparser than 1, 2, 3…).
func New(seed int64, specs []Spec, heads []timeline.Head) (*Plan, []Warning, error) {
	p := &Plan{seed: seed, specs: slices.Clone(specs)}
	for i, s := range specs {
		if s.Action == None {
			return nil, nil, fmt.Errorf("fault spec %d: not made by Parse", i+1)
		}
	}
	if len(specs) == 0 {
		return p, nil, nil
	}
	order := make([]int, len(heads))
	var maxSeq uint64
	for i := range heads {
		order[i] = i
		maxSeq = max(maxSeq, heads[i].Seq)
	}
	// Decisions are looked up by seq in slices, the cheapest lookup there
	// is; a cassette numbers its events densely from 1, so they stay small.
	if maxSeq > 4*uint64(len(heads))+1024 {
		return nil, nil, fmt.Errorf("fault plan: event seq %d among only %d events: give the cassette's own heads", maxSeq, len(heads))
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(heads[a].Seq, heads[b].Seq) })
	p.notes = make([]NotificationFault, maxSeq+1)
	p.reqs = make([][]rule, maxSeq+1)

	var next []int // by position in order: the position of the next notification of the same call
	var warns []Warning
	for i := range p.specs {
		s := &p.specs[i]
		var w string
		if s.Action == Reorder && next == nil {
			next = nextOfCall(heads, order)
		}
		if s.Action.OnNotification() {
			w = p.planNotifications(i, heads, order, next)
		} else {
			w = p.planRequests(i, heads, order)
		}
		if w != "" {
			warns = append(warns, Warning{Spec: s.text, Message: w})
		}
	}
	return p, warns, nil
}

// planNotifications decides spec i on every notification, in recorded
// order. A notification keeps the fault of the first spec that chose it; a
// reorder pair claims both of its notifications. It returns a warning, or "".
// next is nextOfCall's answer, needed by reorder only.
func (p *Plan) planNotifications(i int, heads []timeline.Head, order, next []int) string {
	s := &p.specs[i]
	applied, unpaired := 0, 0
	matched := s.each(heads, order, cassette.KindNotification, func(oi int, h *timeline.Head) {
		if p.notes[h.Seq].Action != None || !p.draws(i, h.Seq, 0, s.P) {
			return
		}
		f := NotificationFault{Action: s.Action, Spec: s.text}
		switch s.Action {
		case Duplicate, Delay:
			f.By = s.By.at(p.unit(i, h.Seq, 0, saltBy))
		case Reorder:
			if next[oi] < 0 || p.notes[heads[order[next[oi]]].Seq].Action != None {
				unpaired++
				return
			}
			partner := heads[order[next[oi]]].Seq
			f.Partner, f.Wait = partner, true
			p.notes[partner] = NotificationFault{Action: Reorder, Partner: h.Seq, Spec: s.text}
		}
		p.notes[h.Seq] = f
		applied++
	})
	switch {
	case matched == 0:
		return fmt.Sprintf("match=%s selects no notification; classes in the cassette: %s", s.Match, classesOf(heads, order))
	case s.Nth > matched:
		return fmt.Sprintf("nth=%d, but match selects only %d notification(s)", s.Nth, matched)
	case s.Action == Reorder && applied == 0 && unpaired > 0:
		return "no selected notification has a later one of the same call to swap with"
	}
	return ""
}

// each calls fn, in recorded order, for each event of kind that s's match=
// selects and its nth= keeps (the nth selected one, or all without nth=);
// oi is the event's position in order. Both sides select this way, so it
// returns how many events match= selected, for their warnings.
func (s *Spec) each(heads []timeline.Head, order []int, kind cassette.Kind, fn func(oi int, h *timeline.Head)) (matched int) {
	for oi, hi := range order {
		h := &heads[hi]
		if h.Kind != kind || !s.m.selects(h) {
			continue
		}
		matched++
		if s.Nth == 0 || matched == s.Nth {
			fn(oi, h)
		}
	}
	return matched
}

// nextOfCall returns, for each position in order that holds a
// notification, the position of the next notification of the same call;
// -1 when there is none or the notification names no call.
func nextOfCall(heads []timeline.Head, order []int) []int {
	next := make([]int, len(order))
	last := map[string]int{}
	for oi := len(order) - 1; oi >= 0; oi-- {
		next[oi] = -1
		h := &heads[order[oi]]
		if h.Kind != cassette.KindNotification || h.Call == "" {
			continue
		}
		if n, ok := last[h.Call]; ok {
			next[oi] = n
		}
		last[h.Call] = oi
	}
	return next
}

// planRequests records which Graph requests spec i may fault. It returns a
// warning, or "".
func (p *Plan) planRequests(i int, heads []timeline.Head, order []int) string {
	s := &p.specs[i]
	matched := s.each(heads, order, cassette.KindGraph, func(_ int, h *timeline.Head) {
		p.reqs[h.Seq] = append(p.reqs[h.Seq], rule{spec: i, firstOnly: s.Nth != 0})
	})
	switch {
	case matched == 0:
		return fmt.Sprintf("match=%s selects no Graph request; requests in the cassette: %s", s.Match, requestsOf(heads, order))
	case s.Nth > matched:
		return fmt.Sprintf("nth=%d, but match selects only %d Graph request(s)", s.Nth, matched)
	}
	return ""
}

// classesOf lists the notification classes of the cassette, in order of
// first appearance, for a warning.
func classesOf(heads []timeline.Head, order []int) string {
	var seen []string
	for _, hi := range order {
		h := &heads[hi]
		if h.Kind != cassette.KindNotification {
			continue
		}
		for _, k := range h.Kinds {
			if c := className(k); !slices.Contains(seen, c) {
				seen = append(seen, c)
			}
		}
	}
	if len(seen) == 0 {
		return "none (no notification)"
	}
	return strings.Join(seen, ", ")
}

// requestsOf lists the first few distinct Graph requests of the cassette
// (method and path), for a warning.
func requestsOf(heads []timeline.Head, order []int) string {
	const most = 5
	var seen []string
	more := false
	for _, hi := range order {
		h := &heads[hi]
		if h.Kind != cassette.KindGraph {
			continue
		}
		path, _, _ := strings.Cut(h.Path, "?")
		r := h.Method + " " + path
		switch {
		case slices.Contains(seen, r):
		case len(seen) == most:
			more = true
		default:
			seen = append(seen, r)
		}
	}
	if len(seen) == 0 {
		return "none (no Graph request)"
	}
	if more {
		seen = append(seen, "…")
	}
	return strings.Join(seen, ", ")
}

// Notification returns what to do with recorded notification seq. A seq
// the plan does not know (or a plan with no specs) gets the zero value.
func (p *Plan) Notification(seq uint64) NotificationFault {
	if seq < uint64(len(p.notes)) {
		return p.notes[seq]
	}
	return NotificationFault{}
}

// Request returns what to do with the occurrence-th time (1-based) a live
// request matched recorded exchange seq. Occurrences count per recorded
// exchange: a retry of a faulted request is the next occurrence.
//
// Each spec that selects seq draws for each occurrence with its p; the
// first spec (in the order given) that draws wins. A spec with nth= acts
// only on the first occurrence. A withholding fault (status, reset) never
// hits an occurrence right after one that a withholding spec drew, so the
// bot's retry gets the recorded answer, as the real service's retry would.
func (p *Plan) Request(seq uint64, occurrence int) RequestFault {
	if seq >= uint64(len(p.reqs)) || occurrence < 1 {
		return RequestFault{}
	}
	rules := p.reqs[seq]
	for _, r := range rules {
		s := &p.specs[r.spec]
		if r.firstOnly && occurrence != 1 || !p.draws(r.spec, seq, occurrence, s.P) {
			continue
		}
		if s.Action.withholds() && occurrence > 1 && p.withheldBefore(rules, seq, occurrence-1) {
			continue
		}
		f := RequestFault{Action: s.Action, Code: s.Code, RetryAfter: s.RetryAfter, Spec: s.text,
			key: p.hash(r.spec, seq, occurrence, saltID)}
		if s.Action == Latency {
			f.By = s.By.at(p.unit(r.spec, seq, occurrence, saltBy))
		}
		return f
	}
	return RequestFault{}
}

// withheldBefore reports whether a withholding spec among rules drew
// occurrence occ of seq.
func (p *Plan) withheldBefore(rules []rule, seq uint64, occ int) bool {
	for _, r := range rules {
		s := &p.specs[r.spec]
		if s.Action.withholds() && !(r.firstOnly && occ != 1) && p.draws(r.spec, seq, occ, s.P) {
			return true
		}
	}
	return false
}

// Salts keep the draws of one event independent of each other.
const (
	saltHit uint64 = iota + 1
	saltBy
	saltID
)

// hash mixes (seed, spec, seq, occurrence, salt) into 64 bits: the only
// source of chance in a plan. It is a pure function, so which events get
// faults never depends on the order or timing of the questions.
func (p *Plan) hash(spec int, seq uint64, occurrence int, salt uint64) uint64 {
	h := mix64(uint64(p.seed) ^ 0x9e3779b97f4a7c15)
	h = mix64(h ^ uint64(spec+1))
	h = mix64(h ^ seq)
	h = mix64(h ^ uint64(occurrence))
	return mix64(h ^ salt)
}

// unit returns a draw in [0, 1).
func (p *Plan) unit(spec int, seq uint64, occurrence int, salt uint64) float64 {
	return float64(p.hash(spec, seq, occurrence, salt)>>11) / (1 << 53)
}

// draws reports whether the event is hit with probability prob.
func (p *Plan) draws(spec int, seq uint64, occurrence int, prob float64) bool {
	if prob >= 1 {
		return true
	}
	return p.unit(spec, seq, occurrence, saltHit) < prob
}

// mix64 is SplitMix64's finaliser: every input bit flips each output bit
// with probability about one half.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
