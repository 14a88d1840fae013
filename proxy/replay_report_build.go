package proxy

import (
	"cmp"
	"net/http"
	"slices"
)

// Report returns what the replay has done so far. It is safe to call at any
// time, also after Close.
func (r *Replayer) Report() Report {
	rep := Report{
		Cassette:      r.cfg.Cassette.Path(),
		Speed:         r.speed,
		Strict:        r.cfg.Strict,
		Matched:       []Match{},
		ServedAgain:   []ServedAgain{},
		Unmatched:     []Unmatched{},
		Unused:        []Unused{},
		Abandoned:     []Abandonment{},
		Notifications: []Delivery{},
		Pending:       []Pending{},
		Faults:        r.faults.list(),
	}
	select {
	case <-r.done:
		rep.Done = true
	default:
	}
	r.mu.Lock()
	for _, m := range r.matched {
		rep.Matched = append(rep.Matched, m)
	}
	for _, sa := range r.servedAgain {
		rep.ServedAgain = append(rep.ServedAgain, *sa)
	}
	for _, u := range r.unmatched {
		rep.Unmatched = append(rep.Unmatched, *u)
	}
	for _, c := range r.m.All() {
		if _, ok := r.matched[c.Seq]; !ok {
			rep.Unused = append(rep.Unused, Unused{Seq: c.Seq, Method: c.Method, Path: c.URL})
		}
	}
	rep.Abandoned = append(rep.Abandoned, r.abandoned...)
	r.mu.Unlock()
	slices.SortFunc(rep.Abandoned, func(a, b Abandonment) int { return cmp.Compare(a.Seq, b.Seq) })
	slices.SortFunc(rep.Matched, func(a, b Match) int { return cmp.Compare(a.Seq, b.Seq) })
	slices.SortFunc(rep.ServedAgain, func(a, b ServedAgain) int { return cmp.Compare(a.Seq, b.Seq) })
	slices.SortFunc(rep.Unused, func(a, b Unused) int { return cmp.Compare(a.Seq, b.Seq) })
	slices.SortFunc(rep.Unmatched, func(a, b Unmatched) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method))
	})

	done, pending := r.sched.snapshot()
	for _, d := range done {
		dl := Delivery{
			Seq: d.n.seq, Path: d.n.path, Trigger: d.n.trigger,
			RecordedGap: d.n.gap, ActualGap: d.sent.Sub(d.n.armedAt),
			RecordedStatus: d.n.recordedStatus, Status: d.d.status,
			Latency: d.d.latency, Attempts: d.d.attempts, Copy: d.copy,
		}
		if d.d.err != nil {
			dl.Error = d.d.err.Error()
		}
		rep.Notifications = append(rep.Notifications, dl)
	}
	for _, n := range pending {
		rep.Pending = append(rep.Pending, Pending{Seq: n.seq, Path: n.path, Trigger: n.trigger, Armed: n.armed})
	}
	rep.Validations = r.validationReport()
	return rep
}

// serveReport answers GET /__graphvcr/report.
func (r *Replayer) serveReport(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "graphvcr: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	writeJSON(w, http.StatusOK, r.Report())
}
