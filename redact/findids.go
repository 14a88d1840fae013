package redact

import "strings"

// FindIDs returns every identifier in s that the replayer can bind, pseudonyms
// included, in order: GUIDs (any form, also embedded: "28:GUID", URL path
// segments), phone numbers in any written form ("+12345678901", "%2B1...",
// "+1 206-485-3005", the digits of "4:1425..."), email addresses, Teams
// thread and chat ids, and the conference id of a dial string
// ("tel:+1...,,<id>#") or of a dial-in page's query ("?id=<id>"). It looks
// at s as written: it does not open base64 or percent encoding.
//
// It runs the recognisers the Redactor runs, so every pseudonym a Redactor
// issues inside a text is found where it would find the original. Values
// that only a field name tells apart (numeric ids, "id0001", MAC addresses,
// documentation addresses) are whole values: IsPseudonym recognises them.
func FindIDs(s string) []Span {
	b := viewBytes(s)
	p := passes.Get().(*pass)
	defer p.release()
	*p = pass{depth: maxDepth, ids: true, spans: p.spans[:0], scratch: p.scratch[:0]}
	p.scan(b, 0)
	var out []Span
	for _, x := range p.spans {
		if sp, ok := idSpan(b, x); ok {
			out = append(out, sp)
		}
	}
	return out
}

// idSpan turns a span the recognisers found into the Span FindIDs hands
// out; ok is false for what is no bindable identifier (secrets, names,
// hosts, addresses).
func idSpan(b []byte, x span) (Span, bool) {
	switch x.kind {
	case kGUID:
		return guidSpan(b, x.start, x.end), true
	case kPhone:
		// The recognisers span a number's digits; its plus sign (or
		// "%2B") belongs to the form. A number found without one
		// ("4:1425...", "1-425-555-0100") is written as digits.
		key := string(phoneDigits(nil, b[x.start:x.end]))
		switch {
		case x.form == FormPhone && x.start >= 1 && b[x.start-1] == '+':
			return Span{Start: x.start - 1, End: x.end, Form: FormPhone, Key: key}, true
		case x.form == FormPhoneURLEncoded && x.start >= 3:
			return Span{Start: x.start - 3, End: x.end, Form: FormPhoneURLEncoded, Key: key}, true
		}
		return Span{Start: x.start, End: x.end, Form: FormDigits, Key: key}, true
	case kEmail:
		addr := strings.ToLower(string(b[x.start:x.end]))
		if x.form == FormEmailURLEncoded {
			addr = strings.Replace(addr, "%40", "@", 1)
		}
		return Span{Start: x.start, End: x.end, Form: x.form, Key: addr}, true
	case kThread:
		key, encoded := threadKey(b[x.start:x.end])
		f := FormThread
		if encoded {
			f = FormThreadURLEncoded
		}
		return Span{Start: x.start, End: x.end, Form: f, Key: key}, true
	case kField:
		if uint8(x.form) == fieldID && isAllDigits(b[x.start:x.end]) {
			return Span{Start: x.start, End: x.end, Form: FormDigits, Key: string(b[x.start:x.end])}, true
		}
	}
	return Span{}, false
}

func guidSpan(b []byte, s, e int) Span {
	t := b[s:e]
	f := guidForm(t)
	if s > 0 && e < len(b) && b[s-1] == '{' && b[e] == '}' && len(t) == 36 {
		s, e = s-1, e+1
		if f == FormGUIDUpper {
			f = FormGUIDBracedUpper
		} else {
			f = FormGUIDBracedLower
		}
	}
	return Span{Start: s, End: e, Form: f, Key: string(appendGUID(nil, parseGUIDBytes(t), FormGUIDLower))}
}
