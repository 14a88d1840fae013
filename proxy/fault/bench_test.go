package fault

import (
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// BenchmarkDecide measures one fault decision per recorded event (a
// notification's, or a request's at its first or a later occurrence) with
// the specs, against the same lookups on a plan with no specs, in
// the same run: ns/decision, ns/decision-nofaults and their ratio.
func BenchmarkDecide(b *testing.B) {
	heads := bigSession(2500) // 10,000 events
	faults, _ := mustPlan(b, 7, heads, determinismSpecs...)
	none, _ := mustPlan(b, 7, heads)
	const batch = 1024
	var withFaults, without time.Duration
	var sink Action
	run := func(p *Plan, start int) time.Duration {
		t0 := time.Now()
		for k := range batch {
			h := &heads[(start+k)%len(heads)]
			if h.Kind == cassette.KindNotification {
				sink ^= p.Notification(h.Seq).Action
			} else {
				sink ^= p.Request(h.Seq, 1+k%3).Action
			}
		}
		return time.Since(t0)
	}
	i := 0
	for b.Loop() {
		withFaults += run(faults, i)
		without += run(none, i)
		i += batch
	}
	n := float64(b.N * batch)
	perFault, perNone := float64(withFaults.Nanoseconds())/n, float64(without.Nanoseconds())/n
	b.ReportMetric(perFault, "ns/decision")
	b.ReportMetric(perNone, "ns/decision-nofaults")
	b.ReportMetric(perFault/perNone, "ratio")
	b.ReportMetric(0, "ns/op") // the op is two batches; the metrics above are the point
	_ = sink
}
