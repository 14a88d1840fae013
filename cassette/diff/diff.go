package diff

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/timeline"
)

// DefaultTolerance is how far the gap before an event may move between the
// two sessions before it counts as a timing difference, when
// Options.Tolerance is zero.
const DefaultTolerance = 50 * time.Millisecond

// ErrBadOption is wrapped by the error Compare and Options.Validate return
// for a malformed --ignore glob or --ignore-field path.
var ErrBadOption = errors.New("bad diff option")

// Options tunes a comparison. The zero value compares everything, with
// timing within DefaultTolerance.
type Options struct {
	// Tolerance is how far the gap between an event and the previous aligned
	// one may differ between the sessions; zero means DefaultTolerance.
	Tolerance time.Duration
	// IgnoreTiming turns timing differences off.
	IgnoreTiming bool
	// Ignore holds globs (path.Match syntax, "*" stops at "/") of request
	// paths, without query: events whose path matches one, in either
	// cassette, are left out of the comparison.
	Ignore []string
	// IgnoreFields holds JSON field paths ("participants[0].identity.user.id",
	// "participants[*].endpointType", "resourceData.*.id", "clientContext")
	// that are not compared, in request and response bodies and, by name, in
	// queries. A path also ignores every field below it. "*" matches any one
	// key or index, "[*]" and "#" any index.
	IgnoreFields []string
	// Logger receives debug lines about the comparison; nil discards.
	Logger *slog.Logger
}

// Validate reports the first malformed glob or field path, or a negative
// tolerance, in an error matching ErrBadOption whose text names the option
// ("--ignore-field \"a[\": unclosed '[' at 1").
func (o Options) Validate() error {
	for _, g := range o.Ignore {
		if _, err := path.Match(g, "/"); err != nil {
			return optionError(fmt.Sprintf("--ignore %q: %v", g, err))
		}
	}
	for _, f := range o.IgnoreFields {
		if _, err := parseField(f); err != nil {
			return optionError(fmt.Sprintf("--ignore-field %q: %v", f, err))
		}
	}
	if o.Tolerance < 0 {
		return optionError(fmt.Sprintf("--tolerance %v: negative", o.Tolerance))
	}
	return nil
}

// optionError is a bad option; it matches ErrBadOption.
type optionError string

func (e optionError) Error() string        { return string(e) }
func (e optionError) Is(target error) bool { return target == ErrBadOption }

// ReadError is returned by Compare when a cassette cannot be read; Path
// says which. It unwraps to the cassette package's error (ErrCorrupt,
// ErrNewerVersion, ...).
type ReadError struct {
	Path string
	Err  error
}

// Error returns the cassette package's message, which names the file.
func (e *ReadError) Error() string { return e.Err.Error() }

// Unwrap returns the cassette package's error.
func (e *ReadError) Unwrap() error { return e.Err }

// Kind names a kind of difference. Its values are part of the JSON schema.
type Kind string

// The kinds of difference.
const (
	// Added is an event only B holds.
	Added Kind = "added"
	// Removed is an event only A holds.
	Removed Kind = "removed"
	// Method is a request sent with another method to the same path.
	Method Kind = "method"
	// Path is a request to another path (with the same method), or to the
	// same path shape with ids that do not correspond.
	Path Kind = "path"
	// Query is a query parameter that differs; Field names it.
	Query Kind = "query"
	// Body is a body field that differs, or is in one body only; Where says
	// which body and Field its path ("" for a body that is not JSON).
	Body Kind = "body"
	// Status is another response status.
	Status Kind = "status"
	// Error is a transport error in one session only, or another one.
	Error Kind = "error"
	// Abandoned is an exchange the bot gave up on in one session only;
	// A or B is when it gave up ("400ms"), "" in the session it waited in.
	Abandoned Kind = "abandoned"
	// Order is an event both sessions hold, in another order.
	Order Kind = "order"
	// Timing is a gap since the previous aligned event that moved by more
	// than the tolerance.
	Timing Kind = "timing"
)

// Event is an event of one cassette, as the comparison shows it.
type Event struct {
	Seq    uint64        `json:"seq"`
	Kind   string        `json:"kind"` // graph, notification or token
	Offset time.Duration `json:"offset_ns"`
	Method string        `json:"method"`
	// Path is the request's path and query.
	Path   string `json:"path"`
	Status int    `json:"status"`
	Error  string `json:"error,omitempty"`
	// Kinds names what a notification reports ("operation completed").
	Kinds []string `json:"kinds,omitempty"`
}

// Difference is one way two aligned events differ, or an event one session
// lacks.
type Difference struct {
	Kind Kind `json:"kind"`
	// Where is "request body" or "response body" for a Body difference.
	Where string `json:"where,omitempty"`
	// Field is the JSON field path of a Body difference, the parameter of a
	// Query difference; "" otherwise.
	Field string `json:"field,omitempty"`
	// A and B are the values in each session (JSON as recorded for a body
	// field, text otherwise), cut to a few hundred characters; "" where the
	// value is absent.
	A string `json:"a,omitempty"`
	B string `json:"b,omitempty"`
}

// Row is one step of the alignment: an event of A, its counterpart in B,
// and how they differ. A is nil for an added event, B for a removed one.
type Row struct {
	A           *Event       `json:"a"`
	B           *Event       `json:"b"`
	Differences []Difference `json:"differences,omitempty"`
}

// Call is a call of A, the call of B it was paired with, and their aligned
// events. A call id is "" for the events of no call (token requests), and
// for the side that has no counterpart.
type Call struct {
	A    string `json:"a"`
	B    string `json:"b"`
	Rows []Row  `json:"rows"`
}

// Side describes one of the two cassettes compared.
type Side struct {
	Path   string `json:"path"`
	Events int    `json:"events"`
	// Compared is how many events were compared: Events less those --ignore left out.
	Compared int `json:"compared"`
}

// Result is a comparison of two cassettes.
type Result struct {
	A, B Side
	// Tolerance is the timing tolerance applied; zero when timing was ignored.
	Tolerance time.Duration
	// Calls are the paired calls in the order of the session.
	Calls []Call
	// Count is the number of differences in all rows.
	Count int
}

// Equal reports whether the two sessions are equal within the options given.
func (r *Result) Equal() bool { return r.Count == 0 }

// Counts returns how many differences of each kind were found.
func (r *Result) Counts() map[Kind]int {
	m := map[Kind]int{}
	for _, c := range r.Calls {
		for _, row := range c.Rows {
			for _, d := range row.Differences {
				m[d.Kind]++
			}
		}
	}
	return m
}

// kindOrder is the order kinds are listed in summaries.
var kindOrder = []Kind{Added, Removed, Method, Path, Query, Body, Status, Error, Order, Timing}

// Summary is the comparison in one line: "equal: 7 events each, timing
// within 50ms", or "3 differences (1 added, 2 body) between 7 and 8 events".
func (r *Result) Summary() string {
	timing := "timing within " + r.Tolerance.String()
	if r.Tolerance == 0 {
		timing = "timing ignored"
	}
	if r.Equal() {
		if r.A.Compared == r.B.Compared {
			return fmt.Sprintf("equal: %d events each, %s", r.A.Compared, timing)
		}
		return fmt.Sprintf("equal: %d and %d events, %s", r.A.Compared, r.B.Compared, timing)
	}
	counts := r.Counts()
	var parts []string
	for _, k := range kindOrder {
		if n := counts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	noun := "differences"
	if r.Count == 1 {
		noun = "difference"
	}
	return fmt.Sprintf("%d %s (%s) between %d and %d events, %s",
		r.Count, noun, strings.Join(parts, ", "), r.A.Compared, r.B.Compared, timing)
}

// Files opens the cassettes at pathA and pathB and compares them. Errors
// opening or reading either wrap the cassette package's sentinels
// (ErrNotFound, ErrCorrupt, ErrLocked, ErrNewerVersion) with the path.
func Files(pathA, pathB string, opts Options) (*Result, error) {
	a, err := cassette.Open(pathA)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	b, err := cassette.Open(pathB)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return Compare(a, b, opts)
}

// Compare aligns the sessions of a and b and returns how they differ.
func Compare(a, b *cassette.Reader, opts Options) (*Result, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tol := opts.Tolerance
	if tol == 0 {
		tol = DefaultTolerance
	}
	if opts.IgnoreTiming {
		tol = 0
	}
	fields := make([][]seg, 0, len(opts.IgnoreFields))
	for _, f := range opts.IgnoreFields {
		p, _ := parseField(f) // Validate checked it
		fields = append(fields, p)
	}

	ha, err := heads(a, opts.Ignore)
	if err != nil {
		return nil, err
	}
	hb, err := heads(b, opts.Ignore)
	if err != nil {
		return nil, err
	}
	res := &Result{
		A:         Side{Path: a.Path(), Events: a.Len(), Compared: len(ha)},
		B:         Side{Path: b.Path(), Events: b.Len(), Compared: len(hb)},
		Tolerance: tol,
	}

	keys := keyTable{}
	res.Calls = pairCalls(groupByCall(ha), groupByCall(hb), &keys)

	cmp := &comparer{ab: map[string]string{}, ba: map[string]string{}, ignore: fields}
	// Bodies are compared in A's session order, so that the pseudonyms
	// of A bind to those of B in the order they first appear.
	type ref struct{ call, row int }
	var matched []ref
	for ci, c := range res.Calls {
		for ri, row := range c.Rows {
			if row.A != nil && row.B != nil {
				matched = append(matched, ref{ci, ri})
			}
		}
	}
	slices.SortFunc(matched, func(x, y ref) int {
		return int(res.Calls[x.call].Rows[x.row].A.Seq) - int(res.Calls[y.call].Rows[y.row].A.Seq)
	})
	var prevA, prevB time.Duration
	for _, m := range matched {
		row := &res.Calls[m.call].Rows[m.row]
		if len(row.Differences) == 0 || row.Differences[0].Kind == Order {
			// Same key: compare what the heads do not show.
			ea, err := a.Event(row.A.Seq)
			if err != nil {
				return nil, &ReadError{Path: a.Path(), Err: err}
			}
			eb, err := b.Event(row.B.Seq)
			if err != nil {
				return nil, &ReadError{Path: b.Path(), Err: err}
			}
			row.Differences = append(row.Differences, cmp.events(ea, eb)...)
		}
		if tol > 0 {
			gapA, gapB := row.A.Offset-prevA, row.B.Offset-prevB
			if shift := gapB - gapA; shift > tol || shift < -tol {
				row.Differences = append(row.Differences, Difference{
					Kind: Timing,
					A:    signed(gapA.Round(time.Millisecond)) + " after the previous event",
					B:    signed(gapB.Round(time.Millisecond)) + " (" + signed(shift.Round(time.Millisecond)) + ")",
				})
			}
		}
		prevA, prevB = row.A.Offset, row.B.Offset
	}
	for _, c := range res.Calls {
		for _, row := range c.Rows {
			res.Count += len(row.Differences)
		}
	}
	log.Debug("diff", "a", a.Path(), "b", b.Path(), "differences", res.Count)
	return res, nil
}

// signed writes d with its sign: "+80ms", "-1.2s".
func signed(d time.Duration) string {
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}

// head is an event's head as the alignment needs it.
type head struct {
	*timeline.Head        // into the slice timeline.Heads returned: not copied
	shape          string // cassette.Shape of method and path
	key            string // eventKey
}

// heads reads the heads of r, leaving out those whose path matches a glob.
func heads(r *cassette.Reader, ignore []string) ([]head, error) {
	hs, err := timeline.Heads(r)
	if err != nil {
		return nil, &ReadError{Path: r.Path(), Err: err}
	}
	out := make([]head, 0, len(hs))
	interned := map[string]string{} // most events share a key: keep one copy
	for i := range hs {
		h := &hs[i]
		if ignored(h.Path, ignore) {
			continue
		}
		shape := intern(interned, cassette.Shape(h.Method, h.Path))
		out = append(out, head{Head: h, shape: shape, key: intern(interned, eventKey(h, shape))})
	}
	return out, nil
}

// intern returns the copy of s in m, adding s when m has none.
func intern(m map[string]string, s string) string {
	if t, ok := m[s]; ok {
		return t
	}
	m[s] = s
	return s
}

func ignored(p string, globs []string) bool {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if u, err := url.PathUnescape(p); err == nil {
		p = u
	}
	for _, g := range globs {
		if ok, _ := path.Match(g, p); ok {
			return true
		}
	}
	return false
}

// eventKey is what events align on: direction, method, path shape (ids
// abstracted, query dropped) and, for a notification, what it reports.
func eventKey(h *timeline.Head, shape string) string {
	k := h.Kind.String() + " " + shape
	if h.Kind == cassette.KindNotification {
		k += " | " + strings.Join(h.Kinds, ", ")
	}
	return k
}

// pairWindow is how many added events gapRows looks through for the
// counterpart of a removed one: a changed request faces its old self in the
// alignment, not events further on, and the bound keeps two sessions that
// differ everywhere from costing removed × added comparisons.
const pairWindow = 8

// keyTable interns keys as small ints, which the alignment compares.
type keyTable map[string]int

func (t keyTable) id(k string) int {
	if n, ok := t[k]; ok {
		return n
	}
	t[k] = len(t)
	return len(t) - 1
}

// callGroup is the events of one call in one session.
type callGroup struct {
	call  string
	heads []head
}

// groupByCall splits hs by call as show does: the events of no call first
// (a group that is always there, maybe empty), then calls in the order of
// their first event, events in sequence order within each.
func groupByCall(hs []head) []callGroup {
	groups := []callGroup{{call: ""}}
	index := map[string]int{"": 0}
	for _, h := range hs {
		i, ok := index[h.Call]
		if !ok {
			i = len(groups)
			index[h.Call] = i
			groups = append(groups, callGroup{call: h.Call})
		}
		groups[i].heads = append(groups[i].heads, h)
	}
	return groups
}

// pairCalls pairs the groups of a and b (no call with no call, then calls
// in the order they first appear), aligns each pair, and returns the calls
// in the order of the session: by the first event of each, A's first.
func pairCalls(ga, gb []callGroup, keys *keyTable) []Call {
	var calls []Call
	var first []uint64
	for i := range max(len(ga), len(gb)) {
		var a, b callGroup
		if i < len(ga) {
			a = ga[i]
		}
		if i < len(gb) {
			b = gb[i]
		}
		if len(a.heads) == 0 && len(b.heads) == 0 {
			continue
		}
		calls = append(calls, Call{A: a.call, B: b.call, Rows: alignCall(a.heads, b.heads, keys)})
		switch {
		case len(a.heads) > 0:
			first = append(first, a.heads[0].Seq)
		default:
			first = append(first, b.heads[0].Seq)
		}
	}
	order := make([]int, len(calls))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return int(first[x]) - int(first[y]) })
	out := make([]Call, len(calls))
	for i, j := range order {
		out[i] = calls[j]
	}
	return out
}

// alignCall aligns the events of one call of each session and returns the
// rows: matched events with no difference yet (their bodies are compared
// later), events paired as changed (another method or path) with that
// difference, events found in both in another order with an Order
// difference, and events of one side only.
func alignCall(a, b []head, keys *keyTable) []Row {
	ka, kb := make([]int, len(a)), make([]int, len(b))
	for i := range a {
		ka[i] = keys.id(a[i].key)
	}
	for j := range b {
		kb[j] = keys.id(b[j].key)
	}
	ops := align(ka, kb)

	// Between two matches, a removed and an added event of the same
	// direction with the same method or the same path shape are one event
	// changed; taken in order.
	var rows []Row
	for i := 0; i < len(ops); {
		if ops[i].a >= 0 && ops[i].b >= 0 {
			rows = append(rows, Row{A: event(&a[ops[i].a]), B: event(&b[ops[i].b])})
			i++
			continue
		}
		j := i
		var dels, ins []int
		for ; j < len(ops) && (ops[j].a < 0 || ops[j].b < 0); j++ {
			if ops[j].a >= 0 {
				dels = append(dels, ops[j].a)
			} else {
				ins = append(ins, ops[j].b)
			}
		}
		rows = append(rows, gapRows(a, b, dels, ins)...)
		i = j
	}
	return markMoved(rows, a, b)
}

// gapRows pairs, in order, the removed and added events between two matches.
func gapRows(a, b []head, dels, ins []int) []Row {
	var rows []Row
	used := make([]bool, len(ins))
	next := 0 // ins before next are used: pairing at n emits those before n as added
	for _, d := range dels {
		ha := &a[d]
		paired := false
		for n := next; n < len(ins) && n < next+pairWindow; n++ {
			hb := &b[ins[n]]
			if ha.Kind != hb.Kind {
				continue
			}
			var diff *Difference
			sa, sb := ha.shape, hb.shape
			switch {
			case sa == sb:
				// Same request, another notification class: compared
				// field by field later, like a match.
			case strings.EqualFold(ha.Method, hb.Method):
				diff = &Difference{Kind: Path, A: cut(stripQuery(ha.Path)), B: cut(stripQuery(hb.Path))}
			case pathOf(sa) == pathOf(sb):
				diff = &Difference{Kind: Method, A: ha.Method, B: hb.Method}
			default:
				continue
			}
			// Rows before this one in ins are added events.
			for m := next; m < n; m++ {
				if !used[m] {
					used[m] = true
					rows = append(rows, Row{B: event(&b[ins[m]]), Differences: []Difference{{Kind: Added}}})
				}
			}
			used[n] = true
			next = n + 1
			row := Row{A: event(ha), B: event(hb)}
			if diff != nil {
				row.Differences = []Difference{*diff}
			}
			rows = append(rows, row)
			paired = true
			break
		}
		if !paired {
			rows = append(rows, Row{A: event(ha), Differences: []Difference{{Kind: Removed}}})
		}
	}
	for n, j := range ins {
		if !used[n] {
			rows = append(rows, Row{B: event(&b[j]), Differences: []Difference{{Kind: Added}}})
		}
	}
	return rows
}

// markMoved turns a removed event and an added event of the same key in
// one call into one event in another order: the row stays where B has it.
func markMoved(rows []Row, a, b []head) []Row {
	keyA := map[uint64]string{}
	for i := range a {
		keyA[a[i].Seq] = a[i].key
	}
	keyB := map[uint64]string{}
	for i := range b {
		keyB[b[i].Seq] = b[i].key
	}
	removed := map[string][]int{} // key -> indexes of removed rows, in order
	for i, r := range rows {
		if r.B == nil {
			k := keyA[r.A.Seq]
			removed[k] = append(removed[k], i)
		}
	}
	drop := map[int]bool{}
	for i := range rows {
		r := &rows[i]
		if r.A != nil || len(removed[keyB[r.B.Seq]]) == 0 {
			continue
		}
		k := keyB[r.B.Seq]
		j := removed[k][0]
		removed[k] = removed[k][1:]
		r.A = rows[j].A
		r.Differences = []Difference{{Kind: Order, A: fmt.Sprintf("#%d", r.A.Seq), B: fmt.Sprintf("#%d", r.B.Seq)}}
		drop[j] = true
	}
	if len(drop) == 0 {
		return rows
	}
	out := rows[:0:0]
	for i, r := range rows {
		if !drop[i] {
			out = append(out, r)
		}
	}
	return out
}

func event(h *head) *Event {
	return &Event{
		Seq:    h.Seq,
		Kind:   h.Kind.String(),
		Offset: h.Offset,
		Method: h.Method,
		Path:   h.Path,
		Status: h.Status,
		Error:  h.Error,
		Kinds:  h.Kinds,
	}
}

func stripQuery(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// pathOf is the path part of a Shape ("POST /v1.0/x" -> "/v1.0/x").
func pathOf(shape string) string {
	_, p, _ := strings.Cut(shape, " ")
	return p
}
