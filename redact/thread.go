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
// id gets the same pseudonym in a body, a URL, a percent-encoded joinWebUrl
// (opened by the percent layer) or base64 context (opened by b64).

// threadPseudo starts the inside of a thread id pseudonym, after the
// optional "meeting_": a word no real base64 id is, followed by the number.
const threadPseudo = "c0ffee"

// threadBody reports whether c may be inside a thread id.
func threadBody(c byte) bool {
	return cls[c]&(clsB64|clsB64URL) != 0 || c == '.' || c == '='
}

// threadAt handles a thread id whose colon is at src[i]; it returns the
// end of the id, or 0 when there is none there.
func (p *pass) threadAt(src []byte, i int) int {
	ws := i
	for ws > 0 && isDigit(src[ws-1]) && i-ws < 3 {
		ws--
	}
	prefix := string(src[ws:i])
	if (prefix != "19" && prefix != "48" && prefix != "1") || !boundaryBefore(src, ws) || (ws > 0 && src[ws-1] == ':') {
		return 0
	}
	e, ds := threadEnd(src, i, prefix)
	if e == 0 {
		return 0
	}
	if isPseudonymThread(src[i+1 : ds]) {
		return e
	}
	p.add(span{start: ws, end: e, kind: kThread, form: FormThread})
	return e
}

// threadEnd measures the id after the colon at i: the inside, and for "19:"
// and "1:" an at sign and a domain ("thread.v2", "unq.gbl.spaces").
// It returns the id's end and where the inside ends (the at sign, or e).
func threadEnd(src []byte, i int, prefix string) (e, insideEnd int) {
	n := len(src)
	b := i + 1
	j := b
	for j < n && threadBody(src[j]) && src[j] != '@' {
		j++
	}
	if prefix == "48" {
		for j > b && (src[j-1] == '.' || src[j-1] == '-') {
			j-- // sentence punctuation after the id
		}
		if j-b < 3 || (j < n && src[j] == '@') {
			return 0, 0
		}
		return j, j
	}
	if j == b || j >= n || src[j] != '@' {
		return 0, 0
	}
	ds := j + 1
	de := ds
	for de < n && cls[src[de]]&clsHost != 0 {
		de++
	}
	for de > ds && (src[de-1] == '.' || src[de-1] == '-') {
		de--
	}
	dom := src[ds:de]
	if prefix == "19" && !hasPrefixFold(dom, "thread.") && !equalFold(dom, "unq.gbl.spaces") {
		return 0, 0
	}
	if len(dom) < 3 || bytes.IndexByte(dom, '.') < 0 {
		return 0, 0
	}
	return de, j
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

// appendThread appends the pseudonym of thread id v (as threadAt found it).
func (r *Redactor) appendThread(dst, v []byte) []byte {
	c := bytes.IndexByte(v, ':')
	h := hashBytes(v)
	n, ok := r.threads.get(h, viewString(v))
	if !ok {
		n, _ = issueNum(r, &r.threads, &idEntry[string]{key: string(v), hash: h}, &r.threadN, pseudonym{kind: kThread})
	}
	dst = append(dst, v[:c+1]...)
	if bytes.HasPrefix(v[c+1:], []byte("meeting_")) {
		dst = append(dst, "meeting_"...)
	}
	dst = strconv.AppendInt(append(dst, threadPseudo...), int64(n), 10)
	if at := bytes.LastIndexByte(v, '@'); at > c {
		dom := v[at+1:]
		var buf [64]byte
		lower := appendLower(buf[:0], dom)
		if hasPrefixFold(dom, "thread.") || equalFold(dom, "unq.gbl.spaces") || isKeptHost(string(lower)) {
			dst = append(append(dst, '@'), dom...)
		} else {
			dst = append(dst, "@example.invalid"...)
		}
	}
	return dst
}
