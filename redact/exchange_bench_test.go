package redact

import (
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/graphvcr/graphvcr/redact/benchtest"
)

// The exchange of BenchmarkExchange is the recorder's benchmark traffic
// (proxy/record_bench_test.go): a participants/invite request and Graph's
// inviteParticipantsOperation answer, each bringing fresh GUIDs.
const exchangeURL = "https://graph.microsoft.com/v1.0/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896/participants/invite"

// exchangeParticipants is the participants array of an invite and of its
// operation: three users of one tenant, about 1 KB.
const exchangeParticipants = `[` +
	`{"@odata.type":"#microsoft.graph.invitationParticipantInfo","endpointType":"default","identity":{"@odata.type":"#microsoft.graph.identitySet","user":{"@odata.type":"#microsoft.graph.identity","id":"550fae72-d251-43ec-868c-373732c2704f","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","displayName":"Heidi Steen"}},"languageId":"en-US","region":"amer","replacesCallId":"a7ebfb2d-871e-419c-87af-27290b22e8db"},` +
	`{"@odata.type":"#microsoft.graph.invitationParticipantInfo","endpointType":"default","identity":{"@odata.type":"#microsoft.graph.identitySet","user":{"@odata.type":"#microsoft.graph.identity","id":"278405a3-f568-4b3e-b684-009193463064","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","displayName":"Jane Doe"}},"languageId":"en-US","region":"amer"},` +
	`{"@odata.type":"#microsoft.graph.invitationParticipantInfo","endpointType":"default","identity":{"@odata.type":"#microsoft.graph.identitySet","phone":{"@odata.type":"#microsoft.graph.identity","id":"+12345678901"}},"languageId":"en-US","region":"amer"}]`

// exchangeToken stands in for the bearer token every Graph request carries
// (about 1.5 KB).
var exchangeToken = "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIn0." +
	strings.Repeat("eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20i", 24) + ".c2lnbmF0dXJl"

// guidMarker marks where a fresh GUID goes in a template: 36 bytes that
// putGUID overwrites.
const guidMarker = "########-####-####-####-############"

// putGUID writes, in dst[:36], the GUID the recorder's benchmark makes of
// prefix and n (benchGUID there): prefix-nnnn-4nnn-8nnn-nnnnnnnnnnnn in hex,
// distinct for every n below 2^48.
func putGUID(dst []byte, prefix string, n uint64) {
	copy(dst, prefix)
	dst[8], dst[13], dst[18], dst[23] = '-', '-', '-', '-'
	hexInto(dst[9:13], n%0x10000)
	dst[14] = '4'
	hexInto(dst[15:18], n%0x1000)
	dst[19] = '8'
	hexInto(dst[20:23], n%0x1000)
	hexInto(dst[24:36], n)
}

// hexInto writes the low len(dst) hex digits of n, zero padded.
func hexInto(dst []byte, n uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = hexLower[n&15]
		n >>= 4
	}
}

// exchange is one goroutine's input: byte templates whose GUID slots are
// rewritten for every op, and the headers viewing them.
type exchange struct {
	reqBody, respBody []byte
	cc, op, crid      []byte   // the GUIDs: clientContext, operation id, client-request-id
	ccAt, opAt        [][]byte // the slots of cc and op in the bodies
	location          []byte   // the Location value, ending in the operation id
	reqHeader         http.Header
	respHeader        http.Header
	size              int64 // bytes of both bodies and all header names and values
}

// slots returns the 36-byte windows of b that hold the marker.
func slots(b []byte) [][]byte {
	var out [][]byte
	for off := 0; ; {
		k := strings.Index(string(b[off:]), guidMarker)
		if k < 0 {
			return out
		}
		off += k
		out = append(out, b[off:off+36:off+36])
		off += 36
	}
}

// newExchange builds the templates of one goroutine.
func newExchange() *exchange {
	x := &exchange{
		reqBody: []byte(`{"participants":` + exchangeParticipants + `,"clientContext":"` + guidMarker + `",` +
			`"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.inviteParticipantsOperation",` +
			`"additionalData":{"callbackUri":"https://bot.contoso.example/api/calls","requestedModalities":["audio","video"],` +
			`"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig","preFetchMedia":[]},` +
			`"notes":"` + strings.Repeat("x", 420) + `"}}`),
		// The operation's id and the echoed clientContext are marked apart:
		// the first slot is the id, the second the clientContext.
		respBody: []byte(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.inviteParticipantsOperation",` +
			`"@odata.type":"#microsoft.graph.inviteParticipantsOperation","id":"` + guidMarker + `","status":"running",` +
			`"createdDateTime":"2018-09-06T15:58:41Z","lastActionDateTime":"2018-09-06T15:58:41Z",` +
			`"clientContext":"` + guidMarker + `","resultInfo":null,"participants":` + exchangeParticipants + `,` +
			`"notes":"` + strings.Repeat("y", 520) + `"}`),
		cc:       make([]byte, 36),
		op:       make([]byte, 36),
		crid:     make([]byte, 36),
		location: []byte("https://graph.microsoft.com/v1.0/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896/operations/" + guidMarker),
	}
	resp := slots(x.respBody)
	x.ccAt = append(slots(x.reqBody), resp[1])
	x.opAt = [][]byte{resp[0], slots(x.location)[0]}
	// Header values view the templates (see view), so rewriting a slot
	// changes them without building a string per op: building the input is
	// the HTTP server's work, not the redactor's.
	x.reqHeader = http.Header{
		"Content-Type":      {"application/json"},
		"Authorization":     {exchangeToken},
		"Client-Request-Id": {view(x.crid)},
		"User-Agent":        {"kiota-go/1.0 graph-sdk-go/1.0"},
	}
	x.respHeader = http.Header{
		"Content-Type": {"application/json"},
		"Location":     {view(x.location)},
		"Request-Id":   {view(x.op)},
	}
	x.size = int64(len(x.reqBody) + len(x.respBody))
	for _, h := range []http.Header{x.reqHeader, x.respHeader} {
		for name, vals := range h {
			for _, v := range vals {
				x.size += int64(len(name) + len(v))
			}
		}
	}
	return x
}

// view is b as a string without a copy. The benchmark rewrites b between
// ops, never during one, and the Redactor keeps no input string (its maps
// hold copies), so what it returned for an earlier op is all that could
// change, and the benchmark drops that.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// fill writes the GUIDs of exchange n into the templates.
func (x *exchange) fill(n uint64) {
	putGUID(x.cc, "f2fa86af", n)
	putGUID(x.op, "0fe0623f", n)
	putGUID(x.crid, "c11e7700", n)
	for _, s := range x.ccAt {
		copy(s, x.cc)
	}
	for _, s := range x.opAt {
		copy(s, x.op)
	}
}

// redactExchange does what the recorder does with one exchange (see
// proxy's redactInto); sink keeps the results from being optimised away.
func redactExchange(r *Redactor, x *exchange, sink *int) {
	u := r.URL(exchangeURL)
	qh := r.Header(x.reqHeader)
	qb := r.Body("application/json", x.reqBody)
	ph := r.Header(x.respHeader)
	pb := r.Body("application/json", x.respBody)
	*sink += len(u) + len(qh) + len(qb) + len(ph) + len(pb) + len(r.TakeNew())
}

// exchangeSeq numbers exchanges across every run of BenchmarkExchange, so no
// two ops share a GUID.
var exchangeSeq atomic.Uint64

// BenchmarkExchange measures redacting one recorded exchange (URL, both
// headers, both bodies, TakeNew), with three fresh GUIDs per exchange as in
// the recorder: serially, from GOMAXPROCS goroutines at once (parallel), and
// from 32 (parallel32, as many as the recorder's benchmark clients). It
// reports the wall time per exchange (µs/exchange, the same as ns/op) and
// the process CPU time per exchange (cpu-µs/exchange, garbage collection
// included), which is what the recorder pays when its cores are busy.
func BenchmarkExchange(b *testing.B) {
	// check is one exchange redacted the way the benchmark does it: fresh
	// GUIDs in, no original out.
	check := func(b *testing.B, r *Redactor, x *exchange) {
		x.fill(exchangeSeq.Add(1))
		got := string(r.Body("application/json", x.reqBody)) + string(r.Body("application/json", x.respBody)) +
			strings.Join(r.Header(x.reqHeader)["Client-Request-Id"], "") + strings.Join(r.Header(x.respHeader)["Location"], "")
		for _, g := range [][]byte{x.cc, x.op, x.crid} {
			if strings.Contains(got, string(g)) {
				b.Fatalf("GUID %s survived redaction", g)
			}
		}
	}
	report := func(b *testing.B, cpu0 time.Duration) {
		now, ok := benchtest.ProcessCPU()
		cpu := now - cpu0
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/exchange")
		if ok && cpu > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e3, "cpu-µs/exchange")
		}
	}
	b.Run("serial", func(b *testing.B) {
		r := New(nil)
		x := newExchange()
		check(b, r, x) // learns the names and the callback host: the steady state of a session
		b.SetBytes(x.size)
		b.ReportAllocs()
		sink := 0
		cpu0, _ := benchtest.ProcessCPU()
		for b.Loop() {
			x.fill(exchangeSeq.Add(1))
			redactExchange(r, x, &sink)
		}
		report(b, cpu0)
	})
	parallel := func(goroutinesPerCPU int) func(b *testing.B) {
		return func(b *testing.B) {
			r := New(nil)
			check(b, r, newExchange())
			b.SetBytes(newExchange().size)
			b.ReportAllocs()
			b.SetParallelism(goroutinesPerCPU)
			cpu0, _ := benchtest.ProcessCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				x := newExchange()
				sink := 0
				for pb.Next() {
					x.fill(exchangeSeq.Add(1))
					redactExchange(r, x, &sink)
				}
			})
			b.StopTimer()
			report(b, cpu0)
		}
	}
	// One goroutine per CPU, and 32 in all as in the recorder's benchmark
	// (32 clients): there, more goroutines than CPUs queue on any lock a
	// redaction takes, and a descheduled holder keeps the others waiting.
	b.Run("parallel", parallel(1))
	b.Run("parallel32", parallel(max(1, 32/runtime.GOMAXPROCS(0))))
}
