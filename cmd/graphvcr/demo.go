package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/timeline"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/redact"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "record and replay a call on a built-in Graph simulator and sample bot, then show both timelines",
		Description: "Starts a Graph simulator and a sample calling bot on 127.0.0.1, records the bot placing\n" +
			"a call, inviting a participant and hanging up through graphvcr, replays the cassette to a\n" +
			"fresh bot using other ids, with no simulator, and prints both timelines and the scan of\n" +
			"the cassette. Needs no tenant and no network.",
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("demo", "unexpected argument %q", c.Args().First())
			}
			return demo(c.Context, c.App.Writer, newLogger(c))
		},
	}
}

// The demo's scenario and the names its bot and simulator use. The hosts
// are placeholders: lateDialer connects them to graphvcr's listeners, which
// only exist once the bot they need to know about does.
const (
	demoScenario   = graphtest.FullCall
	demoGraphBase  = "http://graph.demo.invalid"
	demoCallback   = "http://bot.contoso.com/api/calls"
	demoSecret     = "demo-client-secret"
	demoDelayScale = 0.2 // the simulator's notification delays: a fifth of real Graph's
)

// demo records demoScenario between the sample bot and the simulator,
// replays the cassette to a fresh bot and prints both timelines.
func demo(ctx context.Context, stdout io.Writer, log *slog.Logger) error {
	dir, err := os.MkdirTemp("", "graphvcr-demo-")
	if err != nil {
		return fmt.Errorf("demo: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "demo.bolt")

	fmt.Fprintf(stdout, "== record: sample bot → graphvcr record → Graph simulator, scenario %s\n", demoScenario)
	rec, err := demoRecord(ctx, path, log)
	if err != nil {
		return err
	}
	if err := rec.Err(); err != nil {
		return fmt.Errorf("demo: the sample bot's checks failed while recording: %w", err)
	}
	r, err := openCassette(path)
	if err != nil {
		return err
	}
	err = timeline.Text(stdout, r, colorFor(stdout))
	r.Close()
	if err != nil {
		return readError("demo: show", path, err)
	}
	res, err := scanFile(ctx, path)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	res.File = filepath.Base(path) // the temp dir is gone when the demo ends
	writeScanText(stdout, res)

	fmt.Fprintf(stdout, "\n== replay: a fresh sample bot (other ids) → graphvcr replay, no simulator, no network\n")
	played, report, err := demoReplay(ctx, path, log)
	if err != nil {
		return err
	}
	writeReplayTimeline(stdout, &report)
	writeReport(stdout, &report)

	fmt.Fprintf(stdout, "\nsample bot checks: %d/%d passed recording, %d/%d passed in replay\n",
		passed(rec), len(rec.Checks), passed(played), len(played.Checks))
	if err := played.Err(); err != nil {
		return &checkError{msg: "demo: the sample bot's checks failed in replay: " + err.Error()}
	}
	if report.Diverged() {
		return &checkError{msg: "demo: the replay diverged from the recording (" + divergence(&report) + ")"}
	}
	return nil
}

// demoRecord runs the scenario through a recorder into a new cassette at path.
func demoRecord(ctx context.Context, path string, log *slog.Logger) (_ *graphtest.Result, err error) {
	toNotify, toGraph := &lateDialer{}, &lateDialer{}
	g, err := graphtest.StartGraph(graphtest.GraphOptions{Seed: 1, DelayScale: demoDelayScale, NotifyClient: toNotify.client(), Logger: log})
	if err != nil {
		return nil, fmt.Errorf("demo: start the Graph simulator: %w", err)
	}
	defer g.Close()
	bot, err := graphtest.StartBot(demoBotOptions(g.TenantID(), g.ClientID(), 1, toGraph, log))
	if err != nil {
		return nil, fmt.Errorf("demo: start the sample bot: %w", err)
	}
	defer bot.Close()

	red := redact.New(nil)
	meta := proxy.RecordMeta(g.URL, g.URL, red)
	meta.Version = version
	w, err := cassette.Create(path, cassette.CreateOptions{Meta: meta})
	if err != nil {
		return nil, &inputError{op: "create", path: path, err: err}
	}
	defer func() {
		if cerr := w.Close(); cerr != nil && err == nil {
			err = &inputError{op: "close", path: path, err: cerr}
		}
	}()
	rec, err := proxy.StartRecorder(ctx, proxy.RecordConfig{
		Upstream: g.URL, TokenUpstream: g.URL, Bot: bot.URL,
		Cassette: w, Redactor: red, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("demo: start the recorder: %w", err)
	}
	toGraph.set(rec.URL())
	toNotify.set(rec.NotifyURL())

	res, runErr := bot.Run(ctx, demoScenario)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := errors.Join(runErr, rec.Close(sctx)); err != nil {
		return nil, fmt.Errorf("demo: record: %w", err)
	}
	return res, nil
}

// demoReplay runs the scenario again, with other ids, against a replayer of
// the cassette at path.
func demoReplay(ctx context.Context, path string, log *slog.Logger) (*graphtest.Result, proxy.Report, error) {
	r, err := openCassette(path)
	if err != nil {
		return nil, proxy.Report{}, err
	}
	defer r.Close()
	toGraph := &lateDialer{}
	// The tenant and client ids are new too: replay binds them like any id.
	bot, err := graphtest.StartBot(demoBotOptions("f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", 2, toGraph, log))
	if err != nil {
		return nil, proxy.Report{}, fmt.Errorf("demo: start the sample bot: %w", err)
	}
	defer bot.Close()
	rep, err := proxy.StartReplayer(ctx, proxy.ReplayConfig{Bot: bot.URL, Speed: 1, Strict: true, Cassette: r, Logger: log})
	if err != nil {
		return nil, proxy.Report{}, fmt.Errorf("demo: start the replayer: %w", err)
	}
	toGraph.set(rep.URL())

	res, runErr := bot.Run(ctx, demoScenario)
	if runErr == nil {
		select { // the scenario may end before the last notification is delivered
		case <-rep.Done():
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	closeErr := rep.Close(sctx)
	if err := errors.Join(runErr, closeErr); err != nil {
		return nil, proxy.Report{}, fmt.Errorf("demo: replay: %w", err)
	}
	return res, rep.Report(), nil
}

func demoBotOptions(tenant, client string, seed int64, toGraph *lateDialer, log *slog.Logger) graphtest.BotOptions {
	return graphtest.BotOptions{
		GraphURL:     demoGraphBase,
		TokenURL:     demoGraphBase + "/" + tenant + "/oauth2/v2.0/token",
		TenantID:     tenant,
		ClientID:     client,
		ClientSecret: demoSecret,
		CallbackURL:  demoCallback,
		Seed:         seed,
		HTTPClient:   toGraph.client(),
		Logger:       log,
	}
}

// writeReplayTimeline prints what the replay served and delivered, in
// recorded order.
func writeReplayTimeline(w io.Writer, rep *proxy.Report) {
	type line struct {
		seq  uint64
		text string
	}
	var lines []line
	for _, m := range rep.Matched {
		lines = append(lines, line{m.Seq, fmt.Sprintf("  #%-3d %9s  bot → graphvcr  %-6s %s  %d", m.Seq, formatOffset(m.At), m.Method, m.Path, m.Status)})
	}
	for _, d := range rep.Notifications {
		lines = append(lines, line{d.Seq, fmt.Sprintf("  #%-3d %9s  graphvcr → bot  POST   %s  %d  (%s after #%d, recorded %s)",
			d.Seq, "", d.Path, d.Status, d.ActualGap.Round(time.Millisecond), d.Trigger, d.RecordedGap.Round(time.Millisecond))})
	}
	slices.SortStableFunc(lines, func(a, b line) int { return int(a.seq) - int(b.seq) })
	for _, l := range lines {
		fmt.Fprintln(w, l.text)
	}
}

// formatOffset prints d as seconds with millisecond precision: "+12.345s".
func formatOffset(d time.Duration) string {
	return fmt.Sprintf("+%.3fs", d.Seconds())
}

func passed(r *graphtest.Result) int {
	n := 0
	for _, c := range r.Checks {
		if c.OK {
			n++
		}
	}
	return n
}

// lateDialer connects every request of its client to one address, set
// once known. The demo needs it because the sample bot must exist before
// graphvcr starts (graphvcr is given the bot's URL) while the bot must be
// told where graphvcr is; the simulator likewise posts its notifications to
// the bot's public callback host, which in real life a tunnel maps to
// graphvcr's notification listener.
type lateDialer struct {
	addr atomic.Pointer[string]
	d    net.Dialer
}

// set points the dialer at the host and port of base (a listener's URL).
func (l *lateDialer) set(base string) {
	u, err := url.Parse(base)
	if err != nil {
		return // a listener's own URL always parses
	}
	host := u.Host
	l.addr.Store(&host)
}

func (l *lateDialer) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	addr := l.addr.Load()
	if addr == nil {
		return nil, errors.New("demo: graphvcr is not listening yet")
	}
	return l.d.DialContext(ctx, network, *addr)
}

// client returns an HTTP client dialling l. Compression is left to the
// sample bot, which asks for gzip and decodes it itself.
func (l *lateDialer) client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{DialContext: l.dial, DisableCompression: true, IdleConnTimeout: 30 * time.Second},
		Timeout:   30 * time.Second,
	}
}
