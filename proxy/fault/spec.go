package fault

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Action is what a fault does to one event.
type Action uint8

const (
	// None leaves the event as recorded.
	None Action = iota
	// Drop never delivers a notification.
	Drop
	// Duplicate delivers a notification, then the same body again.
	Duplicate
	// Delay delivers a notification later than its due time.
	Delay
	// Reorder swaps a notification with the next one recorded for the same call.
	Reorder
	// Status answers a request with an error status instead of its recorded answer.
	Status
	// Reset closes a request's connection without an answer.
	Reset
	// Latency answers a request later than its recorded latency.
	Latency
)

var actionNames = [...]string{
	None: "none", Drop: "drop", Duplicate: "duplicate", Delay: "delay", Reorder: "reorder",
	Status: "status", Reset: "reset", Latency: "latency",
}

// String returns the action's name as a spec spells it ("duplicate"), or
// "none".
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", a)
}

// MarshalText makes an Action a JSON string ("duplicate").
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// OnNotification reports whether a acts on notifications (graphvcr → bot);
// otherwise it acts on the bot's requests.
func (a Action) OnNotification() bool { return a >= Drop && a <= Reorder }

// withholds reports whether a keeps the recorded answer from the bot, so
// that its retry must get it.
func (a Action) withholds() bool { return a == Status || a == Reset }

// hasBy reports whether a takes by=.
func (a Action) hasBy() bool { return a == Duplicate || a == Delay || a == Latency }

// validHelp ends every spec error: what a spec may say.
const validHelp = "actions: drop, duplicate, delay, reorder (notifications), status, reset, latency (requests); " +
	"keys: match, p, nth, by, code, retry-after"

// SpecError is a spec that does not parse. Its message is one line naming
// the spec, the problem, and the valid actions and keys.
type SpecError struct {
	// Spec is the text given, as given.
	Spec string
	// Problem says what is wrong with it.
	Problem string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("fault %q: %s; %s", e.Spec, e.Problem, validHelp)
}

// Range is a duration, or a span that each event draws from uniformly (with
// the plan's seed). The zero Range is no time at all.
type Range struct {
	Min, Max time.Duration
}

// String renders r as a spec spells it: "300ms" or "100ms..2s".
func (r Range) String() string {
	if r.Min == r.Max {
		return r.Min.String()
	}
	return r.Min.String() + ".." + r.Max.String()
}

// at returns the point of r at u in [0, 1).
func (r Range) at(u float64) time.Duration {
	if r.Max <= r.Min {
		return r.Min
	}
	// Float rounding can land one past Max on very wide spans: clamp.
	return min(r.Min+time.Duration(u*float64(r.Max-r.Min+1)), r.Max)
}

// Spec is one parsed --fault: an action, which events it selects, and its
// parameters. Make one with Parse: New rejects the zero Spec.
type Spec struct {
	// Action is what happens to each selected event.
	Action Action
	// Match is the match= value as given; "" selects every event of the
	// action's side (every notification, or every Graph request).
	Match string
	// P is the probability that a matching event gets the fault (1 when
	// p= is not given).
	P float64
	// Nth, when not zero, selects only the Nth matching event (1-based) in
	// recorded order.
	Nth int
	// By is the delay of delay and latency, and the gap before a duplicate's
	// copy (zero by default).
	By Range
	// Code is the status a status fault answers (503 when code= is not given).
	Code int
	// RetryAfter is the Retry-After a status fault sends, in whole seconds;
	// negative when retry-after= was not given (no header).
	RetryAfter time.Duration

	text string
	m    matcher
}

// String returns the spec's text as given to Parse, without surrounding space.
func (s Spec) String() string { return s.text }

// Parse reads one fault spec, ACTION[:key=value[,key=value…]].
//
// Commas separate pairs only where the text after the comma starts a key
// (letters or dashes, then "="): a comma inside a glob, as in
// match=*/a,b/c, stays part of the value. Keys and actions are not case
// sensitive; values keep their case, spaces included ("POST */calls").
func Parse(spec string) (Spec, error) {
	bad := func(format string, args ...any) (Spec, error) {
		return Spec{}, &SpecError{Spec: spec, Problem: fmt.Sprintf(format, args...)}
	}
	text := strings.TrimSpace(spec)
	if text == "" {
		return bad("empty spec")
	}
	name, rest, hasKeys := strings.Cut(text, ":")
	name = strings.ToLower(strings.TrimSpace(name))
	s := Spec{P: 1, Code: 503, RetryAfter: -1, text: text}
	for a, n := range actionNames {
		if a != int(None) && n == name {
			s.Action = Action(a)
		}
	}
	if s.Action == None {
		return bad("unknown action %q", name)
	}
	if hasKeys && strings.TrimSpace(rest) == "" {
		return bad("nothing after %q: give key=value pairs or leave out the colon", name+":")
	}
	seen := map[string]bool{}
	hasBy := false
	for _, pair := range splitPairs(rest) {
		if strings.TrimSpace(pair) == "" {
			return bad("empty key=value pair (a stray comma?)")
		}
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		if !ok || v == "" {
			return bad("key %q has no value", k)
		}
		if seen[k] {
			return bad("key %q given twice", k)
		}
		seen[k] = true
		switch k {
		case "match":
			m, err := compileMatch(v)
			if err != nil {
				return bad("match=%s: %v", v, err)
			}
			if m.class && !s.Action.OnNotification() {
				return bad("match=%s is a notification class, but %s acts on the bot's requests: give a path glob such as */participants/invite", v, s.Action)
			}
			s.Match, s.m = v, m
		case "p":
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
				return bad("p must be a number from 0 to 1, got %q", v)
			}
			s.P = p
		case "nth":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return bad("nth must be a whole number from 1 up, got %q", v)
			}
			s.Nth = n
		case "by":
			if !s.Action.hasBy() {
				return bad("by does not apply to %s (only to duplicate, delay, latency)", s.Action)
			}
			r, problem := parseRange(v)
			if problem != "" {
				return bad("%s", problem)
			}
			if r.Max == 0 && s.Action != Duplicate {
				return bad("by=%s: %s needs a delay above zero", v, s.Action)
			}
			s.By, hasBy = r, true
		case "code":
			if s.Action != Status {
				return bad("code applies only to status, not to %s", s.Action)
			}
			c, err := strconv.Atoi(v)
			if err != nil || c < 400 || c > 599 {
				return bad("code must be an HTTP error status from 400 to 599, got %q", v)
			}
			s.Code = c
		case "retry-after":
			if s.Action != Status {
				return bad("retry-after applies only to status, not to %s", s.Action)
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return bad("retry-after must be whole seconds from 0 up, got %q", v)
			}
			s.RetryAfter = time.Duration(n) * time.Second
		default:
			return bad("unknown key %q", k)
		}
	}
	if (s.Action == Delay || s.Action == Latency) && !hasBy {
		return bad("%s needs by= (a duration such as by=300ms, or a range such as by=100ms..2s)", s.Action)
	}
	return s, nil
}

// splitPairs splits the key list at commas that start a new key=value pair.
func splitPairs(rest string) []string {
	if strings.TrimSpace(rest) == "" {
		return nil
	}
	var pairs []string
	start := 0
	for i := 0; i < len(rest); i++ {
		if rest[i] == ',' && startsKey(rest[i+1:]) {
			pairs = append(pairs, rest[start:i])
			start = i + 1
		}
	}
	return append(pairs, rest[start:])
}

// startsKey reports whether s begins with a key and "=" (spaces allowed
// around the key), or with nothing before the next comma or the end: a
// stray comma then makes an empty pair, which Parse reports.
func startsKey(s string) bool {
	s = strings.TrimLeft(s, " ")
	if s == "" || s[0] == ',' {
		return true
	}
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] == '-') {
		i++
	}
	if i == 0 {
		return false
	}
	rest := strings.TrimLeft(s[i:], " ")
	return rest != "" && rest[0] == '='
}

// parseRange reads "300ms" or "100ms..2s"; it returns a problem sentence
// for a bad value.
func parseRange(v string) (Range, string) {
	lo, hi, isRange := strings.Cut(v, "..")
	if !isRange {
		hi = lo
	}
	a, errA := time.ParseDuration(strings.TrimSpace(lo))
	b, errB := time.ParseDuration(strings.TrimSpace(hi))
	switch {
	case errA != nil || errB != nil:
		return Range{}, fmt.Sprintf("by must be a duration (by=300ms) or a range (by=100ms..2s), got %q", v)
	case a < 0 || b < 0:
		return Range{}, fmt.Sprintf("by must not be negative, got %q", v)
	case b < a:
		return Range{}, fmt.Sprintf("by range %q runs backwards: give the smaller bound first", v)
	}
	return Range{Min: a, Max: b}, ""
}
