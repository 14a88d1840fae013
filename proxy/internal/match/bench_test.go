package match

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/redact/benchtest"
)

// matchFixture builds, in memory, the matcher of a cassette of n Graph
// exchanges: calls of five exchanges each (create, get, invite, poll the
// operation, delete), with distinct pseudonyms per call. It returns the live
// requests that replay it in order.
func matchFixture(n int) (*Matcher, []exchangeReq) {
	ps := pseudonymSet{}
	m := newMatcher(ps)
	var live []exchangeReq
	seq := uint64(0)
	add := func(method, rec, recBody, liveURL, liveBody string) {
		if len(live) >= n {
			return
		}
		seq++
		m.add(&Candidate{Seq: seq, Kind: cassette.KindGraph, Method: method, URL: rec, Status: 200}, []byte(recBody))
		live = append(live, exchangeReq{method, liveURL, []byte(liveBody)})
	}
	for c := 0; len(live) < n; c++ {
		call, op, user := 10+3*c, 11+3*c, 12+3*c
		for _, id := range []int{call, op, user} {
			ps[benchtest.PseudoGUID(id)] = true
		}
		ps[benchtest.PseudoGUID(1)] = true
		create := `{"callbackUri":"https://bot1.example.invalid/api/calls","tenantId":"%s","targets":[{"identity":{"user":{"id":"%s"}}}]}`
		add("POST", "/v1.0/communications/calls", fmt.Sprintf(create, benchtest.PseudoGUID(1), benchtest.PseudoGUID(user)),
			"/v1.0/communications/calls", fmt.Sprintf(create, benchtest.LiveGUID(1), benchtest.LiveGUID(user)))
		add("GET", "/v1.0/communications/calls/"+benchtest.PseudoGUID(call), "", "/v1.0/communications/calls/"+benchtest.LiveGUID(call), "")
		invite := `{"clientContext":"ctx-%d","participants":[{"identity":{"user":{"id":"%s"}}}]}`
		add("POST", "/v1.0/communications/calls/"+benchtest.PseudoGUID(call)+"/participants/invite", fmt.Sprintf(invite, c, benchtest.PseudoGUID(user)),
			"/v1.0/communications/calls/"+benchtest.LiveGUID(call)+"/participants/invite", fmt.Sprintf(invite, 1_000_000+c, benchtest.LiveGUID(user)))
		add("GET", "/v1.0/communications/calls/"+benchtest.PseudoGUID(call)+"/operations/"+benchtest.PseudoGUID(op), "",
			"/v1.0/communications/calls/"+benchtest.LiveGUID(call)+"/operations/"+benchtest.LiveGUID(op), "")
		add("DELETE", "/v1.0/communications/calls/"+benchtest.PseudoGUID(call), "", "/v1.0/communications/calls/"+benchtest.LiveGUID(call), "")
	}
	return m, live
}

type exchangeReq struct {
	method, url string
	body        []byte
}

func (e exchangeReq) match(m *Matcher) *Candidate {
	lt := newTemplate(e.method, e.url, e.body, nil)
	c, _ := m.match(cassette.Shape(e.method, e.url), &lt, nil)
	return c
}

// BenchmarkMatch measures the time to match one request (templating
// included) in cassettes of 10, 1,000 and 100,000 exchanges, with the same
// request mix at every size: calls of five exchanges, each call with its own
// ids, so a big cassette holds many different calls of each shape.
//   - inorder replays the whole session in recorded order (first uses,
//     binding), starting a new session when it is used up;
//   - bound polls the GETs of two calls (the first and the last recorded)
//     whose ids are all bound: a bot polling its calls, served again;
//   - bound-anycall polls the GETs of every call at random: the same work,
//     on a working set that grows with the cassette (memory, not matching).
//
// Setup garbage is collected before timing, so that a collection of the
// previous fixture is not charged to the matches.
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 1_000, 100_000} {
		b.Run(fmt.Sprintf("events=%d/inorder", n), func(b *testing.B) {
			m, live := matchFixture(n)
			runtime.GC()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := i % len(live)
				if k == 0 && i > 0 {
					b.StopTimer()
					m, live = matchFixture(n)
					if n >= 1_000 {
						runtime.GC()
					}
					b.StartTimer()
				}
				if c := live[k].match(m); c == nil {
					b.Fatalf("request %d (%s %s) did not match", k, live[k].method, live[k].url)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/match")
		})
		for _, anyCall := range []bool{false, true} {
			name := fmt.Sprintf("events=%d/bound", n)
			if anyCall {
				name += "-anycall"
			}
			b.Run(name, func(b *testing.B) {
				m, live := matchFixture(n)
				for _, e := range live {
					if e.match(m) == nil {
						b.Fatalf("%s %s did not match", e.method, e.url)
					}
				}
				var gets []exchangeReq
				for i, e := range live {
					// Calls are five exchanges: the first and last calls' GETs.
					if e.method == "GET" && (anyCall || i < 5 || i >= (len(live)-1)/5*5) {
						gets = append(gets, e)
					}
				}
				if !anyCall && len(gets) != 4 {
					b.Fatalf("%d GETs polled, want 4", len(gets))
				}
				rng := rand.New(rand.NewPCG(1, 2))
				runtime.GC()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if gets[rng.IntN(len(gets))].match(m) == nil {
						b.Fatal("no match")
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/match")
			})
		}
	}
}

// BenchmarkMatchFlat matches the same request mix in a cassette of 10
// exchanges and one of 100,000, alternating blocks of requests between the
// two so that the machine's load hits both alike, and reports the ratio of
// their costs per match: wall time and, where available, process CPU time
// (the garbage collector's included), which a loaded machine distorts less.
func BenchmarkMatchFlat(b *testing.B) {
	type side struct {
		n         int
		m         *Matcher
		live      []exchangeReq
		next      int
		wall, cpu time.Duration
		count     int
	}
	small, big := &side{n: 10}, &side{n: 100_000}
	for _, s := range []*side{small, big} {
		s.m, s.live = matchFixture(s.n)
	}
	// Both sides time chunks of the same length (the small cassette's
	// session), so the cost of reading the clocks is the same per match.
	const block, chunk = 500, 10
	_, haveCPU := benchtest.ProcessCPU()
	runBlock := func(s *side) {
		for done := 0; done < block; {
			if s.next == len(s.live) {
				s.m, s.live = matchFixture(s.n)
				s.next = 0
				if s.n >= 1_000 {
					runtime.GC()
				}
			}
			k := min(chunk, block-done, len(s.live)-s.next)
			c0, _ := benchtest.ProcessCPU()
			t0 := time.Now()
			pprof.Do(context.Background(), pprof.Labels("events", strconv.Itoa(s.n)), func(context.Context) {
				for _, e := range s.live[s.next : s.next+k] {
					if e.match(s.m) == nil {
						b.Fatalf("%s %s did not match", e.method, e.url)
					}
				}
			})
			s.wall += time.Since(t0)
			c1, _ := benchtest.ProcessCPU()
			s.cpu += c1 - c0
			s.next += k
			s.count += k
			done += k
		}
	}
	runtime.GC()
	for b.Loop() {
		runBlock(small)
		runBlock(big)
	}
	for _, s := range []*side{small, big} {
		b.ReportMetric(float64(s.wall.Nanoseconds())/float64(s.count), fmt.Sprintf("ns/match-%d", s.n))
		if haveCPU {
			b.ReportMetric(float64(s.cpu.Nanoseconds())/float64(s.count), fmt.Sprintf("cpu-ns/match-%d", s.n))
		}
	}
	b.ReportMetric((float64(big.wall)/float64(big.count))/(float64(small.wall)/float64(small.count)), "ratio")
	if haveCPU {
		b.ReportMetric((float64(big.cpu)/float64(big.count))/(float64(small.cpu)/float64(small.count)), "cpu-ratio")
	}
}
