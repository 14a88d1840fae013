// Package glob matches the simple patterns of graphvcr's fault specs: "*"
// matches any run of bytes, "/" included, and nothing else is special.
// Unlike path.Match, a star crosses path segments, so "/v1.0/*/calls"
// selects calls under any prefix. Both the replay's fault plan
// (proxy/fault) and the Graph simulator's misbehaviours (proxy/graphtest)
// select requests with it, so that one spec selects the same requests in
// both.
package glob

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
