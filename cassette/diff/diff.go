package diff

import (
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
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
