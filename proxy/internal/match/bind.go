package match

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/graphvcr/graphvcr/redact"
)

// bindings maps the recording's pseudonyms to the live values they matched.
// A binding lasts for the whole session and is one-to-one: a pseudonym bound
// to X never matches Y later, and X never stands for another pseudonym. The
// zero value is empty and ready; the Matcher's lock guards it.
type bindings struct {
	ids    map[string]string // pseudonym key -> live key (redact.Span.Key)
	idsRev map[string]string // live key -> pseudonym key
	strs   map[string]string // recorded string value -> live string value
	strRev map[string]string // live string value -> recorded string value
}

// tentative holds the bindings a Candidate needs while it is being compared;
// they are committed only when the whole request matched.
type tentative struct {
	ids, strs [][2]string
}

func (t *tentative) reset() { t.ids, t.strs = t.ids[:0], t.strs[:0] }

// bind checks rec -> live against the session's bindings and the tentative
// ones, adding it to t when it is new.
func bind(fwd, rev map[string]string, t *[][2]string, rec, live string) bool {
	if x, ok := fwd[rec]; ok {
		return x == live
	}
	if x, ok := rev[live]; ok {
		return x == rec
	}
	for _, e := range *t {
		if e[0] == rec || e[1] == live {
			return e[0] == rec && e[1] == live
		}
	}
	*t = append(*t, [2]string{rec, live})
	return true
}

// fits reports whether the live values fit the recorded ones, given the
// bindings so far, and collects the new bindings that would need in t.
func (b *bindings) fits(rec, live []value, t *tentative) bool {
	if len(rec) != len(live) {
		return false
	}
	for i := range rec {
		r, l := &rec[i], &live[i]
		if r.kind != l.kind {
			return false
		}
		switch {
		case !r.bind:
			if r.text != l.text {
				return false
			}
		case r.kind == holeID:
			if !formFits(*r, *l) || !bind(b.ids, b.idsRev, &t.ids, r.key, l.key) {
				return false
			}
		default:
			if !bind(b.strs, b.strRev, &t.strs, r.text, l.text) {
				return false
			}
		}
	}
	return true
}

// commit makes the tentative bindings session-wide and reports whether any was new.
func (b *bindings) commit(t *tentative) bool {
	ids := commitPairs(&b.ids, &b.idsRev, t.ids)
	strs := commitPairs(&b.strs, &b.strRev, t.strs)
	return ids || strs
}

// commitPairs adds the pairs (recorded, live) of one kind of binding to
// fwd and rev, making the maps on first use, and reports whether any was new.
func commitPairs(fwd, rev *map[string]string, pairs [][2]string) bool {
	added := false
	for _, e := range pairs {
		if _, ok := (*fwd)[e[0]]; !ok {
			if *fwd == nil {
				*fwd, *rev = map[string]string{}, map[string]string{}
			}
			(*fwd)[e[0]], (*rev)[e[1]] = e[1], e[0]
			added = true
		}
	}
	return added
}

// Renderer turns recorded bytes into what the bot gets: first what pre
// does (the replayer points upstream origins at its listener), then bound
// pseudonyms replaced by their live values. It reads the bindings of one
// generation and is valid only inside the function given to Matcher.Render.
type Renderer struct {
	b          *bindings
	pre        func([]byte) []byte // nil: none
	pseudonyms pseudonymSet
}

// Body rewrites a recorded body. Whole JSON string values bound as strings
// (clientContext, names) are replaced first, then every bound id, rendered
// in the form of each occurrence.
func (w Renderer) Body(in []byte) []byte {
	b, out := w.b, in
	if w.pre != nil {
		out = w.pre(in)
	}
	out = replaceStrings(out, b.strs)
	if len(b.ids) == 0 {
		return out
	}
	return replaceIDs(out, func(sp redact.Span, text string) (string, bool) {
		live, ok := b.ids[sp.Key]
		if !ok || !(w.pseudonyms.has(text) || w.pseudonyms.has(sp.Key)) {
			return "", false
		}
		return live, true
	})
}

// Header rewrites recorded header values like bodies; a value that is a
// whole bound string is replaced too.
func (w Renderer) Header(h http.Header) http.Header {
	b := w.b
	out := make(http.Header, len(h))
	for k, vs := range h {
		nv := make([]string, len(vs))
		for i, v := range vs {
			if live, ok := b.strs[v]; ok {
				nv[i] = live
				continue
			}
			nv[i] = string(w.Body([]byte(v)))
		}
		out[k] = nv
	}
	return out
}

// quoteJSON returns s as a JSON string literal, without HTML escaping (Graph
// writes "<" and "&" as they are).
func quoteJSON(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return []byte(`"` + s + `"`)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}
