package redact

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
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
	first, last := 0, len(k)-1
	for first < len(k) && (k[first] == '_' || k[first] == '-') {
		first++
	}
	for last > first && (k[last] == '_' || k[last] == '-') {
		last--
	}
	if first >= last {
		return keyPlain
	}
	if i := uint(lowerASCII(k[first]))<<8 | uint(lowerASCII(k[last])); t.ends[i>>6]&(1<<(i&63)) == 0 {
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
	return isDigitsPseudonym(v) || isOpaquePseudonym(v) || isMACPseudonym(v) || isPseudonymPhoneText(v) || isWholeThreadPseudonym(v)
}

// isWholeThreadPseudonym reports whether v is, as a whole, a thread id pseudonym.
func isWholeThreadPseudonym(v []byte) bool {
	c := 0
	for c < len(v) && c < 3 && isDigit(v[c]) {
		c++
	}
	if c == 0 || c >= len(v) || v[c] != ':' {
		return false
	}
	e, ins, ine := threadEnd(v, c, string(v[:c]))
	return e == len(v) && isPseudonymThread(v[ins:ine])
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

// macPrefix is the documentation block of RFC 7042, 00-00-5E-00-53-00 to -FF.
var macPrefix = [5]byte{0x00, 0x00, 0x5e, 0x00, 0x53}

// parseMAC reads six hex pairs joined by one separator (':' or '-') or none.
func parseMAC(v []byte) (mac [6]byte, sep byte, ok bool) {
	switch len(v) {
	case 12:
	case 17:
		sep = v[2]
		if sep != ':' && sep != '-' {
			return mac, 0, false
		}
	default:
		return mac, 0, false
	}
	for i := range 6 {
		k := i * 2
		if sep != 0 {
			k = i * 3
			if i > 0 && v[k-1] != sep {
				return mac, 0, false
			}
		}
		if !isHex(v[k]) || !isHex(v[k+1]) {
			return mac, 0, false
		}
		mac[i] = hexVal(v[k])<<4 | hexVal(v[k+1])
	}
	return mac, sep, true
}

func isMACPseudonym(v []byte) bool {
	m, _, ok := parseMAC(v)
	return ok && [5]byte(m[:5]) == macPrefix
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
		if m, sep, ok := parseMAC(text); ok {
			if m == ([6]byte{}) || m == [6]byte{0x02} {
				return nil // "no address": what privacy settings report
			}
			return r.learnValue(text, dst, r.appendMAC(dst, text, sep))
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
	if len(FindIDs(string(v))) > 0 || isWholeThreadPseudonym(v) || IsPseudonym(string(v)) {
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

// appendMAC appends the pseudonym of a MAC address written v.
func (r *Redactor) appendMAC(dst, v []byte, sep byte) []byte {
	var key [17]byte
	k := appendLower(key[:0], v)
	if sep != 0 {
		k = k[:0]
		for _, c := range v {
			if c != sep {
				k = append(k, lowerASCII(c))
			}
		}
	}
	h := hashBytes(k)
	n, ok := r.macs.get(h, viewString(k))
	if !ok {
		n, _ = issueNum(r, &r.macs, &idEntry[string]{key: string(k), hash: h}, &r.macN, pseudonym{kind: kField, width: 6})
	}
	mac := [6]byte{macPrefix[0], macPrefix[1], macPrefix[2], macPrefix[3], macPrefix[4], byte(n)}
	hex := hexLower
	if hasUpperHex(v) {
		hex = hexUpper
	}
	for i, b := range mac {
		if i > 0 && sep != 0 {
			dst = append(dst, sep)
		}
		dst = append(dst, hex[b>>4], hex[b&15])
	}
	return dst
}

// appendMACText appends MAC pseudonym n in its canonical form.
func appendMACText(dst []byte, n int) []byte {
	mac := [6]byte{macPrefix[0], macPrefix[1], macPrefix[2], macPrefix[3], macPrefix[4], byte(n)}
	for i, b := range mac {
		if i > 0 {
			dst = append(dst, ':')
		}
		dst = append(dst, hexLower[b>>4], hexLower[b&15])
	}
	return dst
}

func hasUpperHex(v []byte) bool {
	for _, c := range v {
		if c >= 'A' && c <= 'F' {
			return true
		}
	}
	return false
}
