package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/redact"
	"github.com/graphvcr/graphvcr/redact/benchtest"
)

const (
	benchClients = 32
	// benchRounds splits each side's requests into rounds, alternating
	// which side goes first, so load from outside the benchmark (a shared
	// machine) falls on both sides alike.
	benchRounds = 6
)

// benchGUID is a distinct GUID per n: a bot sends a fresh clientContext with
// every invite and Graph answers with a fresh operation id.
func benchGUID(prefix string, n int64) string {
	return fmt.Sprintf("%s-%04x-4%03x-8%03x-%012x", prefix, n%0x10000, n%0x1000, n%0x1000, n)
}

// benchParticipants is the participants array of an invite and of its
// operation: three users of one tenant, as in the seed examples, about 1 KB.
const benchParticipants = `[` +
	`{"@odata.type":"#microsoft.graph.invitationParticipantInfo","endpointType":"default","identity":{"@odata.type":"#microsoft.graph.identitySet","user":{"@odata.type":"#microsoft.graph.identity","id":"550fae72-d251-43ec-868c-373732c2704f","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","displayName":"Heidi Steen"}},"languageId":"en-US","region":"amer","replacesCallId":"a7ebfb2d-871e-419c-87af-27290b22e8db"},` +
	`{"@odata.type":"#microsoft.graph.invitationParticipantInfo","endpointType":"default","identity":{"@odata.type":"#microsoft.graph.identitySet","user":{"@odata.type":"#microsoft.graph.identity","id":"278405a3-f568-4b3e-b684-009193463064","tenantId":"72f988bf-86f1-41af-91ab-2d7cd011db47","displayName":"Jane Doe"}},"languageId":"en-US","region":"amer"},` +
	`{"@odata.type":"#microsoft.graph.invitationParticipantInfo","endpointType":"default","identity":{"@odata.type":"#microsoft.graph.identitySet","phone":{"@odata.type":"#microsoft.graph.identity","id":"+12345678901"}},"languageId":"en-US","region":"amer"}]`

// benchInvite is a participants/invite request body, about 2 KB with its
// clientContext.
func benchInvite(n int64) string {
	return `{"participants":` + benchParticipants + `,"clientContext":"` + benchGUID("f2fa86af", n) + `",` +
		`"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.inviteParticipantsOperation",` +
		`"additionalData":{"callbackUri":"https://bot.contoso.example/api/calls","requestedModalities":["audio","video"],` +
		`"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig","preFetchMedia":[]},` +
		`"notes":"` + strings.Repeat("x", 420) + `"}}`
}

// benchOperation is Graph's answer to an invite: an inviteParticipantsOperation
// naming the participants, about 2 KB.
func benchOperation(op, clientContext string) string {
	return `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.inviteParticipantsOperation",` +
		`"@odata.type":"#microsoft.graph.inviteParticipantsOperation","id":"` + op + `","status":"running",` +
		`"createdDateTime":"2018-09-06T15:58:41Z","lastActionDateTime":"2018-09-06T15:58:41Z",` +
		`"clientContext":"` + clientContext + `","resultInfo":null,"participants":` + benchParticipants + `,` +
		`"notes":"` + strings.Repeat("y", 520) + `"}`
}

// benchToken stands in for the bearer token every Graph request carries
// (about 1.5 KB): forwarded as is, removed from the cassette.
var benchToken = "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoIn0." +
	strings.Repeat("eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20i", 24) + ".c2lnbmF0dXJl"

// BenchmarkRecord measures requests/s through the recorder (every exchange
// redacted and durably committed before it is relayed) at 32 concurrent
// keep-alive clients against httputil.ReverseProxy in front of the same
// upstream in the same run, alternating rounds of each; and the latency
// the recorder adds per exchange (p50, p99), and the CPU it costs.
//
// fsync-ceiling-req/s is what this disk allows: one commit is two
// fdatasyncs, and all 32 clients can at most share one commit.
// events/commit and commit-busy show how the group commits went.
func BenchmarkRecord(b *testing.B) {
	var ops atomic.Int64
	up := startServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cc := benchGUID("f2fa86af", 0)
		if i := strings.Index(string(body), `"clientContext":"`); i >= 0 && len(body) >= i+17+36 {
			cc = string(body[i+17 : i+17+36])
		}
		op := benchGUID("0fe0623f", ops.Add(1))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "http://"+r.Host+"/v1.0/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896/operations/"+op)
		w.Header().Set("request-id", op)
		io.WriteString(w, benchOperation(op, cc))
	}))
	upURL, err := url.Parse(up)
	if err != nil {
		b.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(upURL)
	rpTr := &http.Transport{MaxIdleConnsPerHost: benchClients}
	defer rpTr.CloseIdleConnections()
	rp.Transport = rpTr
	base := startServer(b, rp)

	red := redact.New(nil)
	w, err := cassette.Create(filepath.Join(b.TempDir(), "bench.bolt"), cassette.CreateOptions{Meta: proxy.RecordMeta(up, up, red)})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	rec, err := proxy.StartRecorder(context.Background(), proxy.RecordConfig{
		Upstream: up, TokenUpstream: up, Bot: "http://127.0.0.1:9", Cassette: w, Redactor: red,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rec.Close(ctx)
	}()
	fsync := fsyncLatency(b, b.TempDir())

	var seq atomic.Int64 // request numbers, for distinct clientContexts
	baseLoad := newLoader(base, &seq)
	defer baseLoad.close()
	recLoad := newLoader(rec.URL(), &seq)
	defer recLoad.close()
	// Warm both paths (connections, caches) before measuring.
	baseLoad.run(b, benchClients*4)
	recLoad.run(b, benchClients*4)
	before, commits0 := w.Len(), w.CommitStats()

	n := max(b.N, benchClients*benchRounds)
	per := n / benchRounds
	var baseStat, recStat loadStat
	b.ResetTimer()
	for i := range benchRounds {
		if i%2 == 0 {
			baseStat.add(baseLoad.run(b, per))
			recStat.add(recLoad.run(b, per))
		} else {
			recStat.add(recLoad.run(b, per))
			baseStat.add(baseLoad.run(b, per))
		}
	}
	b.StopTimer()
	commits := w.CommitStats()

	recRPS, baseRPS := recStat.rps(), baseStat.rps()
	b.ReportMetric(recRPS, "req/s")
	b.ReportMetric(baseRPS, "baseline-req/s")
	b.ReportMetric(recRPS/baseRPS, "ratio")
	b.ReportMetric(float64(recStat.percentile(50)-baseStat.percentile(50))/1e6, "p50-added-ms")
	b.ReportMetric(float64(recStat.percentile(99)-baseStat.percentile(99))/1e6, "p99-added-ms")
	if _, ok := benchtest.ProcessCPU(); ok { // else the CPU time was not measured
		b.ReportMetric(float64(recStat.cpu.Microseconds())/float64(recStat.n), "cpu-us/req")
		b.ReportMetric(float64(baseStat.cpu.Microseconds())/float64(baseStat.n), "baseline-cpu-us/req")
	}
	b.ReportMetric(float64(fsync.Microseconds()), "fsync-us")
	b.ReportMetric(benchClients/(2*fsync.Seconds()), "fsync-ceiling-req/s")
	// How the durable commits went: events each one carried, and the share
	// of the recorder's time the single committer was busy (near 1: the
	// disk path, not the CPU, sets the pace).
	b.ReportMetric(float64(commits.Events-commits0.Events)/float64(commits.Commits-commits0.Commits), "events/commit")
	b.ReportMetric((commits.Busy-commits0.Busy).Seconds()/recStat.wall.Seconds(), "commit-busy")
	if got, want := w.Len()-before, recStat.n; got != want {
		b.Fatalf("cassette gained %d events for %d recorded requests", got, want)
	}
}

// loadStat accumulates rounds of one side of the benchmark.
type loadStat struct {
	n    int
	wall time.Duration
	cpu  time.Duration // of the whole process: client, proxy and upstream
	lats []time.Duration
}

func (s *loadStat) add(o loadStat) {
	s.n += o.n
	s.wall += o.wall
	s.cpu += o.cpu
	s.lats = append(s.lats, o.lats...)
}

func (s *loadStat) rps() float64 { return float64(s.n) / s.wall.Seconds() }

func (s *loadStat) percentile(p int) time.Duration {
	l := slices.Clone(s.lats)
	slices.Sort(l)
	return l[(len(l)-1)*p/100]
}

// loader sends invites to one base URL from benchClients goroutines, each
// over keep-alive connections of one shared transport.
type loader struct {
	target string
	tr     *http.Transport
	client *http.Client
	seq    *atomic.Int64
}

func newLoader(base string, seq *atomic.Int64) *loader {
	tr := &http.Transport{MaxIdleConnsPerHost: benchClients, DisableCompression: true}
	return &loader{
		target: base + "/v1.0/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896/participants/invite",
		tr:     tr,
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		seq:    seq,
	}
}

func (l *loader) close() { l.tr.CloseIdleConnections() }

// run sends n requests and returns the wall time, the process CPU time and
// every latency.
func (l *loader) run(b *testing.B, n int) loadStat {
	b.Helper()
	lats := make([]time.Duration, n)
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	cpu0, _ := benchtest.ProcessCPU()
	start := time.Now()
	for range benchClients {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				req, err := http.NewRequest(http.MethodPost, l.target, strings.NewReader(benchInvite(l.seq.Add(1))))
				if err != nil {
					failed.Add(1)
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", benchToken)
				req.Header.Set("client-request-id", benchGUID("c11e7700", int64(i)))
				req.Header.Set("User-Agent", "kiota-go/1.0 graph-sdk-go/1.0")
				t0 := time.Now()
				resp, err := l.client.Do(req)
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lats[i] = time.Since(t0)
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	cpu1, _ := benchtest.ProcessCPU()
	s := loadStat{n: n, wall: time.Since(start), cpu: cpu1 - cpu0, lats: lats}
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests to %s failed", f, n, l.target)
	}
	return s
}

// fsyncLatency measures one page write and sync in dir, the unit a bbolt
// commit pays twice (data pages, then the meta page; bbolt uses fdatasync
// where there is one, which costs the same as fsync for a file that does
// not grow).
func fsyncLatency(b *testing.B, dir string) time.Duration {
	b.Helper()
	f, err := os.Create(filepath.Join(dir, "fsync.probe"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, 4096)
	const n = 200
	start := time.Now()
	for i := range n {
		if _, err := f.WriteAt(page, int64(i%16)*4096); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / n
}
