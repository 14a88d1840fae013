package cassette

import (
	"encoding/binary"
	"errors"
	"net/http"
	"slices"
	"time"
)

// encodingVersion is the first byte of every encoded event head. Decoders
// reject a higher version and ignore bytes after the last field they know,
// so a field can be appended without bumping it.
const encodingVersion = 1

// Response body states stored in the event head.
const (
	bodyNil    = 0 // Response.Body was nil: no key in the bodies bucket
	bodyStored = 1 // the body (possibly empty) is in the bodies bucket
)

// errDecode is wrapped (with ErrCorrupt) by callers that know the path and seq.
var errDecode = errors.New("malformed event encoding")

// encodeHead appends the binary form of everything in ev except Seq (the key)
// and Response.Body (stored under its own key) to dst. See the package doc
// for the layout.
func encodeHead(dst []byte, ev *Event) []byte {
	dst = append(dst, encodingVersion, byte(ev.Kind))
	dst = binary.AppendVarint(dst, int64(ev.Offset))
	dst = binary.AppendVarint(dst, int64(ev.Latency))
	dst = binary.AppendUvarint(dst, ev.Trigger)
	dst = appendString(dst, ev.Request.Method)
	dst = appendString(dst, ev.Request.URL)
	dst = appendHeader(dst, ev.Request.Header)
	dst = appendNilable(dst, ev.Request.Body)
	dst = binary.AppendVarint(dst, int64(ev.Response.Status))
	dst = appendHeader(dst, ev.Response.Header)
	if ev.Response.Body == nil {
		dst = append(dst, bodyNil)
	} else {
		dst = append(dst, bodyStored)
	}
	dst = binary.AppendUvarint(dst, uint64(len(ev.Response.Body)))
	dst = appendString(dst, ev.Error)
	if ev.Bearer == nil {
		dst = append(dst, 0)
	} else {
		b := ev.Bearer
		dst = append(dst, 1)
		dst = appendStringMap(dst, b.Header)
		dst = appendStringMap(dst, b.Claims)
		dst = binary.AppendVarint(dst, int64(b.Lifetime))
		if b.Malformed {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
	}
	// Appended after the first layout: heads written before it end above.
	dst = binary.AppendVarint(dst, int64(ev.Abandoned))
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendNilable writes len+1, or 0 for nil, so nil and empty survive a round trip.
func appendNilable(dst, b []byte) []byte {
	if b == nil {
		return append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(b))+1)
	return append(dst, b...)
}

// appendHeader writes the header's keys in sorted order, so equal headers
// encode to equal bytes. Counts are n+1, 0 meaning nil.
func appendHeader(dst []byte, h http.Header) []byte {
	if h == nil {
		return append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(h))+1)
	for _, k := range sortedKeys(h) {
		vs := h[k]
		dst = appendString(dst, k)
		if vs == nil {
			dst = append(dst, 0)
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(len(vs))+1)
		for _, v := range vs {
			dst = appendString(dst, v)
		}
	}
	return dst
}

func appendStringMap(dst []byte, m map[string]string) []byte {
	if m == nil {
		return append(dst, 0)
	}
	dst = binary.AppendUvarint(dst, uint64(len(m))+1)
	for _, k := range sortedKeys(m) {
		dst = appendString(dst, k)
		dst = appendString(dst, m[k])
	}
	return dst
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// decoder reads an encoded head. It copies everything it returns, so the
// input may be memory owned by a bbolt transaction. The first malformed
// field sets err; later reads return zero values.
type decoder struct {
	b   []byte
	err error
}

// decodeHead decodes an event head. The returned bodyState says whether the
// response body is in the bodies bucket.
func decodeHead(b []byte, ev *Event) (bodyState byte, err error) {
	if len(b) < 2 {
		return 0, errDecode
	}
	if b[0] > encodingVersion {
		return 0, &newerVersionError{what: "event encoding", version: int(b[0])}
	}
	d := decoder{b: b[2:]}
	ev.Kind = Kind(b[1])
	ev.Offset = time.Duration(d.varint())
	ev.Latency = time.Duration(d.varint())
	ev.Trigger = d.uvarint()
	ev.Request.Method = d.string()
	ev.Request.URL = d.string()
	ev.Request.Header = d.header()
	ev.Request.Body = d.nilable()
	ev.Response.Status = int(d.varint())
	ev.Response.Header = d.header()
	bodyState = d.byte()
	d.uvarint() // response body length, for tools reading heads only
	ev.Error = d.string()
	if d.byte() == 1 {
		b := &Bearer{}
		b.Header = d.stringMap()
		b.Claims = d.stringMap()
		b.Lifetime = time.Duration(d.varint())
		b.Malformed = d.byte() == 1
		ev.Bearer = b
	}
	if d.err != nil {
		return 0, d.err
	}
	if len(d.b) > 0 { // heads of the first layout end before Abandoned
		ev.Abandoned = time.Duration(d.varint())
		if d.err != nil || ev.Abandoned < 0 {
			return 0, errDecode
		}
	}
	if ev.Abandoned == 0 {
		upgradeAbandoned(ev)
	}
	if bodyState > bodyStored {
		return 0, errDecode
	}
	return bodyState, nil
}

// legacyAbandonedError is the Error the first layout's recorder stored when
// the bot gave up on an exchange: graphvcr then cancelled the upstream
// request and stored a 502 it made up.
const legacyAbandonedError = "canceled"

// upgradeAbandoned marks an event that recorded the bot giving up the way
// recorders did before Event.Abandoned (a 502 with Error exactly "canceled")
// as abandoned, Latency after its arrival (when graphvcr stopped waiting; at
// least 1ns, as zero means not abandoned). Its Error stays: Graph's answer
// was never recorded. Recorders that set Abandoned never store that Error
// alone: when graphvcr itself ends an upstream request, the Error says why
// ("canceled: graphvcr closed ...").
func upgradeAbandoned(ev *Event) {
	if ev.Kind == KindNotification || ev.Error != legacyAbandonedError ||
		ev.Response.Status != http.StatusBadGateway {
		return
	}
	ev.Abandoned = max(ev.Latency, 1)
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errDecode
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// varint reads a signed varint: binary.AppendVarint's zig-zag encoding of
// the value as an unsigned one, which is how binary.Varint undoes it.
func (d *decoder) varint() int64 {
	u := d.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// count reads an n+1 count (0 = nil) and checks it against the bytes left,
// each item taking at least min bytes, so corrupt input cannot make it
// allocate more than the input's size.
func (d *decoder) count(min int) (n int, isNil bool) {
	c := d.uvarint()
	if c == 0 {
		return 0, true
	}
	c--
	if c > uint64(len(d.b)/min) {
		d.fail()
		return 0, true
	}
	return int(c), false
}

func (d *decoder) raw() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}

func (d *decoder) string() string {
	return string(d.raw())
}

func (d *decoder) nilable() []byte {
	n, isNil := d.count(1)
	if isNil {
		return nil
	}
	b := make([]byte, n)
	copy(b, d.b[:n])
	d.b = d.b[n:]
	return b
}

func (d *decoder) header() http.Header {
	n, isNil := d.count(2)
	if isNil {
		return nil
	}
	h := make(http.Header, n)
	for range n {
		k := d.key()
		m, valsNil := d.count(1)
		if valsNil {
			h[k] = nil
			continue
		}
		vs := make([]string, m)
		for i := range vs {
			vs[i] = d.string()
		}
		h[k] = vs
	}
	if d.err != nil {
		return nil
	}
	return h
}

func (d *decoder) stringMap() map[string]string {
	n, isNil := d.count(2)
	if isNil {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		k := d.string()
		m[k] = d.string()
	}
	if d.err != nil {
		return nil
	}
	return m
}

// key decodes a header name, sharing the string of common names so that
// streaming many events does not allocate them again and again.
func (d *decoder) key() string {
	b := d.raw()
	if s, ok := commonHeaderKeys[string(b)]; ok { // no allocation: map lookup by converted []byte
		return s
	}
	return string(b)
}

// commonHeaderKeys is an immutable table of header names seen in most events.
var commonHeaderKeys = func() map[string]string {
	m := make(map[string]string)
	for _, k := range []string{
		"Accept", "Accept-Encoding", "Authorization", "Cache-Control", "Client-Request-Id",
		"Connection", "Content-Encoding", "Content-Length", "Content-Type", "Date", "Host",
		"Location", "Request-Id", "Scenario-Id", "Strict-Transport-Security", "User-Agent",
		"X-Ms-Ags-Diagnostic", "X-Ms-Client-Request-Id", "X-Ms-Request-Id", "Sdkversion",
		"Transfer-Encoding", "Vary", "Retry-After", "X-Ms-Resource-Unit", "Odata-Version",
	} {
		m[k] = k
	}
	return m
}()
