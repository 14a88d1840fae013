package diff

import (
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/tidwall/gjson"
)

// maxValue bounds a value quoted in a difference: a changed field may be a
// megabyte of media, which no one reads in a report.
const maxValue = 120

// guid finds an id in any of the forms a cassette writes pseudonyms in:
// dashed or not, any case, alone or inside another string ("28:GUID").
var guid = regexp.MustCompile(`(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}`)

// findIDs returns where the ids of s are, as guid.FindAllStringIndex would,
// but runs the regexp only on runs of hex digits and dashes long enough to
// hold one: most of a body is not, and bodies are long.
func findIDs[T string | []byte](s T) [][]int {
	var out [][]int
	start := -1
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isIDByte(s[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= 32 {
			for _, m := range guid.FindAllStringIndex(string(s[start:i]), -1) { // a short run: a small copy
				out = append(out, []int{start + m[0], start + m[1]})
			}
		}
		start = -1
	}
	return out
}

func isIDByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '-'
}

// comparer compares aligned events, keeping the binding between the ids of
// A and those of B that the comparison has seen so far.
type comparer struct {
	ab, ba map[string]string // canonical id of A -> of B, and back
	ignore [][]seg
}

// events compares two events that aligned on the same key.
func (c *comparer) events(a, b *cassette.Event) []Difference {
	var out []Difference
	if !strings.EqualFold(a.Request.Method, b.Request.Method) {
		out = append(out, Difference{Kind: Method, A: a.Request.Method, B: b.Request.Method})
	}
	pa, qa := splitURL(a.Request.URL)
	pb, qb := splitURL(b.Request.URL)
	if !c.text(pa, pb) {
		out = append(out, Difference{Kind: Path, A: cut(pa), B: cut(pb)})
	}
	out = append(out, c.query(qa, qb)...)
	if a.Response.Status != b.Response.Status {
		out = append(out, Difference{Kind: Status, A: strconv.Itoa(a.Response.Status), B: strconv.Itoa(b.Response.Status)})
	}
	if a.Error != b.Error {
		out = append(out, Difference{Kind: Error, A: cut(a.Error), B: cut(b.Error)})
	}
	if (a.Abandoned > 0) != (b.Abandoned > 0) {
		out = append(out, Difference{Kind: Abandoned, A: abandonedAfter(a), B: abandonedAfter(b)})
	}
	out = append(out, c.body("request body", a.Request.Body, b.Request.Body)...)
	out = append(out, c.body("response body", a.Response.Body, b.Response.Body)...)
	return out
}

// abandonedAfter is when the bot gave up on e ("400ms"), "" when it did not.
func abandonedAfter(e *cassette.Event) string {
	if e.Abandoned <= 0 {
		return ""
	}
	return e.Abandoned.Round(time.Millisecond).String()
}

// splitURL returns the path and raw query of a recorded URL.
func splitURL(raw string) (string, string) {
	if u, err := url.Parse(raw); err == nil {
		return u.EscapedPath(), u.RawQuery
	}
	p, q, _ := strings.Cut(raw, "?")
	return p, q
}

// query compares two raw queries parameter by parameter.
func (c *comparer) query(qa, qb string) []Difference {
	if qa == qb {
		return nil
	}
	va, errA := url.ParseQuery(qa)
	vb, errB := url.ParseQuery(qb)
	if errA != nil || errB != nil {
		if c.text(qa, qb) {
			return nil
		}
		return []Difference{{Kind: Query, A: cut(qa), B: cut(qb)}}
	}
	names := map[string]bool{}
	for k := range va {
		names[k] = true
	}
	for k := range vb {
		names[k] = true
	}
	var out []Difference
	for _, k := range slices.Sorted(mapKeys(names)) {
		if c.ignored([]seg{{key: k}}) {
			continue
		}
		x, y := strings.Join(va[k], ","), strings.Join(vb[k], ",")
		_, inA := va[k]
		_, inB := vb[k]
		if inA == inB && c.text(x, y) {
			continue
		}
		out = append(out, Difference{Kind: Query, Field: k, A: cut(x), B: cut(y)})
	}
	return out
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// body compares two bodies: as JSON field by field when both are JSON, as
// text (ids by structure) when both are UTF-8, byte for byte otherwise.
func (c *comparer) body(where string, a, b []byte) []Difference {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	if bytes.Equal(a, b) && sameText(c, a, b) {
		// The usual case, and the cheap one: equal bytes whose ids bind
		// as they did so far. Otherwise the walk below names the fields.
		return nil
	}
	if gjson.ValidBytes(a) && gjson.ValidBytes(b) && len(a) > 0 && len(b) > 0 {
		var out []Difference
		c.json(&out, where, nil, gjson.ParseBytes(a), gjson.ParseBytes(b))
		return out
	}
	if utf8.Valid(a) && utf8.Valid(b) {
		if sameText(c, a, b) {
			return nil
		}
	} else if bytes.Equal(a, b) {
		return nil
	}
	return []Difference{{Kind: Body, Where: where, A: cut(string(a)), B: cut(string(b))}}
}

// json walks two JSON values in step, appending a difference for every
// field that differs or is in one only.
func (c *comparer) json(out *[]Difference, where string, at []seg, a, b gjson.Result) {
	if c.ignored(at) {
		return
	}
	add := func(x, y string) {
		*out = append(*out, Difference{Kind: Body, Where: where, Field: fieldString(at), A: cut(x), B: cut(y)})
	}
	switch {
	case a.IsObject() && b.IsObject():
		var order []string
		fb := map[string]gjson.Result{}
		b.ForEach(func(k, v gjson.Result) bool {
			if _, dup := fb[k.String()]; !dup {
				order = append(order, k.String())
			}
			fb[k.String()] = v
			return true
		})
		seen := map[string]bool{}
		a.ForEach(func(k, v gjson.Result) bool {
			name := k.String()
			if seen[name] {
				return true
			}
			seen[name] = true
			p := append(slices.Clip(at), seg{key: name})
			if w, ok := fb[name]; ok {
				c.json(out, where, p, v, w)
			} else if !c.ignored(p) {
				*out = append(*out, Difference{Kind: Body, Where: where, Field: fieldString(p), A: cut(v.Raw)})
			}
			return true
		})
		for _, name := range order {
			if seen[name] {
				continue
			}
			p := append(slices.Clip(at), seg{key: name})
			if !c.ignored(p) {
				*out = append(*out, Difference{Kind: Body, Where: where, Field: fieldString(p), B: cut(fb[name].Raw)})
			}
		}
	case a.IsArray() && b.IsArray():
		xa, xb := a.Array(), b.Array()
		for i := range max(len(xa), len(xb)) {
			p := append(slices.Clip(at), seg{index: i, isIndex: true})
			switch {
			case i >= len(xa):
				if !c.ignored(p) {
					*out = append(*out, Difference{Kind: Body, Where: where, Field: fieldString(p), B: cut(xb[i].Raw)})
				}
			case i >= len(xb):
				if !c.ignored(p) {
					*out = append(*out, Difference{Kind: Body, Where: where, Field: fieldString(p), A: cut(xa[i].Raw)})
				}
			default:
				c.json(out, where, p, xa[i], xb[i])
			}
		}
	case a.Type == gjson.String && b.Type == gjson.String:
		if !c.text(a.Str, b.Str) {
			add(a.Raw, b.Raw)
		}
	case a.Type == gjson.Number && b.Type == gjson.Number:
		if a.Raw != b.Raw && a.Num != b.Num {
			add(a.Raw, b.Raw)
		}
	default:
		if a.Type != b.Type || a.IsObject() != b.IsObject() || a.IsArray() != b.IsArray() {
			add(a.Raw, b.Raw)
		}
	}
}

// text reports whether a and b are equal once their ids are compared by
// structure, binding the ids that meet for the first time. The ids must be
// in the same places and written the same way (dashes, case).
func (c *comparer) text(a, b string) bool { return sameText(c, a, b) }

// sameText is text for strings and for bodies, which it does not copy.
func sameText[T string | []byte](c *comparer, a, b T) bool {
	la := findIDs(a)
	equal := string(a) == string(b)
	if equal && len(la) == 0 {
		return true
	}
	lb := la
	if !equal {
		lb = findIDs(b)
	}
	if len(la) != len(lb) {
		return false
	}
	// Same text between the ids, same form of each id.
	pa, pb := 0, 0
	for i := range la {
		if string(a[pa:la[i][0]]) != string(b[pb:lb[i][0]]) ||
			form(string(a[la[i][0]:la[i][1]])) != form(string(b[lb[i][0]:lb[i][1]])) {
			return false
		}
		pa, pb = la[i][1], lb[i][1]
	}
	if string(a[pa:]) != string(b[pb:]) {
		return false
	}
	for i := range la {
		x, y := canonical(string(a[la[i][0]:la[i][1]])), canonical(string(b[lb[i][0]:lb[i][1]]))
		bx, okx := c.ab[x]
		by, oky := c.ba[y]
		switch {
		case !okx && !oky:
			c.ab[x], c.ba[y] = y, x
		case okx && bx == y && oky && by == x:
		default:
			return false
		}
	}
	return true
}

// form tells how an id is written: dashed or not, upper or lower case.
func form(id string) string {
	f := "plain"
	if strings.Contains(id, "-") {
		f = "dashed"
	}
	switch {
	case strings.ToUpper(id) == id && strings.ToLower(id) != id:
		f += " upper"
	case strings.ToLower(id) == id:
		f += " lower"
	default:
		f += " mixed"
	}
	return f
}

func canonical(id string) string {
	return strings.ToLower(strings.ReplaceAll(id, "-", ""))
}

// cut shortens a value quoted in a difference to maxValue runes.
func cut(s string) string {
	if p, ok := runePrefix(s, maxValue); ok {
		return p + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return s
}

// runePrefix returns the first n runes of s and true, or s and false when
// s has no more than n runes. It cuts between runes, never inside one, so
// what it returns stays valid UTF-8 wherever s was.
func runePrefix(s string, n int) (string, bool) {
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	seen := 0
	for i := range s {
		if seen == n {
			return s[:i], true
		}
		seen++
	}
	return s, false
}

// seg is one step of a JSON field path: a key or an index. In a pattern,
// any marks "*" (any key or index) and anyIndex "[*]" or "#".
type seg struct {
	key      string
	index    int
	isIndex  bool
	any      bool
	anyIndex bool
}

// fieldString writes a path the way a reader and --ignore-field write it:
// participants[0].identity.user.id; a key that is not a plain name is
// quoted: value[0]["@odata.type"].
func fieldString(p []seg) string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case s.isIndex:
			fmt.Fprintf(&b, "[%d]", s.index)
		case plainKey(s.key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		default:
			b.WriteString("[" + strconv.Quote(s.key) + "]")
		}
	}
	return b.String()
}

func plainKey(k string) bool {
	if k == "" || k == "*" || k == "#" {
		return false
	}
	for _, r := range k {
		if r == '.' || r == '[' || r == ']' || r == '"' || r == '\\' || r == '*' || r <= ' ' {
			return false
		}
	}
	return true
}

// parseField reads a field path as fieldString writes it, with the
// wildcards "*", "[*]" and "#", and gjson's "\." for a dot inside a key.
func parseField(s string) ([]seg, error) {
	var out []seg
	if s == "" {
		return nil, fmt.Errorf("empty field path")
	}
	i := 0
	for i < len(s) {
		switch s[i] {
		case '.':
			if i == 0 || i == len(s)-1 {
				return nil, fmt.Errorf("stray '.' at %d", i)
			}
			i++
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed '[' at %d", i)
			}
			inner := s[i+1 : i+end]
			if strings.HasPrefix(inner, `"`) {
				// A quoted key may hold ']': find the closing quote.
				q, err := strconv.QuotedPrefix(s[i+1:])
				if err != nil || i+1+len(q) >= len(s) || s[i+1+len(q)] != ']' {
					return nil, fmt.Errorf("bad quoted key at %d", i)
				}
				k, _ := strconv.Unquote(q)
				out = append(out, seg{key: k})
				i += len(q) + 2
				continue
			}
			switch n, err := strconv.Atoi(inner); {
			case inner == "*":
				out = append(out, seg{anyIndex: true})
			case err == nil && n >= 0:
				out = append(out, seg{index: n, isIndex: true})
			default:
				return nil, fmt.Errorf("index %q is not a number, * or a quoted key", inner)
			}
			i += end + 1
		default:
			var k strings.Builder
			for i < len(s) && s[i] != '.' && s[i] != '[' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				k.WriteByte(s[i])
				i++
			}
			switch key := k.String(); key {
			case "*":
				out = append(out, seg{any: true})
			case "#":
				out = append(out, seg{anyIndex: true})
			default:
				if n, err := strconv.Atoi(key); err == nil && n >= 0 {
					// gjson writes an index as a key: participants.0.id.
					out = append(out, seg{key: key, index: n, isIndex: true})
				} else {
					out = append(out, seg{key: key})
				}
			}
		}
	}
	return out, nil
}

// ignored reports whether the field at p, or one above it, is ignored.
func (c *comparer) ignored(p []seg) bool {
	for _, pat := range c.ignore {
		if len(pat) <= len(p) && matchField(pat, p[:len(pat)]) {
			return true
		}
	}
	return false
}

func matchField(pat, p []seg) bool {
	for i, s := range pat {
		f := p[i]
		switch {
		case s.any:
		case s.anyIndex:
			if !f.isIndex {
				return false
			}
		case s.isIndex && s.key != "":
			// "0" from a gjson-style path: an index, or a key named "0".
			if !(f.isIndex && f.index == s.index || !f.isIndex && f.key == s.key) {
				return false
			}
		case s.isIndex:
			if !f.isIndex || f.index != s.index {
				return false
			}
		default:
			if f.isIndex || f.key != s.key {
				return false
			}
		}
	}
	return true
}
