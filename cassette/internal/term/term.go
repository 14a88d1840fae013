// Package term holds what the cassette's two terminal views, show's text
// timeline (cassette/timeline) and diff's text comparison (cassette/diff),
// share: the ANSI colours they paint with, and the rule that keeps a
// recorded string from breaking a line or driving the terminal. The rule
// lives here once so that the two views cannot drift apart on what is safe
// to print.
package term

import "strings"

// ANSI SGR sequences used when colour is on.
const (
	Reset   = "\x1b[0m"
	Bold    = "\x1b[1m"
	Dim     = "\x1b[2m"
	Red     = "\x1b[31m"
	Green   = "\x1b[32m"
	Yellow  = "\x1b[33m"
	Magenta = "\x1b[35m"
	Cyan    = "\x1b[36m"
)

// Painter paints text in ANSI colours when true, and leaves it alone
// otherwise: the caller decides once, from timeline.ColorEnabled or a flag.
type Painter bool

// Paint returns s between code and Reset, or s as it is when p is off or s
// is empty (an empty string needs no colour, and the escapes around it
// would only add noise to the line).
func (p Painter) Paint(code, s string) string {
	if !p || s == "" {
		return s
	}
	return code + s + Reset
}

// OneLine keeps a recorded string from breaking the layout or driving the
// terminal: control characters (escape sequences included) become spaces.
func OneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}
