package fault

import (
	"errors"
	"strings"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/timeline"
	"github.com/graphvcr/graphvcr/proxy/internal/glob"
)

// matcher is a compiled match= value. The zero matcher selects every event.
type matcher struct {
	any bool
	// class is set for a notification classification; words holds its
	// lower-case words, or glob a lower-case glob over the whole class.
	class bool
	words []string
	// method ("POST", upper case) and glob select requests by path.
	method string
	glob   string
}

// methods are the prefixes a path glob may carry ("POST */calls").
var methods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true,
}

// compileMatch reads a match= value:
//   - "*" (or any run of stars) selects every event;
//   - an optional method and a space or colon ("POST */calls",
//     "POST:*/calls"), then a glob over the recorded path, is a path glob;
//     so is any value that holds a "/" and no space;
//   - anything else is a notification classification as show prints it:
//     one or more consecutive words of it ("established", "roster updated",
//     "operation failed"), or a glob over it when it holds a "*".
//
// In a glob "*" matches any run of characters, "/" included; nothing else
// is special. Matching ignores case and the recorded query string.
func compileMatch(v string) (matcher, error) {
	if strings.Trim(v, "*") == "" {
		return matcher{any: true}, nil
	}
	if i := strings.IndexAny(v, " :"); i > 0 && methods[strings.ToUpper(v[:i])] {
		glob := strings.TrimSpace(v[i+1:])
		if glob == "" {
			return matcher{}, errors.New("a method needs a path glob after it, such as POST */calls")
		}
		return matcher{method: strings.ToUpper(v[:i]), glob: strings.ToLower(glob)}, nil
	}
	if strings.Contains(v, "/") && !strings.Contains(v, " ") {
		return matcher{glob: strings.ToLower(v)}, nil
	}
	m := matcher{class: true}
	if strings.Contains(v, "*") {
		m.glob = strings.ToLower(v)
	} else {
		m.words = strings.Fields(strings.ToLower(v))
	}
	return m, nil
}

// selects reports whether m selects h. Only notifications have a class;
// a path glob applies to any event's path (a notification's is the bot's
// callback path).
func (m *matcher) selects(h *timeline.Head) bool {
	switch {
	case m.any, !m.class && m.glob == "":
		return true
	case m.class:
		if h.Kind != cassette.KindNotification {
			return false
		}
		for _, k := range h.Kinds {
			if m.selectsClass(strings.ToLower(k)) {
				return true
			}
		}
		return false
	}
	if m.method != "" && !strings.EqualFold(m.method, h.Method) {
		return false
	}
	p := h.Path
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return glob.Match(m.glob, strings.ToLower(p))
}

// selectsClass matches one lower-case class: the glob, or the words as a
// consecutive run of the class's words.
func (m *matcher) selectsClass(class string) bool {
	if m.glob != "" {
		return glob.Match(m.glob, class)
	}
	return glob.HasRun(strings.Fields(class), m.words)
}

// className is a class as a warning lists it: without the parenthesised
// details ("roster updated (2 participants)" is "roster updated").
func className(k string) string {
	if i := strings.Index(k, " ("); i > 0 {
		return k[:i]
	}
	return k
}
