// Package glob matches the two forms of a fault spec's match=: a glob over
// a request's path, where "*" matches any run of bytes, "/" included, and
// nothing else is special (unlike path.Match, a star crosses path
// segments, so "/v1.0/*/calls" selects calls under any prefix); and words
// that must stand as a consecutive run in a notification's class ("roster
// updated"). Both the replay's fault plan (proxy/fault) and the Graph
// simulator's misbehaviours (proxy/graphtest) select with it, so that one
// spec selects the same requests and notifications in both.
package glob

import "slices"

// Match reports whether s matches pattern. It backtracks only to the last
// star, so it runs in O(len(s) × stars) at worst.
func Match(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// HasRun reports whether words stand as a consecutive run in fields:
// HasRun(["call", "roster", "updated"], ["roster", "updated"]) is true.
// No words are a run in any fields.
func HasRun(fields, words []string) bool {
	for i := 0; i+len(words) <= len(fields); i++ {
		if slices.Equal(fields[i:i+len(words)], words) {
			return true
		}
	}
	return false
}
