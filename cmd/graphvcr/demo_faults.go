package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/fault"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
)

// The demo's fault run (graphvcr demo --faults): a short replay, with no
// delays, of the demo's cassette with two of Graph's faults, to a fresh
// sample bot that must cope with them.
const demoFaultSeed = 7

var demoFaultSpecs = []string{
	"duplicate:match=established",
	"status:code=429,retry-after=1,match=*/participants/invite,nth=1",
}

// demoFaults replays the demo's cassette at speed 0 with demoFaultSpecs and
// prints one line: what was injected and whether the bot coped. It fails
// (a checkError) when the bot did not.
func demoFaults(ctx context.Context, w io.Writer, path string, log *slog.Logger) error {
	var specs []fault.Spec
	for _, text := range demoFaultSpecs {
		s, err := fault.Parse(text)
		if err != nil {
			return fmt.Errorf("demo: %w", err) // a broken invariant: the specs are ours
		}
		specs = append(specs, s)
	}
	r, err := openCassette(path)
	if err != nil {
		return err
	}
	defer r.Close()
	cfg := proxy.ReplayConfig{Speed: 0, Cassette: r, Logger: log, Faults: specs, Seed: demoFaultSeed}
	res, report, err := replayToDemoBot(ctx, cfg, "fault run", func(_ *proxy.Replayer, toGraph *graphtest.LateDialer) graphtest.BotOptions {
		opts := demoBotOptions(demoReplayTenant, demoReplayClient, 3, toGraph, log)
		opts.Retry = graphtest.Retry{Base: 50 * time.Millisecond}
		return opts
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, demoFaultLine(res, &report))
	if err := res.Err(); err != nil {
		return &checkError{msg: "demo: the sample bot did not cope with the faults: " + err.Error()}
	}
	if report.Diverged() {
		return &checkError{msg: "demo: the fault run diverged (" + divergence(&report) + ")"}
	}
	return nil
}

// demoFaultLine says in one line what the fault run injected and how the
// bot took it: "faults (seed 7): duplicate #6, 429 on invite #9 → bot
// retried after 1s; bot coped: 39/39 checks".
func demoFaultLine(res *graphtest.Result, rep *proxy.Report) string {
	var what []string
	for _, f := range rep.Faults {
		switch f.Action {
		case fault.Status:
			s := fmt.Sprintf("%s on invite #%d", strings.Fields(f.Detail)[1], f.Seq)
			if gap, ok := retryGap(res, "/participants/invite"); ok {
				s += fmt.Sprintf(" → bot retried after %s", gap.Round(100*time.Millisecond))
			}
			what = append(what, s)
		default:
			what = append(what, fmt.Sprintf("%s #%d", f.Action, f.Seq))
		}
	}
	verdict := "bot coped"
	if res.Err() != nil {
		verdict = "bot did NOT cope"
	}
	return fmt.Sprintf("faults (seed %d): %s; %s: %d/%d checks", demoFaultSeed, strings.Join(what, ", "), verdict, passed(res), len(res.Checks))
}

// retryGap returns the time between the first try of the request to a
// path ending in suffix and its first retry.
func retryGap(res *graphtest.Result, suffix string) (time.Duration, bool) {
	var first time.Duration
	seen := false
	for _, x := range res.Requests {
		if !strings.HasSuffix(x.URL, suffix) {
			continue
		}
		if x.Try == 1 {
			first, seen = x.Offset, true
		} else if seen {
			return x.Offset - first, true
		}
	}
	return 0, false
}
