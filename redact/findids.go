package redact

import "strings"

// FindIDs returns every GUID (any form, also embedded: "28:GUID", URL path
// segments), phone number and email address in s, pseudonyms included, in
// order. It looks at s as written: it does not open base64 or percent
// encoding. The replayer uses it to bind recorded pseudonyms to live values.
func FindIDs(s string) []Span {
	b := []byte(s)
	var out []Span
	n := len(b)
	resume := -1
	for i := 0; i < n; {
		c := b[i]
		switch {
		case isAlnum(c) && (i == 0 || !isAlnum(b[i-1]) || i == resume):
			w := i
			for w < n && isAlnum(b[w]) {
				w++
			}
			s0 := i
			if i > 0 && b[i-1] == '%' && w-i > 2 && isHex(b[i]) && isHex(b[i+1]) {
				s0 = i + 2
			}
			limit, dashed := w, w < n && b[w] == '-' && w-s0 >= 8 && isDashedGUID(b, w-8)
			if dashed {
				limit = w - 8
			}
			if limit-s0 >= 32 {
				for k := s0; k+32 <= limit; {
					if !isHex(b[k]) {
						k++
						continue
					}
					j := k
					for j < limit && isHex(b[j]) {
						j++
					}
					if j-k == 32 && hasHexLetter(b[k:j]) {
						out = append(out, guidSpan(b, k, j))
					}
					k = j
				}
			}
			if dashed {
				out = append(out, guidSpan(b, w-8, w+28))
				i = w + 28
				resume = i
				continue
			}
			i = w
			continue
		case c == '+' && boundaryBefore(b, i):
			if sp, ok := phoneSpan(b, i, i+1, FormPhone); ok {
				out = append(out, sp)
				i = sp.End
				continue
			}
		case c == '%' && i+2 < n && b[i+1] == '2' && (b[i+2] == 'B' || b[i+2] == 'b') && boundaryBefore(b, i):
			if sp, ok := phoneSpan(b, i, i+3, FormPhoneURLEncoded); ok {
				out = append(out, sp)
				i = sp.End
				continue
			}
		case c == '@' || (c == '%' && i+2 < n && b[i+1] == '4' && b[i+2] == '0'):
			atLen := 1
			if c == '%' {
				atLen = 3
			}
			// Reuse the engine's address rules on a scratch pass; pseudonyms count here.
			p := &pass{}
			if e := p.email(b, i, atLen); e > 0 {
				start := emailStart(b, i)
				if start < i {
					for len(out) > 0 && out[len(out)-1].End > start {
						out = out[:len(out)-1]
					}
					form := FormEmail
					if atLen == 3 {
						form = FormEmailURLEncoded
					}
					addr := strings.ToLower(strings.Replace(string(b[start:e]), "%40", "@", 1))
					out = append(out, Span{Start: start, End: e, Form: form, Key: addr})
				}
				i = e
				continue
			}
		}
		i++
	}
	return out
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

func phoneSpan(b []byte, at, d int, f Form) (Span, bool) {
	e := d
	for e < len(b) && isDigit(b[e]) {
		e++
	}
	if k := e - d; k < minPhoneDigits || k > maxPhoneDigits || (e < len(b) && isAlnum(b[e])) {
		return Span{}, false
	}
	return Span{Start: at, End: e, Form: f, Key: string(b[d:e])}, true
}

// emailStart finds where the local part before the at sign at i begins.
func emailStart(b []byte, at int) int {
	ls := at
	for ls > 0 && cls[b[ls-1]]&clsLocal != 0 {
		ls--
	}
	if ls > 0 && b[ls-1] == '%' && at-ls >= 2 && isHex(b[ls]) && isHex(b[ls+1]) {
		ls += 2
	}
	for ls < at && b[ls] == '.' {
		ls++
	}
	return ls
}
