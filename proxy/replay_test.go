package proxy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
)

// TestReplayScenarios records every scenario of the simulator and replays it
// to a fresh bot with another seed: new call ids, user ids, clientContext
// and phone numbers, which must come back to the bot bound to its own values.
func TestReplayScenarios(t *testing.T) {
	var speed1, speed0 time.Duration
	for i, s := range graphtest.Scenarios() {
		t.Run(string(s), func(t *testing.T) {
			rec := recordScenario(t, s, int64(100+i))
			// Timing is checked on up to five replays: on a loaded CI machine
			// (2 cores, other packages' tests) a timer may fire late once; a
			// scheduler that ignores gaps or speed fails all five.
			var late []string
			for attempt := 0; attempt < 5; attempt++ {
				live := replayScenario(t, rec.path, s, replayOptions{speed: 1, seed: int64(900 + i)})
				checkReplay(t, rec, live)
				if attempt == 0 {
					speed1 += live.elapsed
				}
				if late = offTiming(live.report); len(late) == 0 {
					break
				}
			}
			for _, l := range late {
				t.Error(l)
			}

			fast := replayScenario(t, rec.path, s, replayOptions{speed: 0, seed: int64(900 + i)})
			checkReplay(t, rec, fast)
			speed0 += fast.elapsed

			again := replayScenario(t, rec.path, s, replayOptions{speed: 0, seed: int64(900 + i)})
			if a, b := withoutTiming(fast.report), withoutTiming(again.report); !reflect.DeepEqual(a, b) {
				t.Errorf("two replays gave different reports:\n%s\n%s", mustJSON(t, a), mustJSON(t, b))
			}
		})
	}
	if t.Failed() {
		return
	}
	t.Logf("replays end to end: speed 1 %v, speed 0 %v", speed1, speed0)
	if speed0*4 > speed1 {
		t.Errorf("speed 0 took %v, speed 1 %v: want at least 4x faster", speed0, speed1)
	}
}

// checkReplay compares a replay with its recording, as the bot saw them.
func checkReplay(t *testing.T, rec recording, live replayRun) {
	t.Helper()
	if err := live.result.Err(); err != nil {
		t.Errorf("the bot's correlation checks failed in replay: %v", err)
	}
	rep := live.report
	if rep.Diverged() || len(rep.Unmatched) > 0 {
		t.Errorf("replay diverged: unmatched %s, notifications %s", mustJSON(t, rep.Unmatched), mustJSON(t, rep.Notifications))
	}
	if !rep.Done || len(rep.Pending) > 0 || len(rep.Unused) > 0 {
		t.Errorf("replay not done: pending %v, unused %v", rep.Pending, rep.Unused)
	}
	if got, want := statuses(live.result.Requests), statuses(rec.result.Requests); !slices.Equal(got, want) {
		t.Errorf("statuses the bot got: %v, recorded %v", got, want)
	}
	if got, want := gist(live.result.Received), gist(rec.result.Received); !slices.Equal(got, want) {
		t.Errorf("notifications the bot got:\n%s\nrecorded:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.IsSortedFunc(rep.Notifications, func(a, b proxy.Delivery) int { return int(a.Seq) - int(b.Seq) }) {
		t.Errorf("notifications not delivered in recorded order: %v", rep.Notifications)
	}
	for _, d := range rep.Notifications {
		if d.Status != d.RecordedStatus {
			t.Errorf("notification %d: bot answered %d, recorded %d", d.Seq, d.Status, d.RecordedStatus)
		}
	}
}

// offTiming lists the notifications that did not leave within
// max(5 ms, 2 %) of their recorded gap from their trigger (speed 1).
func offTiming(rep proxy.Report) []string {
	var late []string
	for _, d := range rep.Notifications {
		tol := max(5*time.Millisecond, d.RecordedGap/50)
		if diff := (d.ActualGap - d.RecordedGap).Abs(); diff > tol {
			late = append(late, fmt.Sprintf("notification %d: %v after its trigger, recorded %v (off by %v, tolerance %v)",
				d.Seq, d.ActualGap, d.RecordedGap, diff, tol))
		}
	}
	return late
}

func statuses(ex []graphtest.Exchange) []int {
	out := make([]int, len(ex))
	for i, e := range ex {
		out[i] = e.Status
	}
	return out
}

// gist describes the notifications received, without ids.
func gist(rs []graphtest.Received) []string {
	var out []string
	for _, r := range rs {
		for _, n := range r.Notifications {
			out = append(out, strings.Join([]string{r.Path, n.ChangeType, n.ODataType, n.State, n.Status}, " "))
		}
	}
	return out
}

// withoutTiming zeroes the fields that vary from run to run by timing alone.
func withoutTiming(r proxy.Report) proxy.Report {
	r.Matched = slices.Clone(r.Matched)
	for i := range r.Matched {
		r.Matched[i].At = 0
	}
	r.Notifications = slices.Clone(r.Notifications)
	for i := range r.Notifications {
		r.Notifications[i].ActualGap, r.Notifications[i].Latency = 0, 0
	}
	r.Cassette = ""
	return r
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReplayDivergence sends requests the recording does not hold: each gets
// Graph's error shape naming the nearest recorded request and how it differs,
// and the report shows the divergence (a failure under Strict).
func TestReplayDivergence(t *testing.T) {
	rec := recordScenario(t, graphtest.SingleInvite, 7)
	tests := []struct {
		name, method, path, body string
		wantNearest              string // a recorded path the error must name
		wantDiff                 string // how it differs
	}{
		{
			name: "unknown path", method: "GET", path: "/v1.0/communications/calls/%s/audioRoutingGroups",
			wantNearest: "/v1.0/communications/calls/", wantDiff: "path segment",
		},
		{
			name: "invite with a field not recorded", method: "POST", path: "/v1.0/communications/calls/%s/participants/invite",
			body:        `{"participants":[],"clientContext":"x","unexpected":true}`,
			wantNearest: "/participants/invite", wantDiff: "body field",
		},
	}
	for _, strict := range []bool{false, true} {
		replayScenario(t, rec.path, graphtest.SingleInvite, replayOptions{speed: 0, seed: 8, strict: strict,
			after: func(t *testing.T, rep *proxy.Replayer, _ string) {
				select {
				case <-rep.Done():
				case <-time.After(10 * time.Second):
					t.Fatalf("replay not done: %+v", rep.Report())
				}
				var callID string
				for _, m := range rep.Report().Matched {
					if rest, ok := strings.CutPrefix(m.Path, "/v1.0/communications/calls/"); ok && rest != "" {
						callID, _, _ = strings.Cut(rest, "/")
						break
					}
				}
				if callID == "" {
					t.Fatal("no call id in the matched requests")
				}
				if rep.Report().Diverged() {
					t.Fatal("diverged before any unrecorded request")
				}
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						path := strings.ReplaceAll(tt.path, "%s", callID)
						req, err := http.NewRequestWithContext(t.Context(), tt.method, rep.URL()+path, strings.NewReader(tt.body))
						if err != nil {
							t.Fatal(err)
						}
						resp, b := roundTrip(t, http.DefaultClient, req)
						if resp.StatusCode != http.StatusNotImplemented {
							t.Errorf("status %d, want 501: %s", resp.StatusCode, b)
						}
						var ge struct {
							Error struct {
								Code, Message string
								InnerError    struct {
									Nearest []proxy.NearMiss
								}
							}
						}
						if err := json.Unmarshal(b, &ge); err != nil {
							t.Fatalf("error body is not Graph's error shape: %v: %s", err, b)
						}
						if ge.Error.Code != "graphvcrNoMatch" || !strings.Contains(ge.Error.Message, tt.wantNearest) ||
							!strings.Contains(ge.Error.Message, tt.wantDiff) {
							t.Errorf("error %q: %q, want graphvcrNoMatch naming %q and %q", ge.Error.Code, ge.Error.Message, tt.wantNearest, tt.wantDiff)
						}
						if len(ge.Error.InnerError.Nearest) == 0 || !strings.Contains(ge.Error.InnerError.Nearest[0].Path, tt.wantNearest) {
							t.Errorf("innerError.nearest = %+v, want %q first", ge.Error.InnerError.Nearest, tt.wantNearest)
						}
					})
				}
				r := rep.Report()
				if len(r.Unmatched) != len(tests) || !r.Diverged() || r.Failed() != strict {
					t.Errorf("report: %d unmatched, diverged %v, failed %v (strict %v)", len(r.Unmatched), r.Diverged(), r.Failed(), strict)
				}
			}})
	}
}
