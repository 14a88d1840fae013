package match

import (
	"bytes"
	"net/http"

	"github.com/graphvcr/graphvcr/redact"
)

// Recorder turns live bytes back into the recording's terms: every live
// value bound so far replaced by the pseudonym it is bound to, the reverse
// of Renderer. What replay writes of the bot's own traffic (replay
// --record-actual) goes through it, so that it compares with the recording
// id for id. Values not bound are left as they are, for a redactor to take.
// It is valid only inside the function given to Matcher.Unrender.
type Recorder struct {
	b *bindings
}

// Unrender calls f with a Recorder of the current bindings, which stay as
// they are until f returns. f must not call the Matcher.
func (m *Matcher) Unrender(f func(Recorder)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	f(Recorder{b: &m.b})
}

// Body rewrites live bytes: whole JSON string values bound as strings
// first, then every bound id, rendered in the form of each occurrence.
func (w Recorder) Body(in []byte) []byte {
	b := w.b
	out := replaceStrings(in, b.strRev)
	if len(b.idsRev) == 0 {
		return out
	}
	return replaceIDs(out, func(sp redact.Span, _ string) (string, bool) {
		rec, ok := b.idsRev[sp.Key]
		return rec, ok
	})
}

// replaceStrings replaces every whole JSON string value of out that is a
// key of m by its value: bound strings in either direction.
func replaceStrings(out []byte, m map[string]string) []byte {
	for from, to := range m {
		q := quoteJSON(from)
		if bytes.Contains(out, q) {
			out = bytes.ReplaceAll(out, q, quoteJSON(to))
		}
	}
	return out
}

// replaceIDs rewrites each id found in out for which value gives a
// replacement (given the span and its text), rendered in the form of that
// occurrence. out comes back as is when nothing is replaced.
func replaceIDs(out []byte, value func(sp redact.Span, text string) (string, bool)) []byte {
	s := string(out)
	spans := redact.FindIDs(s)
	if len(spans) == 0 {
		return out
	}
	var buf bytes.Buffer
	buf.Grow(len(s) + len(s)/8)
	prev := 0
	for _, sp := range spans {
		if sp.Start < prev || sp.End > len(s) || sp.Start >= sp.End {
			continue
		}
		v, ok := value(sp, s[sp.Start:sp.End])
		if !ok {
			continue
		}
		buf.WriteString(s[prev:sp.Start])
		buf.WriteString(sp.Form.Render(v))
		prev = sp.End
	}
	if prev == 0 {
		return out
	}
	buf.WriteString(s[prev:])
	return buf.Bytes()
}

// Text is Body for a string (a path and query, a header value).
func (w Recorder) Text(s string) string {
	if rec, ok := w.b.strRev[s]; ok {
		return rec
	}
	return string(w.Body([]byte(s)))
}

// Header rewrites live header values like Text.
func (w Recorder) Header(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		nv := make([]string, len(vs))
		for i, v := range vs {
			nv[i] = w.Text(v)
		}
		out[k] = nv
	}
	return out
}
