package redact

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Some identifiers have no shape to find them by: a meeting's conference id
// is a run of digits, its passcode a short word, a Wi-Fi network a name. The
// field table names the JSON fields of the cloud-communications API that
// carry them; a value under such a field is pseudonymised whole, in its own
// format, whatever it looks like. A Policy's Fields extend or override it.

// Field classes: how the value of an identifier field is pseudonymised.
// They share keyClass's numbering, after keyPlain, keySecret and keyName.
const (
	fieldID    = iota + keyName + 1 // an opaque id: digits keep their count ("555000001"), else "id0003"
	fieldIP                         // an IP address: one of the documentation ranges
	fieldMAC                        // a MAC address: 00-00-5E-00-53-xx (RFC 7042), separators and case kept
	fieldPhone                      // a phone number in any written form, with or without '+'
	fieldShape                      // found by shape only (a URL: its host and the ids inside)
	fieldKeep                       // left as is (a Policy's choice)
	fieldLast
)

// fieldClassNames are the class names a policy file uses.
var fieldClassNames = map[string]uint8{
	"id": fieldID, "ip": fieldIP, "mac": fieldMAC, "phone": fieldPhone, "shape": fieldShape,
	"keep": fieldKeep, "name": keyName, "secret": keySecret,
}

// identifierFields is the field table: normalised field name (see normKey)
// to class. Each group names the Graph resources that carry the fields.
var identifierFields = map[string]uint8{
	// onlineMeeting (and its audioConferencing, joinMeetingIdSettings,
	// chatInfo, meetingParticipants); also call.meetingInfo
	// (joinMeetingIdMeetingInfo, organizerMeetingInfo).
	"conferenceid": fieldID, "joinmeetingid": fieldID, "passcode": fieldID,
	"videoteleconferenceid": fieldID, "externalid": fieldID, "dialinurl": fieldShape,
	"tollnumber": fieldPhone, "tollnumbers": fieldPhone, "tollfreenumber": fieldPhone,
	"tollfreenumbers": fieldPhone, "joinweburl": fieldShape, "joinurl": fieldShape,
	"threadid": fieldID, "messageid": fieldID, "replychainmessageid": fieldID,
	"meetingcode": fieldID, "broadcastid": fieldID,
	// call: chatInfo, incomingContext, the ids Graph and the bot exchange;
	// participant: info (participantInfo), mediaStreams, recordingInfo.
	"callchainid": fieldID, "myparticipantid": fieldID, "observedparticipantid": fieldID,
	"sourceparticipantid": fieldID, "participantid": fieldID, "clientcontext": fieldShape,
	"correlationid": fieldShape,
	// Identity sets (call, participant, callRecord, commsNotification's
	// resourceData): user, application, device, phone, guest, encrypted,
	// acsUser, spoolUser, communicationsIdentitySet.
	"userprincipalname": fieldShape, "upn": fieldShape, "phone": fieldPhone,
	"phonenumber": fieldPhone, "phonenumbers": fieldPhone, "callernumber": fieldPhone,
	"calleenumber": fieldPhone, "mobilephone": fieldPhone, "businessphones": fieldPhone,
	// callRecords networkInfo (and traceRoute).
	"ipaddress": fieldIP, "subnet": fieldIP, "reflexiveipaddress": fieldIP,
	"relayipaddress": fieldIP, "macaddress": fieldMAC, "bssid": fieldMAC,
	"basicservicesetidentifier": fieldMAC, "ssid": keyName, "wifissid": keyName,
	"dnssuffix": keyName,
	// callRecords deviceInfo and userAgent; callRecords endpoint and
	// participantEndpoint; session and segment carry these through
	// caller and callee.
	"devicename": keyName, "capturedevicename": keyName, "renderdevicename": keyName,
	"capturedevicedriver": keyName, "renderdevicedriver": keyName, "machinename": keyName,
	"computername": keyName, "hostname": keyName,
	// presence: statusMessage and outOfOfficeSettings carry free text
	// (found by shape and learned values); its ids are GUIDs.
	// commsNotification: resourceUrl and resource are paths (found by
	// shape), clientState is a secret (secretKeys).
	"clientstate": keySecret,
}

// fieldTable is the lookup JSON walks do for every string value: the
// classes, and a bitmap of (first, last) letters that rules most names out.
type fieldTable struct {
	classes map[string]uint8
	ends    [1024]uint64
	// names has a bit per hash (nameHash) of the normalised names:
	// most keys that pass ends ("tenantId", "id") stop here, before
	// the map.
	names  [64]uint64
	maxLen int
}

// nameHash is FNV-1a of a normalised name, folded to 12 bits.
func nameHash(k []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range k {
		h = (h ^ uint32(c)) * 16777619
	}
	return (h ^ h>>12 ^ h>>24) & 4095
}

func newFieldTable(extra map[string]uint8) *fieldTable {
	t := &fieldTable{classes: map[string]uint8{}}
	for _, m := range []map[string]uint8{keyClasses, identifierFields, extra} {
		for k, v := range m {
			t.classes[k] = v
		}
	}
	for k := range t.classes {
		i := uint(k[0])<<8 | uint(k[len(k)-1])
		t.ends[i>>6] |= 1 << (i & 63)
		h := nameHash([]byte(k))
		t.names[h>>6] |= 1 << (h & 63)
		t.maxLen = max(t.maxLen, len(k))
	}
	return t
}

// defaultFields is the table of a Redactor without policy fields, and of Scanner.
var defaultFields = newFieldTable(nil)

// class returns the class of field name k.
func (t *fieldTable) class(k []byte) uint8 {
	if len(k) < 2 || len(k) > 40 {
		return keyPlain
	}
	if i, ok := endsBit(k); !ok || t.ends[i>>6]&(1<<(i&63)) == 0 {
		return keyPlain
	}
	var buf [40]byte
	n := appendNormKey(buf[:0], k)
	if h := nameHash(n); t.names[h>>6]&(1<<(h&63)) == 0 {
		return keyPlain
	}
	return t.classes[string(n)]
}

// parsePolicyFields turns a policy's "fields" into classes.
func parsePolicyFields(m map[string]string) (map[string]uint8, error) {
	out := make(map[string]uint8, len(m))
	for k, v := range m {
		c, ok := fieldClassNames[strings.ToLower(v)]
		if !ok {
			return nil, fmt.Errorf("field %q: unknown class %q (want id, ip, mac, phone, name, secret, shape or keep)", k, v)
		}
		n := normKey([]byte(k))
		if n == "" || len(n) > 40 {
			return nil, fmt.Errorf("field %q: want a field name of 1 to 40 letters", k)
		}
		out[n] = c
	}
	return out, nil
}

// isFieldPseudonym reports whether v, the value of an identifier field,
// is already a pseudonym (or something no class replaces).
func isFieldPseudonym(v []byte) bool {
	// A view, not a copy: this runs for every value of an identifier field.
	if len(v) == 0 || string(v) == Removed || IsPseudonym(viewString(v)) {
		return true
	}
	return isDigitsPseudonym(v) || isOpaquePseudonym(v) || isMACPseudonym(v) || isNoMACText(v) || isPseudonymPhoneText(v) || isWholeThreadPseudonym(v)
}

// isWholeThreadPseudonym reports whether v is, as a whole, a thread id pseudonym.
func isWholeThreadPseudonym(v []byte) bool {
	c := 0
	for c < len(v) && c < 3 && isDigit(v[c]) {
		c++
	}
	if c == 0 || c >= len(v) || colonAt(v, c) == 0 {
		return false
	}
	e, ins, ine := threadEnd(v, c, string(v[:c]))
	return e == len(v) && isPseudonymThread(v[ins:ine])
}

// isIDFieldPseudonym reports whether v is a pseudonym an identifier field's
// value gets and nothing else could be mistaken for: digits "5550..." of
// the length appendDigits issues them at, "id<digits>", or a documentation
// MAC address. Short runs of zeros (what an id under five digits becomes)
// are left out: "0" is too common a literal to match any live value.
func isIDFieldPseudonym(v []byte) bool {
	return (len(v) >= 5 && isDigitsPseudonym(v)) && !allZeros(v) || isOpaquePseudonym(v) || isMACPseudonym(v)
}

func allZeros(v []byte) bool {
	for _, c := range v {
		if c != '0' {
			return false
		}
	}
	return true
}

// isDigitsPseudonym: "555" then a zero, then digits; or zeros only (an id
// too short for the counter).
func isDigitsPseudonym(v []byte) bool {
	zeros := true
	for _, c := range v {
		if !isDigit(c) {
			return false
		}
		zeros = zeros && c == '0'
	}
	return zeros || (len(v) >= 4 && string(v[:4]) == "5550")
}

const opaquePrefix = "id"

// isOpaquePseudonym: "id" then digits.
func isOpaquePseudonym(v []byte) bool {
	return len(v) > len(opaquePrefix) && string(v[:len(opaquePrefix)]) == opaquePrefix && isAllDigits(v[len(opaquePrefix):])
}

// fieldValue returns the replacement of text, the value of a field of
// class fc, appended to dst; nil when it stays.
func (r *Redactor) fieldValue(p *pass, fc uint8, text, dst []byte) []byte {
	if fc == fieldKeep || isFieldPseudonym(text) {
		return nil
	}
	switch fc {
	case fieldShape:
		if o, changed := p.redact(dst, text); changed {
			return o
		}
		return nil
	case fieldIP:
		s := string(text)
		if a, err := netip.ParseAddr(s); err == nil {
			if keepAddr(a) {
				return nil
			}
			return r.ip(a).AppendTo(dst)
		}
		if pf, err := netip.ParsePrefix(s); err == nil {
			if keepAddr(pf.Addr()) {
				return nil
			}
			a := r.ip(pf.Addr())
			return strconv.AppendInt(append(a.AppendTo(dst), '/'), int64(pf.Bits()), 10)
		}
	case fieldMAC:
		if m, groups, sep, ok := parseMAC(text); ok {
			if isNoMAC(m) {
				return nil // "no address": identifies no device
			}
			return r.learnValue(text, dst, r.appendMAC(dst, text, groups, sep))
		}
	case fieldPhone:
		if f := firstDigit(text); f >= 0 {
			if e, _ := phoneWritten(text, f); e == len(text) {
				return r.appendPhoneWritten(append(dst, text[:f]...), text[f:])
			}
		}
		if o, changed := p.redact(dst, text); changed {
			return o // a phone identity's "id" may be anything with a '+' number
		}
	}
	// An id (or a value of another class that is not in its format):
	// what a shape gives away keeps its own pseudonym (a GUID, an MRI
	// around one), anything else is replaced whole.
	if o, changed := p.redact(dst, text); changed {
		return o
	}
	if p.hasShape(text) {
		return nil
	}
	if isAllDigits(text) {
		return r.learnValue(text, dst, r.appendDigits(dst, text))
	}
	return r.learnValue(text, dst, r.appendOpaque(dst, text))
}

// learnValue learns the original of an identifier field's value, whose
// pseudonym is out[len(dst):], so that it is replaced wherever else it
// recurs: a conference id in a dialinUrl's query or in the text of a
// meeting's joinInformation, a passcode in an invitation. It returns out.
func (r *Redactor) learnValue(orig, dst, out []byte) []byte {
	if !learnableID(orig) {
		return out
	}
	if cur := r.lits.Load(); cur != nil {
		for _, l := range cur.list {
			if l.text == viewString(orig) {
				return out
			}
		}
	}
	repl := out[len(dst):]
	r.learnOnce(literal{text: string(orig), repl: string(repl)})
	if len(orig) >= 9 && isAllDigits(orig) && len(repl) == len(orig) {
		// Invitations write meeting and conference ids in groups of
		// three ("Phone conference ID: 736 285 947#").
		r.learnOnce(literal{text: string(groupDigits(orig)), repl: string(groupDigits(repl))})
	}
	return out
}

// groupDigits writes digits in groups of three joined by spaces.
func groupDigits(d []byte) []byte {
	out := make([]byte, 0, len(d)+len(d)/3)
	for i, c := range d {
		if i > 0 && i%3 == 0 {
			out = append(out, ' ')
		}
		out = append(out, c)
	}
	return out
}

// learnableID reports whether an identifier value is distinctive enough to
// be replaced wherever it recurs: what learnable accepts, or six digits or more.
func learnableID(v []byte) bool {
	return learnable(viewString(v)) || (len(v) >= 6 && isAllDigits(v))
}

// hasShape reports whether v holds an id a shape finds, original or
// pseudonym: such a value is left to the shapes, so an MRI around a GUID
// pseudonym ("8:orgid:c0ffee00-...") stays what it is.
func (p *pass) hasShape(v []byte) bool {
	if len(FindIDs(string(v))) > 0 || IsPseudonym(string(v)) || layerHoldsID(v) {
		return true
	}
	q := p.sub()
	defer q.release()
	q.r = nil // probe: nothing is issued
	q.report = nil
	q.find(v)
	return len(q.spans) > 0
}

func firstDigit(b []byte) int {
	for i, c := range b {
		if isDigit(c) {
			return i
		}
	}
	return -1
}

func isAllDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return len(b) > 0
}

// appendDigits appends the pseudonym of a numeric id, with its digit count.
func (r *Redactor) appendDigits(dst, v []byte) []byte {
	if len(v) < 5 {
		for range v {
			dst = append(dst, '0')
		}
		return dst
	}
	return appendPhonePseudonym(dst, r.phoneNum(v), len(v))
}

// appendOpaque appends "id" and the value's number, zero-padded to the
// original's length when it is long enough.
func (r *Redactor) appendOpaque(dst, v []byte) []byte {
	h := hashBytes(v)
	n, ok := r.opaques.get(h, viewString(v))
	if !ok {
		n, _ = issueNum(r, &r.opaques, &idEntry[string]{key: string(v), hash: h}, &r.opaqueN, pseudonym{kind: kField})
	}
	var buf [20]byte
	d := strconv.AppendInt(buf[:0], int64(n), 10)
	dst = append(dst, opaquePrefix...)
	for k := len(opaquePrefix) + len(d); k < len(v); k++ {
		dst = append(dst, '0')
	}
	return append(dst, d...)
}

// quotedPair handles `"key": "value"` in text that is not parsed as JSON
// (invalid JSON, JSON inside a string): secret values are removed and names
// pseudonymised, as the JSON walker does for parsed JSON.
func (p *pass) quotedPair(src []byte, i int) int {
	n := len(src)
	ks := i + 1
	ke := ks
	for ke < n && ke-ks <= 40 && cls[src[ke]]&(clsKey) != 0 {
		ke++
	}
	if ke >= n || src[ke] != '"' || ke == ks {
		return 0
	}
	key := src[ks:ke]
	tab := defaultFields
	if p.r != nil {
		tab = p.r.fields
	}
	fc := tab.class(key)
	secret, name := fc == keySecret, fc == keyName
	field := fc > keyName && fc != fieldShape && fc != fieldKeep
	if !secret && !name && !field {
		return 0
	}
	j := ke + 1
	for j < n && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n' || src[j] == '\r') {
		j++
	}
	if j >= n || src[j] != ':' {
		return 0
	}
	j++
	for j < n && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n' || src[j] == '\r') {
		j++
	}
	if j >= n || src[j] != '"' {
		return 0
	}
	vs := j + 1
	ve := vs
	for ve < n && src[ve] != '"' {
		if src[ve] == '\\' {
			ve++
		}
		ve++
	}
	if ve > n {
		ve = n
	}
	v := src[vs:ve]
	switch {
	case len(v) == 0, secret && string(v) == Removed, !secret && IsPseudonym(string(v)):
	case field && isFieldPseudonym(v):
	case field && (bytes.IndexByte(v, '\\') >= 0 || p.hasShape(v)):
		// An escaped value (the walker of the JSON it is in, or the next
		// layer, sees it unescaped), or one with an id of known shape
		// inside: the scan goes on into it.
		return 0
	case field:
		p.add(span{start: vs, end: ve, kind: kField, form: Form(fc)})
	case !secret && !hasWordByte(v):
		// Punctuation is no name ("}" between quotes of broken JSON):
		// replaced, it would change how the JSON reads the next time.
	case secret:
		p.add(span{start: vs, end: ve, kind: kSecret})
	default:
		p.add(span{start: vs, end: ve, kind: kName, form: FormName})
	}
	return ve
}

// hasWordByte reports whether v has a letter or digit (ASCII or not).
func hasWordByte(v []byte) bool {
	for _, c := range v {
		if isAlnum(c) || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// layerHoldsID reports whether v, decoded once (a whole base64 value, or
// percent-encoded text), holds an id FindIDs finds, pseudonyms included: a
// value the shapes redacted inside its encoding (the base64 of a GUID
// become the base64 of its pseudonym) is left to the shapes the next time
// too, not replaced whole.
func layerHoldsID(v []byte) bool {
	if dec, ok := percentDecode(v); ok && len(FindIDs(string(dec))) > 0 {
		return true
	}
	if len(v) < minB64 {
		return false
	}
	run := bytes.TrimRight(v, "=")
	for _, c := range run {
		if cls[c]&(clsB64|clsB64URL) == 0 {
			return false
		}
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if dec, err := enc.DecodeString(string(run)); err == nil && isText(dec) && len(FindIDs(string(dec))) > 0 {
			return true
		}
	}
	return false
}
