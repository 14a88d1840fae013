package match

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/graphvcr/graphvcr/cassette"
)

// Near is a recorded exchange close to a live request that matched none.
type Near struct {
	*Candidate
	// Differences says how the live request differs from it, one item per
	// difference ("method GET, recorded POST", "body field participants.0.id missing").
	Differences []string
}

// Nearest returns up to n recorded exchanges closest to a live request that
// matched none, with their differences. Candidates of the same shape come
// first; without any, every exchange is ranked by method and path. recorded
// returns the recorded request body of a seq, read for the closest few.
func (m *Matcher) Nearest(method, uri string, body []byte, n int, recorded func(seq uint64) ([]byte, error)) []Near {
	shape := cassette.Shape(method, uri)
	m.mu.RLock()
	var pool []*Candidate
	if sg := m.shapes[shape]; sg != nil {
		pool = sg.all
	} else {
		for _, sg := range m.shapes {
			pool = append(pool, sg.all...)
		}
	}
	type scored struct {
		c             *Candidate
		score, prefix int
	}
	ranked := make([]scored, 0, len(pool))
	for _, c := range pool {
		score, prefix := pathDistance(method, uri, c.Method, c.URL)
		ranked = append(ranked, scored{c, score, prefix})
	}
	m.mu.RUnlock()
	slices.SortStableFunc(ranked, func(a, b scored) int {
		return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(b.prefix, a.prefix), cmp.Compare(a.c.Seq, b.c.Seq))
	})
	// Compare bodies of a few of the closest: that reads them from disk.
	const detailed = 12
	var out []Near
	for i := 0; i < len(ranked) && i < detailed; i++ {
		c := ranked[i].c
		out = append(out, Near{Candidate: c, Differences: differences(method, uri, body, c, recorded, m.pseudonyms)})
	}
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// pathDistance is a cheap ranking of a recorded request against a live one:
// method, then path segments that differ once ids are elided (lower is
// nearer); prefix counts the leading segments in common, to break ties.
func pathDistance(method, uri, recMethod, recURI string) (score, prefix int) {
	if !strings.EqualFold(method, recMethod) {
		score += 4
	}
	a := segments(cassette.Shape(method, uri))
	b := segments(cassette.Shape(recMethod, recURI))
	for prefix < len(a) && prefix < len(b) && a[prefix] == b[prefix] {
		prefix++
	}
	for i := 0; i < len(a) || i < len(b); i++ {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			score += 2
		}
	}
	return score, prefix
}

func segments(shape string) []string {
	_, path, _ := strings.Cut(shape, " ")
	return strings.Split(strings.Trim(path, "/"), "/")
}

// differences says how a live request differs from a recorded one.
func differences(method, uri string, body []byte, c *Candidate, recorded func(uint64) ([]byte, error), ps pseudonymSet) []string {
	var d []string
	if !strings.EqualFold(method, c.Method) {
		d = append(d, fmt.Sprintf("method %s, recorded %s", method, c.Method))
	}
	lu, _ := url.Parse(uri)
	ru, _ := url.Parse(c.URL)
	if lu == nil || ru == nil {
		return append(d, "unparsable URL")
	}
	ls, rs := strings.Split(strings.Trim(lu.Path, "/"), "/"), strings.Split(strings.Trim(ru.Path, "/"), "/")
	if len(ls) != len(rs) {
		d = append(d, fmt.Sprintf("path has %d segments, recorded %d", len(ls), len(rs)))
	}
	for i := 0; i < len(ls) && i < len(rs); i++ {
		if !sameValue(ls[i], rs[i], ps) {
			d = append(d, fmt.Sprintf("path segment %d differs, recorded %q", i+1, rs[i]))
		}
	}
	d = append(d, diffFields("query", flatQuery(lu.Query()), flatQuery(ru.Query()), ps)...)
	recBody, err := recorded(c.Seq)
	if err != nil {
		return append(d, "recorded request unreadable: "+err.Error())
	}
	lb, rb := bytes.TrimSpace(body), bytes.TrimSpace(recBody)
	switch {
	case len(lb) == 0 && len(rb) == 0:
	case json.Valid(lb) && json.Valid(rb):
		d = append(d, diffFields("body field", flatJSON(lb), flatJSON(rb), ps)...)
	case !bytes.Equal(lb, rb) && !sameValue(string(lb), string(rb), ps):
		d = append(d, "body differs")
	}
	switch {
	case len(d) > 0:
	case c.Abandoned > 0:
		// Nothing differs, yet it did not match: it was used, and an
		// exchange the bot abandoned is never served again.
		d = append(d, "the bot abandoned it when recording: it is held unanswered once, never served again")
	default:
		d = append(d, "its ids or values are bound to other live values earlier in this session")
	}
	return d
}

// sameValue reports whether a live value fits a recorded one, ids aside.
func sameValue(live, rec string, ps pseudonymSet) bool {
	if live == rec {
		return true
	}
	lt := newTemplate("", "/", []byte(strconvQuote(live)), nil)
	rt := newTemplate("", "/", []byte(strconvQuote(rec)), ps)
	if lt.key != rt.key {
		return false
	}
	for i := range rt.values {
		if !rt.values[i].bind && rt.values[i].text != lt.values[i].text {
			return false
		}
	}
	return true
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// diffFields compares flattened fields (name -> value).
func diffFields(what string, live, rec map[string]string, ps pseudonymSet) []string {
	var d []string
	for _, k := range slices.Sorted(mapKeys(rec)) {
		lv, ok := live[k]
		switch {
		case !ok:
			d = append(d, fmt.Sprintf("%s %s missing", what, k))
		case wildcardKeys[lastName(k)]:
		case !sameValue(lv, rec[k], ps):
			d = append(d, fmt.Sprintf("%s %s differs, recorded %s", what, k, clip(rec[k])))
		}
	}
	for _, k := range slices.Sorted(mapKeys(live)) {
		if _, ok := rec[k]; !ok {
			d = append(d, fmt.Sprintf("%s %s not recorded", what, k))
		}
	}
	return d
}

func lastName(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// clip shortens a recorded value for a message.
func clip(s string) string {
	const n = 60
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func flatQuery(q url.Values) map[string]string {
	out := make(map[string]string, len(q))
	for k, vs := range q {
		out[k] = strings.Join(vs, ",")
	}
	return out
}

// flatJSON flattens a JSON document to dotted paths of its scalars ("a.0.b").
// Strings are kept unquoted so ids inside them compare like any value.
func flatJSON(b []byte) map[string]string {
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return nil
	}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		join := func(k string) string {
			if prefix == "" {
				return k
			}
			return prefix + "." + k
		}
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(join(k), e)
			}
		case []any:
			for i, e := range v {
				walk(join(fmt.Sprint(i)), e)
			}
		case string:
			out[prefix] = v
		default:
			out[prefix] = fmt.Sprint(v)
		}
	}
	walk("", v)
	return out
}
