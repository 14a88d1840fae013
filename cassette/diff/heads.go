package diff

import (
	"net/url"
	"path"
	"strings"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/timeline"
)

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
