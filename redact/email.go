package redact

import (
	"bytes"
)

// Email addresses and UPNs, "user@contoso.com" or percent-encoded
// "user%40contoso.com" in a URL: found around their at sign, replaced by
// "user<N>@example.invalid"; an address under example.invalid is a pseudonym.

// email finds an address around the at sign at src[at:at+atLen] ("@" or "%40").
func (p *pass) email(src []byte, at, atLen int) int {
	n := len(src)
	ls := at
	for ls > 0 && cls[src[ls-1]]&clsLocal != 0 {
		ls--
	}
	if ls > 0 && src[ls-1] == '%' && at-ls >= 2 && isHex(src[ls]) && isHex(src[ls+1]) {
		ls += 2 // the hex digits of an escape before the address ("%3auser@...")
	}
	// Dots are skipped after the barrier is applied: a local part cut by
	// a match before it ("2001:db8::1.@x.com") starts after its dots, as
	// the same text would without the match.
	ls = max(ls, p.barrier)
	for ls < at && src[ls] == '.' {
		ls++
	}
	ds := at + atLen
	e, labels, lastAlpha, lastLen := ds, 0, true, 0
	for {
		j := e
		alpha := true
		for j < n && (isAlnum(src[j]) || src[j] == '-') {
			alpha = alpha && !isDigit(src[j]) && src[j] != '-'
			j++
		}
		if j == e {
			break
		}
		labels++
		lastAlpha, lastLen = alpha, j-e
		e = j
		if e+1 < n && src[e] == '.' && isAlnum(src[e+1]) {
			e++
			continue
		}
		break
	}
	if ls >= at || labels < 2 || !lastAlpha || lastLen < 2 {
		return 0
	}
	if string(src[ls:at]) == Removed {
		// A removed secret before an at sign ("Bearer .@x.com": the token
		// was "."), not a local part it could have been part of.
		return 0
	}
	if bytes.HasSuffix(src[e-lastLen:e], []byte(Removed)) {
		// A removed secret, not a top-level domain: "x@y.eyJ...<JWT>" (or
		// "x@y.AeyJ...", the token glued to a word) has no address until
		// the token becomes the marker, and must not gain one when
		// redacted again. A token always ends the label it is in.
		return 0
	}
	dom := src[ds:e]
	if hasPrefixFold(dom, "thread.") || equalFold(dom, "unq.gbl.spaces") {
		return 0 // Teams thread ids ("19:...@thread.v2") are not addresses
	}
	if equalFold(dom, "example.invalid") || (len(dom) > 16 && equalFold(dom[len(dom)-16:], ".example.invalid")) {
		// Already redacted: no real address lives under example.invalid.
		// A pseudonym stays whole, like an address replaced: what was
		// found inside its local part ("Bearer user1@...") is not replaced.
		if ls < at && IsPseudonym(string(src[ls:e])) {
			for len(p.spans) > 0 && p.spans[len(p.spans)-1].start >= ls {
				p.spans = p.spans[:len(p.spans)-1]
			}
			if p.ids {
				p.add(span{start: ls, end: e, kind: kEmail, form: emailForm(atLen)})
			}
		}
		p.barrier = e
		return e
	}
	// The address covers anything found in its local part already.
	for len(p.spans) > 0 && p.spans[len(p.spans)-1].end > ls {
		last := p.spans[len(p.spans)-1]
		if last.start < ls {
			ls = last.end
			break
		}
		p.spans = p.spans[:len(p.spans)-1]
	}
	if ls >= at {
		return 0
	}
	p.add(span{start: ls, end: e, kind: kEmail, form: emailForm(atLen)})
	p.barrier = e
	return e
}

// emailForm is the form of an address whose at sign is atLen long.
func emailForm(atLen int) Form {
	if atLen == 3 {
		return FormEmailURLEncoded
	}
	return FormEmail
}

// emailNum returns the pseudonym number of an address (lower case, "@").
func (r *Redactor) emailNum(addr []byte) int {
	h := hashBytes(addr)
	if n, ok := r.emails.get(h, viewString(addr)); ok {
		return n
	}
	n, _ := issueNum(r, &r.emails, &idEntry[string]{key: string(addr), hash: h}, &r.emailN, pseudonym{kind: kEmail})
	return n
}
