package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// This file is the corpus test's own idea of what an identifier is. It
// deliberately shares nothing with package redact, whose work it judges:
// a few regular expressions per kind and a list of field names, broad
// rather than clever.

// idKind names a kind of identifier.
type idKind string

const (
	kindGUID    idKind = "guid"
	kindTenant  idKind = "tenant-id"
	kindJWT     idKind = "jwt"
	kindMRI     idKind = "mri"
	kindPhone   idKind = "phone"
	kindName    idKind = "display-name"
	kindEmail   idKind = "email/upn"
	kindThread  idKind = "thread-id"
	kindMeeting idKind = "meeting-id" // conference id, joinMeetingId, passcode, videoTeleconferenceId
	kindIP      idKind = "ip"
	kindMAC     idKind = "mac"
	kindWifi    idKind = "bssid/ssid"
	kindDevice  idKind = "device-name"
	kindHost    idKind = "host" // callback and other bot hosts in URLs
)

var allKinds = []idKind{kindGUID, kindTenant, kindJWT, kindMRI, kindPhone, kindName, kindEmail,
	kindThread, kindMeeting, kindIP, kindMAC, kindWifi, kindDevice, kindHost}

// corpusText is some text of the corpus and the file it comes from.
type corpusText struct {
	file string
	data []byte
}

// corpusID is one identifier of the corpus. value is canonical for guids
// (32 lower-case hex digits) and phones (the digits); the written value
// otherwise.
type corpusID struct {
	kind  idKind
	value string
	file  string // the first corpus file it was found in
}

// Exclusions, each with its reason. Nothing else is exempt.
var (
	// nilGUIDHex identifies nothing; redact documents that it keeps it
	// (redact/guid.go, nilGUID; redact/scan.go lists it as not reported).
	nilGUIDHex = strings.Repeat("0", 32)
	// placeholders are documentation stand-ins, not values: the docs print
	// a property's type or an elision where an example value would go.
	placeholders = map[string]bool{"": true, "string": true, "id": true, "url": true, "(redacted)": true,
		"xxxxxxx": true, "null": true, "callbackuri-value": true}
	// keptHostSuffixes are the hosts redact documents that it keeps
	// (redact/names.go: Microsoft's, the documentation domains, loopback):
	// the rest of a URL's host names are the bot's and must not survive.
	keptHostSuffixes = []string{"microsoft.com", "microsoftonline.com", "skype.com", "lync.com",
		"botframework.com", "windows.net", "azure.com", "azure.net", "office.com", "office.net",
		"office365.com", "live.com", "sharepoint.com", "aka.ms", "trafficmanager.net",
		"example.com", "example.org", "example.net", "example.invalid", "localhost"}
)

// keptAddr reports whether redact documents keeping a (redact/engine.go,
// keepAddr: loopback, unspecified, broadcast, documentation ranges).
func keptAddr(a netip.Addr) bool {
	a = a.Unmap()
	doc := []string{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"}
	for _, d := range doc {
		if netip.MustParsePrefix(d).Contains(a) {
			return true
		}
	}
	return a.IsLoopback() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

var (
	reGUIDDashed = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	reHexRun     = regexp.MustCompile(`[0-9a-fA-F]{32,}`)
	reTenant     = regexp.MustCompile(`(?i)"?\b(?:tenantId|tid|tenant)"?\s*[:=]\s*"?\{?([0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12})`)
	reJWT        = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*`)
	reMRI        = regexp.MustCompile(`(?:^|[^0-9A-Za-z:])((?:8:orgid|8:teamsvisitor|8:acs|8:gid|8:guest|8:sfb|28|4):[A-Za-z0-9+._:@{}-]{4,})`)
	rePhonePlus  = regexp.MustCompile(`(?:tel:)?\+\d[\d ().\-]{5,}\d`)
	reEmail      = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`)
	reThread     = regexp.MustCompile(`(?i)\b(?:19|48):[^\s"'<>/?&#\\]+?@(?:thread\.v2|thread\.skype|thread\.tacv2|unq\.gbl\.spaces)|\b48:[A-Za-z0-9._-]{4,}`)
	reMAC        = regexp.MustCompile(`\b[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5,7}\b`)
	reURLHost    = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://([a-z0-9.-]+)`)
	reDialinID   = regexp.MustCompile(`(?i)dialin[^"\s]*[?&]id=([0-9]{4,})`)
	rePhoneObj   = regexp.MustCompile(`"phone"\s*:\s*\{[^{}]*?"id"\s*:\s*"([^"]+)"`)
	// reField finds "key": "string" and "key": number pairs, in valid JSON
	// or not (the corpus has trailing commas and comments).
	reField = regexp.MustCompile(`"([A-Za-z@._]+)"\s*:\s*(?:"((?:[^"\\]|\\.)*)"|(-?[0-9]+))`)
	// reFieldArray finds "key": ["a", "b"] string arrays (tollFreeNumbers).
	reFieldArray = regexp.MustCompile(`"([A-Za-z]+)"\s*:\s*\[([^\[\]]*)\]`)
	reQuoted     = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`)
	reDigitRun   = regexp.MustCompile(`\d[\d ().\-/]*\d`)
)

// plainFinds are the kinds a regular expression finds with nothing more
// to decide: every match (its group, 0 = the whole match) is one. Each
// kind here comes from its expression alone, or before what the fields
// give (corpusIDs), so the order in which kinds are found is kept.
var plainFinds = []struct {
	kind  idKind
	re    *regexp.Regexp
	group int
}{
	{kindJWT, reJWT, 0},
	{kindMRI, reMRI, 1},
	{kindThread, reThread, 0},
	{kindMAC, reMAC, 0},
	{kindHost, reURLHost, 1},
	{kindMeeting, reDialinID, 1},
}

// Field names (lower case) whose values are identifiers whatever they look like.
var fieldKinds = map[string]idKind{
	"displayname":           kindName,
	"tollnumber":            kindPhone,
	"tollfreenumber":        kindPhone,
	"tollfreenumbers":       kindPhone,
	"phonenumber":           kindPhone,
	"phone":                 kindPhone,
	"conferenceid":          kindMeeting,
	"joinmeetingid":         kindMeeting,
	"passcode":              kindMeeting,
	"videoteleconferenceid": kindMeeting,
	"threadid":              kindThread,
	"userprincipalname":     kindEmail,
	"upn":                   kindEmail,
	"ipaddress":             kindIP,
	"subnet":                kindIP,
	"reflexiveipaddress":    kindIP,
	"relayipaddress":        kindIP,
	"macaddress":            kindMAC,
	"bssid":                 kindWifi,
	"ssid":                  kindWifi,
	"wifissid":              kindWifi,
	"devicename":            kindDevice,
	"capturedevicename":     kindDevice,
	"renderdevicename":      kindDevice,
}

// corpusIDs lists every identifier of texts (and of their decoded forms), once each.
func corpusIDs(texts []corpusText) []corpusID {
	seen := map[string]bool{}
	var ids []corpusID
	add := func(k idKind, v, file string) {
		v = strings.TrimSpace(v)
		if placeholders[strings.ToLower(v)] {
			return
		}
		switch k {
		case kindGUID, kindTenant:
			v = strings.ToLower(strings.NewReplacer("-", "", "{", "", "}", "").Replace(v))
			if v == nilGUIDHex || len(v) != 32 {
				return
			}
		case kindPhone:
			v = digitsOf(v)
			if len(v) < 7 || len(v) > 15 {
				return
			}
		case kindIP:
			a, err := netip.ParseAddr(v)
			if err != nil {
				if pf, err := netip.ParsePrefix(v); err == nil {
					a = pf.Addr()
				} else {
					return
				}
			}
			if keptAddr(a) {
				return
			}
		case kindMAC:
			// An all-zero MAC (six or eight groups) or 02-00-00-00-00-00 is
			// "no address", what call records report when privacy settings
			// hide the device: it identifies nothing, and redact documents
			// that it keeps it (redact/fields.go, isNoMAC).
			if h := strings.NewReplacer("-", "", ":", "").Replace(v); strings.Trim(h, "0") == "" || strings.Trim(h, "0") == "2" && h[:2] == "02" {
				return
			}
		case kindHost:
			v = strings.ToLower(strings.TrimSuffix(v, "."))
			if _, err := netip.ParseAddr(v); err == nil || !strings.Contains(v, ".") {
				return
			}
			for _, s := range keptHostSuffixes {
				if v == s || strings.HasSuffix(v, "."+s) {
					return
				}
			}
		}
		if len(v) < 3 {
			return
		}
		key := string(k) + "\x00" + v
		if seen[key] {
			return
		}
		seen[key] = true
		ids = append(ids, corpusID{kind: k, value: v, file: file})
	}
	for _, tx := range texts {
		for _, f := range decodedForms(tx.data) {
			s := string(f.data)
			// Tenants first: a GUID that is a tenant id is listed as one.
			for _, m := range reTenant.FindAllStringSubmatch(s, -1) {
				add(kindTenant, m[1], tx.file)
			}
			for _, g := range reGUIDDashed.FindAllString(s, -1) {
				if !seen[string(kindTenant)+"\x00"+strings.ToLower(strings.ReplaceAll(g, "-", ""))] {
					add(kindGUID, g, tx.file)
				}
			}
			for _, run := range reHexRun.FindAllString(s, -1) {
				if len(run) == 32 && strings.ContainsAny(run, "abcdefABCDEF") {
					if !seen[string(kindTenant)+"\x00"+strings.ToLower(run)] {
						add(kindGUID, run, tx.file)
					}
				}
			}
			for _, f := range plainFinds {
				for _, m := range f.re.FindAllStringSubmatch(s, -1) {
					add(f.kind, m[f.group], tx.file)
				}
			}
			for _, loc := range rePhonePlus.FindAllStringIndex(s, -1) {
				if loc[1] < len(s) && s[loc[1]] == '*' {
					// "+12345678***": Graph masked it itself (call records'
					// callerNumber); the prefix left names no subscriber.
					continue
				}
				add(kindPhone, s[loc[0]:loc[1]], tx.file)
			}
			for _, m := range rePhoneObj.FindAllStringSubmatch(s, -1) {
				add(kindPhone, m[1], tx.file)
			}
			for _, e := range reEmail.FindAllString(s, -1) {
				dom := strings.ToLower(e[strings.LastIndexByte(e, '@')+1:])
				if !strings.HasPrefix(dom, "thread.") && !strings.HasPrefix(dom, "unq.gbl.") {
					add(kindEmail, e, tx.file) // thread ids are listed as such
				}
			}
			for _, m := range reField.FindAllStringSubmatch(s, -1) {
				k, ok := fieldKinds[strings.ToLower(m[1])]
				if !ok {
					continue
				}
				v := m[3]
				if m[3] == "" {
					v = jsonUnquote(m[2])
				}
				if lk := strings.ToLower(m[1]); strings.EqualFold(v, lk) || strings.EqualFold(v, lk+"-value") {
					continue // a placeholder naming its field: "upn": "upn-value"
				}
				switch {
				case k == kindPhone && strings.Trim(strings.TrimPrefix(v, "tel:"), "0123456789+-(). ") != "":
					continue // not written as a number: nothing to compare digits with
				case k == kindThread && reGUIDDashed.MatchString(v):
					continue // a GUID: listed as one
				case k == kindEmail && !strings.Contains(v, "@"):
					k = kindName
				case k == kindName && rePhonePlus.MatchString(v):
					add(kindPhone, v, tx.file)
				}
				add(k, v, tx.file)
			}
			for _, m := range reFieldArray.FindAllStringSubmatch(s, -1) {
				if fieldKinds[strings.ToLower(m[1])] != kindPhone {
					continue
				}
				for _, q := range reQuoted.FindAllStringSubmatch(m[2], -1) {
					add(kindPhone, jsonUnquote(q[1]), tx.file)
				}
			}
		}
	}
	return ids
}

func jsonUnquote(s string) string {
	var v string
	if err := json.Unmarshal([]byte(`"`+s+`"`), &v); err != nil {
		return s
	}
	return v
}

func digitsOf(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// phoneNeedle is what of a phone number's digits must not appear: its last
// ten digits (the national number, whatever country code or trunk prefix
// is written), or all of them when shorter.
func phoneNeedle(digits string) string {
	if len(digits) > 10 {
		return digits[len(digits)-10:]
	}
	return digits
}

// form is one way of reading some bytes: as written, or decoded.
type form struct {
	how  string
	data []byte
}

// decodedForms returns data as written and every decoding of it that
// differs: JSON-unescaped, %-decoded, base64-decoded (runs of 16 or more
// base64 characters that decode to text) and gunzipped, nested up to three
// deep.
func decodedForms(data []byte) []form {
	out := []form{{"raw", data}}
	seen := map[string]bool{string(data): true}
	for i := 0; i < len(out) && i < 64; i++ {
		f := out[i]
		if strings.Count(f.how, ",") >= 3 {
			continue
		}
		var next []form
		if bytes.IndexByte(f.data, '\\') >= 0 {
			next = append(next, form{"json-unescaped", jsonUnescape(f.data)})
		}
		if bytes.IndexByte(f.data, '%') >= 0 {
			next = append(next, form{"%-decoded", pctDecode(f.data)})
		}
		if len(f.data) > 2 && f.data[0] == 0x1f && f.data[1] == 0x8b {
			if zr, err := gzip.NewReader(bytes.NewReader(f.data)); err == nil {
				if b, err := io.ReadAll(io.LimitReader(zr, 64<<20)); err == nil {
					next = append(next, form{"gunzipped", b})
				}
			}
		}
		for _, b := range base64Texts(f.data) {
			next = append(next, form{"base64-decoded", b})
		}
		for _, n := range next {
			if seen[string(n.data)] {
				continue
			}
			seen[string(n.data)] = true
			how := n.how
			if f.how != "raw" {
				how = f.how + "," + n.how
			}
			out = append(out, form{how, n.data})
		}
	}
	return out
}

// jsonUnescape decodes every backslash escape of JSON strings in b,
// wherever it is (JSON in a string of JSON in a body is escaped twice).
func jsonUnescape(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 == len(b) {
			out = append(out, c)
			continue
		}
		i++
		switch b[i] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b', 'f':
		case 'u':
			if i+4 < len(b) {
				var r rune
				ok := true
				for _, h := range b[i+1 : i+5] {
					d := strings.IndexByte("0123456789abcdef", h|0x20)
					if d < 0 {
						ok = false
						break
					}
					r = r<<4 | rune(d)
				}
				if ok {
					out = utf8.AppendRune(out, r)
					i += 4
					continue
				}
			}
			out = append(out, '\\', 'u')
		default:
			out = append(out, b[i])
		}
	}
	return out
}

// pctDecode decodes every valid %XX in b, leaving the rest (and '+') as is.
func pctDecode(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] == '%' && i+2 < len(b) {
			if v, err := url.PathUnescape(string(b[i : i+3])); err == nil {
				out = append(out, v...)
				i += 2
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}

var reBase64Run = regexp.MustCompile(`[A-Za-z0-9+/_-]{16,}={0,2}`)

// base64Texts decodes the base64 runs of b (standard or URL alphabet,
// padded or not; also the parts between '_' and '-', as in
// "19:meeting_<base64>") and keeps those that decode to text or gzip.
func base64Texts(b []byte) [][]byte {
	var out [][]byte
	try := func(s string) {
		s = strings.TrimRight(s, "=")
		if len(s) < 16 {
			return
		}
		s = s[:len(s)-len(s)%4] + map[int]string{0: "", 1: "", 2: s[len(s)-2:], 3: s[len(s)-3:]}[len(s)%4]
		if len(s)%4 == 1 {
			s = s[:len(s)-1]
		}
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			d, err := enc.DecodeString(s)
			if err != nil {
				continue
			}
			if (len(d) > 2 && d[0] == 0x1f && d[1] == 0x8b) || isText(d) {
				out = append(out, d)
			}
			return
		}
	}
	for _, run := range reBase64Run.FindAll(b, -1) {
		try(string(run))
		if bytes.ContainsAny(run, "_-") {
			for _, part := range strings.FieldsFunc(string(run), func(r rune) bool { return r == '_' || r == '-' }) {
				try(part)
			}
		}
	}
	return out
}

// isText reports whether d is UTF-8 made mostly of printable characters.
func isText(d []byte) bool {
	if len(d) < 8 || !utf8.Valid(d) {
		return false
	}
	printable := 0
	for _, c := range d {
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' || c >= 0x80 {
			printable++
		}
	}
	return printable*10 >= len(d)*9
}

// haystack is everything the recording produced, piece by piece, each
// piece under a name saying where it is, in all its decoded forms.
type haystack struct {
	pieces []piece
}

type piece struct {
	where string
	forms []form
	lower [][]byte
	guids []map[string]bool // per form: 32-hex lower-case GUIDs
	digit [][]string        // per form: digit runs, separators removed
}

func newHaystack() *haystack { return &haystack{} }

func (h *haystack) add(where string, data []byte) {
	if len(data) == 0 {
		return
	}
	p := piece{where: where, forms: decodedForms(data)}
	for _, f := range p.forms {
		p.lower = append(p.lower, bytes.ToLower(f.data))
		g := map[string]bool{}
		for _, m := range reGUIDDashed.FindAll(f.data, -1) {
			g[strings.ToLower(strings.ReplaceAll(string(m), "-", ""))] = true
		}
		for _, run := range reHexRun.FindAll(f.data, -1) {
			for i := 0; i+32 <= len(run); i++ {
				g[strings.ToLower(string(run[i:i+32]))] = true
			}
		}
		p.guids = append(p.guids, g)
		var runs []string
		for _, m := range reDigitRun.FindAll(f.data, -1) {
			if d := digitsOf(string(m)); len(d) >= 7 {
				runs = append(runs, d)
			}
		}
		p.digit = append(p.digit, runs)
	}
	h.pieces = append(h.pieces, p)
}

// find returns where id is seen, naming the form it was seen in.
func (h *haystack) find(id corpusID) []string {
	var where []string
	for _, p := range h.pieces {
		for i, f := range p.forms {
			if h.inForm(id, p, i) {
				w := p.where
				if f.how != "raw" {
					w += " (" + f.how + ")"
				}
				where = append(where, w)
				break
			}
		}
	}
	return where
}

func (h *haystack) inForm(id corpusID, p piece, i int) bool {
	switch id.kind {
	case kindGUID, kindTenant:
		return p.guids[i][id.value]
	case kindPhone:
		n := phoneNeedle(id.value)
		for _, run := range p.digit[i] {
			if strings.Contains(run, n) {
				return true
			}
		}
		return false
	case kindEmail, kindHost, kindThread, kindMRI, kindMAC, kindIP:
		return containsBounded(p.lower[i], []byte(strings.ToLower(id.value)), id.kind == kindIP)
	default: // names, meeting ids, devices, wifi, JWTs: as written
		return containsBounded(p.forms[i].data, []byte(id.value), false)
	}
}

// containsBounded reports whether needle occurs in hay not glued to a
// letter, digit, '_' or '@' on either side (so "Bob" is not found in
// "Bobby" nor "user1" in a pseudonym "user12@..."); for an IP address a
// neighbouring '.' and digit count as glued too.
func containsBounded(hay, needle []byte, ip bool) bool {
	glued := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '@'
	}
	first, last := needle[0], needle[len(needle)-1]
	for off := 0; ; {
		j := bytes.Index(hay[off:], needle)
		if j < 0 {
			return false
		}
		s, e := off+j, off+j+len(needle)
		ok := true
		if s > 0 && glued(first) && glued(hay[s-1]) {
			ok = false
		}
		if e < len(hay) && glued(last) && glued(hay[e]) {
			ok = false
		}
		if ip && ((s > 1 && hay[s-1] == '.' && hay[s-2] >= '0' && hay[s-2] <= '9') || (e+1 < len(hay) && hay[e] == '.' && hay[e+1] >= '0' && hay[e+1] <= '9')) {
			ok = false
		}
		if ok {
			return true
		}
		off = s + 1
	}
}

// mask shows enough of an identifier to recognise it in a report and not
// enough to publish it again.
func mask(v string) string {
	r := []rune(v)
	if len(r) <= 4 {
		return string(r[:1]) + strings.Repeat("*", len(r)-1)
	}
	keep := 2
	if len(r) >= 12 {
		keep = 4
	}
	return string(r[:keep]) + strings.Repeat("*", len(r)-2*keep) + string(r[len(r)-keep:])
}
