package proxy

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/fault"
	"github.com/graphvcr/graphvcr/redact/benchtest"
)

// benchSpecs select every event but, with p=0, fault none: the replay
// serves and delivers exactly as without faults, and pays for every
// decision (the plan's lookups, a hash per request occurrence).
var benchSpecs = []string{"status:p=0", "latency:by=1ms,p=0", "duplicate:p=0", "delay:by=1ms,p=0"}

func parseSpecs(tb testing.TB, texts ...string) []fault.Spec {
	tb.Helper()
	var out []fault.Spec
	for _, s := range texts {
		sp, err := fault.Parse(s)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, sp)
	}
	return out
}

// BenchmarkFaultDecision measures what deciding faults adds to each event.
// decide: a matched request (Replayer.matchFaulted with a plan, against
// Matcher.Match alone) and a notification (the scheduler's faultOf, with
// and without a plan), in process: the cost itself, in ns/event. http: the
// same GET replayed over loopback with and without the plan, in
// alternating chunks (the machine is shared), as a ratio of throughputs.
func BenchmarkFaultDecision(b *testing.B) {
	path := filepath.Join(b.TempDir(), "fault.bolt")
	evs := []*cassette.Event{{
		Kind: cassette.KindGraph, Offset: time.Millisecond, Latency: 20 * time.Millisecond,
		Request:  cassette.Request{Method: "GET", URL: "https://graph.microsoft.com/v1.0/communications/calls/" + benchtest.PseudoGUID(2)},
		Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: benchBody},
	}, {
		Kind: cassette.KindNotification, Offset: 30 * time.Millisecond, Trigger: 1,
		Request: cassette.Request{Method: "POST", URL: "https://bot1.example.invalid/api/calls",
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   []byte(`{"value":[{"changeType":"updated","resource":"/communications/calls/` + benchtest.PseudoGUID(2) + `","resourceData":{"state":"established"}}]}`)},
		Response: cassette.Response{Status: 202},
	}}
	writeEvents(b, path, 1, evs, []string{benchtest.PseudoGUID(2)})
	rd, err := cassette.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Close()
	start := func(specs []fault.Spec) *Replayer {
		// No bot: its notification is never armed (nothing is delivered).
		rep, err := StartReplayer(b.Context(), ReplayConfig{Cassette: rd, Speed: 0, Bot: "http://127.0.0.1:1", Faults: specs, Seed: 7})
		if err != nil {
			b.Fatal(err)
		}
		return rep
	}
	plain, faulted := start(nil), start(parseSpecs(b, benchSpecs...))
	defer plain.Close(context.Background())
	defer faulted.Close(context.Background())
	if faulted.faults.plan == nil {
		b.Fatal("no plan")
	}
	uri := "/v1.0/communications/calls/" + benchtest.LiveGUID(2)

	b.Run("decide", func(b *testing.B) {
		n := plain.sched.all[0]
		measure := func(r *Replayer, k int) time.Duration {
			t0 := time.Now()
			for range k {
				c, _, _, f, _ := r.matchFaulted("GET", uri, nil)
				if c == nil || f.Action != fault.None {
					b.Fatal("no match, or a fault drawn at p=0")
				}
				if r.sched.faultOf(n).Action != fault.None {
					b.Fatal("a notification fault drawn at p=0")
				}
			}
			return time.Since(t0)
		}
		plain.sched.fault, faulted.sched.fault = nil, faulted.notificationFault
		measure(plain, 1000)
		measure(faulted, 1000)
		with, without := alternate(b, 1000,
			func(k int) time.Duration { return measure(faulted, k) },
			func(k int) time.Duration { return measure(plain, k) })
		per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
		b.ReportMetric(per(without), "plain-ns/event")
		b.ReportMetric(per(with), "faults-ns/event")
		b.ReportMetric(per(with)-per(without), "added-ns/event")
		b.ReportMetric(per(with)/per(without), "ratio")
	})

	b.Run("http", func(b *testing.B) {
		tr := &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		run := func(base string, k int) time.Duration {
			t0 := time.Now()
			for range k {
				resp, err := client.Get(base + uri)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
			return time.Since(t0)
		}
		run(plain.URL(), 200)
		run(faulted.URL(), 200)
		with, without := alternate(b, 200,
			func(k int) time.Duration { return run(faulted.URL(), k) },
			func(k int) time.Duration { return run(plain.URL(), k) })
		per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
		b.ReportMetric(per(without), "plain-ns/req")
		b.ReportMetric(per(with), "faults-ns/req")
		b.ReportMetric(per(with)/per(without), "ratio")
	})
}

// BenchmarkDelayTiming replays 300 notifications recorded 2 ms apart at
// speed 1, half of them (p=0.5) delayed by 5 to 20 ms, and reports how far
// each delayed one left from its delayed due time (its trigger's answer,
// plus its recorded gap, plus its delay), and the others from their own.
func BenchmarkDelayTiming(b *testing.B) {
	rd, _ := notificationCassette(b, "delay.bolt", 300)
	botURL := sinkBot(b)
	specs := parseSpecs(b, "delay:by=5ms..20ms,p=0.5")

	var delayed, onTime []time.Duration
	for b.Loop() {
		rep := replayToEnd(b, ReplayConfig{Cassette: rd, Speed: 1, Bot: botURL, Faults: specs, Seed: 7})
		for _, d := range rep.Report().Notifications {
			f := rep.faults.plan.Notification(d.Seq)
			e := (d.ActualGap - d.RecordedGap - f.By).Abs()
			if f.Action == fault.Delay {
				delayed = append(delayed, e)
			} else {
				onTime = append(onTime, e)
			}
		}
		rep.Close(context.Background())
	}
	pct := func(errs []time.Duration, q float64) float64 {
		slices.Sort(errs)
		return float64(errs[int(float64(len(errs)-1)*q)].Microseconds()) / 1000
	}
	if len(delayed) == 0 || len(onTime) == 0 {
		b.Fatalf("%d delayed, %d on time: want both", len(delayed), len(onTime))
	}
	b.ReportMetric(pct(delayed, 0.5), "delayed-p50-ms")
	b.ReportMetric(pct(delayed, 0.99), "delayed-p99-ms")
	b.ReportMetric(pct(onTime, 0.99), "ontime-p99-ms")
	b.ReportMetric(float64(len(delayed))/float64(len(delayed)+len(onTime)), "delayed-share")
}
