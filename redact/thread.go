package redact

import (
	"bytes"
	"encoding/base64"
	"strconv"
)

// Teams thread and chat ids ("19:meeting_<base64>@thread.v2",
// "19:<hex>@thread.skype", "19:<guid>_<guid>@unq.gbl.spaces", "48:notes",
// "1:<id>@<domain>") name a meeting's or a chat's conversation. What is
// inside varies (base64 of anything, hex, GUIDs joined by '_'), so the id is
// found by its frame, prefix and domain, and replaced whole by one
// pseudonym of the same shape: "19:meeting_c0ffee<N>@thread.v2". The same
// id gets the same pseudonym in a body, a URL path or query, a joinWebUrl
// where it is percent-encoded ("19%3ameeting_...%40thread.v2", found as
// written) or a base64 context (opened by b64).

// threadPseudo starts the inside of a thread id pseudonym, after the
// optional "meeting_": a word no real base64 id is, followed by the number.
const threadPseudo = "c0ffee"

// threadBody reports whether c may be inside a thread id.
func threadBody(c byte) bool {
	return cls[c]&(clsB64|clsB64URL) != 0 || c == '.' || c == '='
}

// threadAt handles a thread id whose colon is at src[i], written ':' or,
// percent-encoded in a URL (a joinWebUrl), "%3a" with "%40" for its at
// sign; it returns the end of the id, or 0 when there is none there.
func (p *pass) threadAt(src []byte, i int) int {
	ws := i
	for ws > 0 && isDigit(src[ws-1]) && i-ws < 3 {
		ws--
	}
	prefix := string(src[ws:i])
	if (prefix != "19" && prefix != "48" && prefix != "1") || !boundaryBefore(src, ws) || (ws > 0 && src[ws-1] == ':') {
		return 0
	}
	if len(p.spans) > 0 && p.spans[len(p.spans)-1].end > ws {
		return 0 // the digits belong to what was found before
	}
	e, ins, ine := threadEnd(src, i, prefix)
	if e == 0 {
		return 0
	}
	if !p.ids && isPseudonymThread(src[ins:ine]) {
		return e
	}
	p.add(span{start: ws, end: e, kind: kThread, form: FormThread})
	return e
}

// colonAt returns the length of the colon at src[i]: 1 for ':', 3 for
// "%3a", 0 for anything else.
func colonAt(src []byte, i int) int {
	if i >= len(src) {
		return 0
	}
	if src[i] == ':' {
		return 1
	}
	if i+2 < len(src) && src[i] == '%' && src[i+1] == '3' && (src[i+2] == 'a' || src[i+2] == 'A') {
		return 3
	}
	return 0
}

// atAt returns the length of the at sign at src[i]: 1 for '@', 3 for "%40".
func atAt(src []byte, i int) int {
	if i < len(src) && src[i] == '@' {
		return 1
	}
	if i+2 < len(src) && src[i] == '%' && src[i+1] == '4' && src[i+2] == '0' {
		return 3
	}
	return 0
}

// threadEnd measures the id after the colon at i: the inside, and for "19:"
// and "1:" an at sign and a domain ("thread.v2", "unq.gbl.spaces").
// It returns the id's end and where its inside starts and ends.
func threadEnd(src []byte, i int, prefix string) (e, ins, ine int) {
	n := len(src)
	cl := colonAt(src, i)
	if cl == 0 {
		return 0, 0, 0
	}
	b := i + cl
	if prefix != "48" {
		// A doubled colon ("19::meeting_...", "19%3a:meeting_..." in a
		// joinWebUrl) is a writing slip, not another id.
		b += colonAt(src, b)
	}
	j := b
	for j < n && threadBody(src[j]) && src[j] != '@' {
		j++
	}
	if prefix == "48" {
		for j > b && (src[j-1] == '.' || src[j-1] == '-') {
			j-- // sentence punctuation after the id
		}
		if j-b < 3 || atAt(src, j) > 0 {
			return 0, 0, 0
		}
		return j, b, j
	}
	al := atAt(src, j)
	// A "19:" id may mix raw and encoded punctuation ("19%3a:...@thread.v2"):
	// its domain decides. Other prefixes keep one way of writing.
	if j == b || al == 0 || (prefix != "19" && (al == 1) != (cl == 1)) {
		return 0, 0, 0
	}
	ds := j + al
	de := ds
	for de < n && cls[src[de]]&clsHost != 0 {
		de++
	}
	for de > ds && (src[de-1] == '.' || src[de-1] == '-') {
		de--
	}
	dom := src[ds:de]
	if prefix == "19" && !hasPrefixFold(dom, "thread.") && !equalFold(dom, "unq.gbl.spaces") {
		return 0, 0, 0
	}
	if len(dom) < 3 || bytes.IndexByte(dom, '.') < 0 {
		return 0, 0, 0
	}
	return de, b, j
}

// isPseudonymThread reports whether the inside of a thread id is a pseudonym's.
func isPseudonymThread(in []byte) bool {
	in = bytes.TrimPrefix(in, []byte("meeting_"))
	if len(in) == 48 && bytes.HasPrefix(in, []byte("YzBmZmVl")) {
		// Cassettes recorded before thread ids were replaced whole carry
		// the base64 of a GUID pseudonym ("c0ffee00-...") inside.
		var buf [36]byte
		if n, err := base64.StdEncoding.Decode(buf[:], in); err == nil && n == 36 {
			return isPseudonymGUIDText(buf[:])
		}
	}
	if !bytes.HasPrefix(in, []byte(threadPseudo)) || len(in) == len(threadPseudo) {
		return false
	}
	for _, c := range in[len(threadPseudo):] {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// appendThread appends the pseudonym of thread id v (as threadAt found
// it), keeping its prefix, its "meeting_", its domain and how its colon
// and at sign are written.
func (r *Redactor) appendThread(dst, v []byte) []byte {
	var kbuf [256]byte
	key, _, ins, ine := appendThreadKey(kbuf[:0], v)
	h := hashBytes(key)
	n, ok := r.threads.get(h, viewString(key))
	if !ok {
		n, _ = issueNum(r, &r.threads, &idEntry[string]{key: string(key), hash: h}, &r.threadN, pseudonym{kind: kThread})
	}
	dst = append(dst, v[:ins]...)
	if bytes.HasPrefix(v[ins:], []byte("meeting_")) {
		dst = append(dst, "meeting_"...)
	}
	dst = strconv.AppendInt(append(dst, threadPseudo...), int64(n), 10)
	if ine < len(v) {
		at := v[ine : ine+atAt(v, ine)]
		dom := v[ine+len(at):]
		var buf [64]byte
		lower := appendLower(buf[:0], dom)
		if hasPrefixFold(dom, "thread.") || equalFold(dom, "unq.gbl.spaces") || (len(dom) < len(buf) && isKeptHost(string(lower))) {
			dst = append(append(dst, at...), dom...)
		} else {
			dst = append(append(dst, at...), "example.invalid"...)
		}
	}
	return dst
}

// appendThreadKey appends the key of thread id v (as threadAt found it): the
// id as written with one ':' and '@', so the encoded and the plain forms of
// one id are one id. It also returns where v's colon is and where its inside
// starts and ends.
func appendThreadKey(dst, v []byte) (key []byte, c, ins, ine int) {
	for c < len(v) && isDigit(v[c]) {
		c++
	}
	_, ins, ine = threadEnd(v, c, string(v[:c]))
	key = append(append(append(dst, v[:c]...), ':'), v[ins:ine]...)
	if ine < len(v) {
		key = append(append(key, '@'), v[ine+atAt(v, ine):]...)
	}
	return key, c, ins, ine
}

// threadKey returns the key of thread id v, and whether its colon is
// percent-encoded.
func threadKey(v []byte) (key string, encoded bool) {
	k, c, _, _ := appendThreadKey(nil, v)
	return string(k), colonAt(v, c) == 3
}
