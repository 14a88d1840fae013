package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/diff"
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
			"a call, inviting a participant and hanging up through graphvcr, with Graph's realistic\n" +
			"delays, replays the cassette to a fresh bot using other ids, with no simulator, and prints\n" +
			"both timelines side by side with their timing differences. The bot validates every\n" +
			"notification's token both times: the simulator's while recording, the ones replay signs\n" +
			"with a key of its own (kept in the demo's directory) in replay. The cassette and an HTML view\n" +
			"of it are kept in a new temporary directory, whose path is printed. Needs no tenant and\n" +
			"no network, and takes a few seconds.",
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return demo(c.Context, c.App.Writer, newLogger(c), c.Bool("faults"))
		},
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "faults", Usage: "then replay once more with two of Graph's faults (a duplicate notification, a 429 on the invite) and say whether the bot coped", EnvVars: envVars("faults")},
		},
	}
}

// The demo's scenario and the names its bot and simulator use. The hosts
// are placeholders: a graphtest.LateDialer connects them to the listeners
// (graphvcr's, the bot's) that only exist once what they need to know about
// does.
const (
	demoScenario  = graphtest.FullCall
	demoGraphBase = "http://graph.demo.invalid"
	demoCallback  = "http://bot.contoso.com/api/calls"
	// demoBotBase is where the replayer posts notifications: the bot's
	// public host, which a graphtest.LateDialer maps to the bot's listener
	// as a tunnel would. The replayer starts first, so the bot can be given
	// its notification metadata URL.
	demoBotBase    = "http://bot.contoso.com"
	demoSecret     = "demo-client-secret"
	demoDelayScale = 1 // Graph's realistic notification delays: the timings mean something
	demoSpeed      = 1 // replay at the recorded pace, so both timelines compare
	// demoDoneTimeout bounds the wait for the replay's last notifications
	// once the bot's scenario has ended.
	demoDoneTimeout = 10 * time.Second
)

// The fresh bot of the replay presents another tenant and application
// (and, by its seed, another clientContext and invitee): replay binds them
// like any id.
const (
	demoReplayTenant = "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9"
	demoReplayClient = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
)

// demo records demoScenario between the sample bot and the simulator,
// replays the cassette to a fresh bot and prints both timelines side by
// side. The cassette and its HTML view stay in a new temporary directory,
// for the commands the demo suggests next.
func demo(ctx context.Context, stdout io.Writer, log *slog.Logger, faults bool) (err error) {
	dir, err := os.MkdirTemp("", "graphvcr-demo-*")
	if err != nil {
		return fmt.Errorf("demo: temp dir: %w", err)
	}
	path := filepath.Join(dir, "demo.bolt")
	htmlPath := filepath.Join(dir, "demo.html")
	defer func() {
		if _, serr := os.Stat(path); err != nil && serr != nil {
			os.RemoveAll(dir) // nothing worth keeping
		}
	}()

	fmt.Fprintf(stdout, "graphvcr demo: a sample bot places a call, invites a participant and hangs up (scenario %s),\n", demoScenario)
	fmt.Fprintf(stdout, "against a Graph simulator with Graph's realistic delays; no tenant, no network.\n")
	fmt.Fprintf(stdout, "\n== record: sample bot → graphvcr record → Graph simulator\n")
	rec, sum, recValid, err := demoRecord(ctx, path, log)
	if err != nil {
		return err
	}
	if err := rec.Err(); err != nil {
		return fmt.Errorf("demo: the sample bot's checks failed while recording: %w", err)
	}
	if err := recValid.err("recording"); err != nil {
		return err
	}
	fmt.Fprintln(stdout, sum)
	res, err := scanFile(ctx, path)
	if err != nil {
		return err
	}
	writeScanText(stdout, res)
	if len(res.Findings) > 0 {
		return &checkError{msg: "demo: the scan found what redaction should have removed; see above"}
	}

	fmt.Fprintf(stdout, "\n== replay: a fresh sample bot (other tenant, app and ids) → graphvcr replay --speed %d --strict; no simulator\n", demoSpeed)
	actualPath := filepath.Join(dir, "replayed.bolt")
	played, report, kid, err := demoReplay(ctx, dir, path, actualPath, log)
	if err != nil {
		return err
	}
	writeReport(stdout, &report)
	repValid := replayValidation(&report)

	r, err := openCassette(path)
	if err != nil {
		return err
	}
	rows, err := demoRows(r, &report)
	if err == nil {
		err = writeHTMLFile(htmlPath, r)
	}
	r.Close()
	if err != nil {
		return readError("demo: read", path, err)
	}
	fmt.Fprintf(stdout, "\n== both timelines: offsets from the start of each session; Δ = replayed − recorded\n")
	writeDemoTable(stdout, rows)

	fmt.Fprintf(stdout, "\nsample bot checks: %d/%d passed recording, %d/%d passed in replay\n",
		passed(rec), len(rec.Checks), passed(played), len(played.Checks))
	fmt.Fprintf(stdout, "notification tokens: the sample bot validated every notification's JWT (RS256 signature, iss, aud, exp): "+
		"%d/%d accepted recording (the simulator's key), %d/%d accepted in replay (graphvcr's key %s)\n",
		recValid.accepted, recValid.total, repValid.accepted, repValid.total, kid)
	same, err := demoDiff(path, actualPath)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, same)
	if faults {
		if err := demoFaults(ctx, stdout, path, log); err != nil {
			return err
		}
	}
	writeNext(stdout, path, htmlPath)

	if err := played.Err(); err != nil {
		return &checkError{msg: "demo: the sample bot's checks failed in replay: " + err.Error()}
	}
	if err := repValid.err("replay"); err != nil {
		return &checkError{msg: err.Error()}
	}
	if report.Diverged() {
		return &checkError{msg: "demo: the replay diverged from the recording (" + divergence(&report) + ")"}
	}
	return nil
}

// writeHTMLFile writes the HTML view of r to path.
func writeHTMLFile(path string, r *cassette.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	err = timeline.HTML(f, r)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("demo: %w", cerr)
	}
	return err
}

// writeNext prints where the demo's files are and what to run on them.
func writeNext(w io.Writer, path, htmlPath string) {
	dir := filepath.Dir(path)
	fmt.Fprintf(w, "\n== files (kept; delete %s when done)\n", dir)
	fmt.Fprintf(w, "cassette:  %s\n", path)
	fmt.Fprintf(w, "HTML view: %s\n", htmlPath)
	fmt.Fprintf(w, "\ntry next (graphvcr is `go run ./cmd/graphvcr` in the repository):\n")
	fmt.Fprintf(w, "  graphvcr show %s\n", path)
	fmt.Fprintf(w, "  graphvcr show %s --format html > %s\n", path, htmlPath)
	fmt.Fprintf(w, "  graphvcr show %s --format mermaid\n", path)
	fmt.Fprintf(w, "  graphvcr export %s --format har --output %s\n", path, filepath.Join(dir, "demo.har"))
	fmt.Fprintf(w, "  graphvcr scan %s\n", path)
	fmt.Fprintf(w, "  graphvcr diff %s %s %s --format html > %s\n", path, filepath.Join(dir, "replayed.bolt"), demoDiffFlags(), filepath.Join(dir, "diff.html"))
	fmt.Fprintf(w, "  graphvcr replay --cassette %s --bot http://127.0.0.1:9442 --speed 0 --strict --exit-when-done\n", path)
	fmt.Fprintf(w, "    (your bot's webhook on 127.0.0.1:9442, its Graph base URL and token authority http://127.0.0.1:8080)\n")
	fmt.Fprintf(w, "    (a bot that validates notifications: its metadata URL is the one replay prints at start)\n")
}

// validation counts the notifications a validating bot accepted.
type validation struct{ accepted, total int }

// err reports, for the run named when, a bot that accepted fewer
// notifications than it got, or got none: either means the demo did not
// show what it claims.
func (v validation) err(when string) error {
	switch {
	case v.total == 0:
		return fmt.Errorf("demo: no notification reached the sample bot while %s", when)
	case v.accepted < v.total:
		return fmt.Errorf("demo: the sample bot rejected %d of %d notification tokens in %s", v.total-v.accepted, v.total, when)
	}
	return nil
}

// replayValidation counts the replayed notifications the bot accepted
// (answered 2xx: it answers 401 to a token that fails validation).
func replayValidation(rep *proxy.Report) validation {
	v := validation{total: len(rep.Notifications)}
	for _, d := range rep.Notifications {
		if d.Error == "" && d.Status/100 == 2 {
			v.accepted++
		}
	}
	return v
}

// demoRecord runs the scenario through a recorder into a new cassette at
// path. The bot validates each notification's token against the
// simulator's notification metadata, which it fetches through the recorder
// like any Graph request; the cassette keeps no token.
func demoRecord(ctx context.Context, path string, log *slog.Logger) (_ *graphtest.Result, _ proxy.RecordSummary, _ validation, err error) {
	toNotify, toGraph := &graphtest.LateDialer{}, &graphtest.LateDialer{}
	defer toNotify.CloseIdleConnections()
	defer toGraph.CloseIdleConnections()
	g, err := graphtest.StartGraph(graphtest.GraphOptions{Seed: 1, DelayScale: demoDelayScale, NotifyClient: toNotify.Client(demoHTTPTimeout), Logger: log})
	if err != nil {
		return nil, proxy.RecordSummary{}, validation{}, fmt.Errorf("demo: start the Graph simulator: %w", err)
	}
	defer g.Close()
	botOpts := demoBotOptions(g.TenantID(), g.ClientID(), 1, toGraph, log)
	// The simulator's metadata URL, on the Graph base the bot uses.
	botOpts.OpenIDConfigURL = demoGraphBase + strings.TrimPrefix(g.NotificationOpenIDConfigURL(), g.URL)
	bot, err := graphtest.StartBot(botOpts)
	if err != nil {
		return nil, proxy.RecordSummary{}, validation{}, fmt.Errorf("demo: start the sample bot: %w", err)
	}
	defer bot.Close()

	red := redact.New(nil)
	meta := proxy.RecordMeta(g.URL, g.URL, red)
	meta.Version = version
	w, err := cassette.Create(path, cassette.CreateOptions{Meta: meta})
	if err != nil {
		return nil, proxy.RecordSummary{}, validation{}, &inputError{op: "create", path: path, err: err}
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
		return nil, proxy.RecordSummary{}, validation{}, fmt.Errorf("demo: start the recorder: %w", err)
	}
	toGraph.Set(rec.URL())
	toNotify.Set(rec.NotifyURL())

	res, runErr := bot.Run(ctx, demoScenario)
	if runErr == nil {
		// The recorder relays a notification only once it is recorded: once
		// the simulator's notifications are answered, all are in the cassette.
		runErr = g.Flush(ctx)
	}
	// A connection dialled but never used holds a listener's shutdown for
	// seconds: close the idle ones to the recorder before it stops.
	toGraph.CloseIdleConnections()
	toNotify.CloseIdleConnections()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := errors.Join(runErr, rec.Close(sctx)); err != nil {
		return nil, proxy.RecordSummary{}, validation{}, fmt.Errorf("demo: record: %w", err)
	}
	sent := g.Sent()
	v := validation{total: len(sent)}
	for _, n := range sent {
		if n.Err == nil && n.Status/100 == 2 {
			v.accepted++
		}
	}
	return res, rec.Summary(), v, nil
}

// demoReplay runs the scenario again, with other ids, against a replayer of
// the cassette at path that signs each notification with a key it creates
// in dir (the demo's own directory: the demo never touches the user's
// configuration). The replayer starts first, so the bot is given its
// notification metadata URL; it reaches the bot through the bot's public
// host, as notifications would through a tunnel. It returns the signing
// key's id too.
func demoReplay(ctx context.Context, dir, path, actualPath string, log *slog.Logger) (_ *graphtest.Result, _ proxy.Report, _ string, err error) {
	r, err := openCassette(path)
	if err != nil {
		return nil, proxy.Report{}, "", err
	}
	defer r.Close()
	// What the bot did in replay goes to a second cassette, as with
	// replay --record-actual, for the demo's closing diff.
	actual, err := createActual(actualPath, r)
	if err != nil {
		return nil, proxy.Report{}, "", err
	}
	defer func() {
		// After rep.Close below (deferred later, run earlier): the
		// replayer has written its last event.
		if cerr := actual.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("demo: close %s: %w", actualPath, cerr)
		}
	}()
	signer, err := proxy.LoadSigner(dir)
	if err != nil {
		return nil, proxy.Report{}, "", fmt.Errorf("demo: %w", err)
	}
	defer signer.Close()
	cfg := proxy.ReplayConfig{Speed: demoSpeed, Strict: true, Cassette: r, Signer: signer, Logger: log, Actual: actual}
	res, report, err := replayToDemoBot(ctx, cfg, "replay", func(rep *proxy.Replayer, toGraph *graphtest.LateDialer) graphtest.BotOptions {
		opts := demoBotOptions(demoReplayTenant, demoReplayClient, 2, toGraph, log)
		opts.OpenIDConfigURL = rep.OpenIDConfigURL()
		return opts
	})
	if err != nil {
		return nil, proxy.Report{}, "", err
	}
	return res, report, signer.KeyID(), nil
}

// replayToDemoBot starts a replayer with cfg, which reaches the demo's bot
// at its public host demoBotBase, then a sample bot with the options
// botOptions gives for that replayer and a dialer to it, and runs the demo's
// scenario (runReplayed). It returns the bot's result and the replay's
// report; step names the run in its errors.
func replayToDemoBot(ctx context.Context, cfg proxy.ReplayConfig, step string, botOptions func(*proxy.Replayer, *graphtest.LateDialer) graphtest.BotOptions) (*graphtest.Result, proxy.Report, error) {
	toGraph, toBot := &graphtest.LateDialer{}, &graphtest.LateDialer{}
	defer toGraph.CloseIdleConnections()
	defer toBot.CloseIdleConnections()
	cfg.Bot, cfg.Transport = demoBotBase, toBot.Client(demoHTTPTimeout).Transport
	rep, err := proxy.StartReplayer(ctx, cfg)
	if err != nil {
		return nil, proxy.Report{}, fmt.Errorf("demo: start the replayer: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	toGraph.Set(rep.URL())
	bot, err := graphtest.StartBot(botOptions(rep, toGraph))
	if err != nil {
		return nil, proxy.Report{}, errors.Join(fmt.Errorf("demo: start the sample bot: %w", err), rep.Close(sctx))
	}
	defer bot.Close()
	res, err := runReplayed(ctx, sctx, rep, bot, toGraph, toBot)
	if err != nil {
		return nil, proxy.Report{}, fmt.Errorf("demo: %s: %w", step, err)
	}
	return res, rep.Report(), nil
}

// runReplayed points toBot at bot, runs demoScenario against rep, waits
// (up to demoDoneTimeout) for rep to deliver its last notification, and
// closes rep within sctx. The error joins the run's and the close's.
func runReplayed(ctx, sctx context.Context, rep *proxy.Replayer, bot *graphtest.Bot, toGraph, toBot *graphtest.LateDialer) (*graphtest.Result, error) {
	toBot.Set(bot.URL)
	res, runErr := bot.Run(ctx, demoScenario)
	if runErr == nil {
		// The scenario may end before the last notification is delivered.
		wait := time.NewTimer(demoDoneTimeout)
		select {
		case <-rep.Done():
		case <-ctx.Done():
		case <-wait.C:
		}
		wait.Stop()
	}
	// A connection dialled but never used holds a listener's shutdown for
	// seconds: close the idle ones before each listener stops.
	toGraph.CloseIdleConnections()
	closeErr := rep.Close(sctx)
	toBot.CloseIdleConnections()
	return res, errors.Join(runErr, closeErr)
}

// demoDiffOptions are the options of the demo's closing diff: known noise
// a user would ignore the same way. Timing is left to the table printed
// above it (the replayed bot's pace follows the machine's load). The bot
// fetches the notification keys' documents from the recording's publisher
// and, in replay, from graphvcr's own endpoints (never a divergence). The
// offline token endpoint answers a fresh token's lifetime (3600 s) where
// the recorded answer said 3599.
var demoDiffOptions = diff.Options{
	IgnoreTiming: true,
	Ignore:       []string{"/*/.well-known/*"},
	IgnoreFields: []string{"expires_in", "ext_expires_in"},
}

// demoDiffFlags writes demoDiffOptions as graphvcr diff's flags.
func demoDiffFlags() string {
	flags := []string{"--ignore-timing"}
	for _, g := range demoDiffOptions.Ignore {
		flags = append(flags, "--ignore '"+g+"'")
	}
	for _, f := range demoDiffOptions.IgnoreFields {
		flags = append(flags, "--ignore-field "+f)
	}
	return strings.Join(flags, " ")
}

// demoDiff compares the recorded session with what the bot did in replay
// and returns the one-line verdict.
func demoDiff(recorded, actual string) (string, error) {
	res, err := diff.Files(recorded, actual, demoDiffOptions)
	if err != nil {
		return "", fmt.Errorf("demo: diff: %w", err)
	}
	return "recorded vs replayed: " + res.Summary() + " (graphvcr diff " + demoDiffFlags() + ")", nil
}

func demoBotOptions(tenant, client string, seed int64, toGraph *graphtest.LateDialer, log *slog.Logger) graphtest.BotOptions {
	return graphtest.BotOptions{
		GraphURL:     demoGraphBase,
		TokenURL:     demoGraphBase + "/" + tenant + "/oauth2/v2.0/token",
		TenantID:     tenant,
		ClientID:     client,
		ClientSecret: demoSecret,
		CallbackURL:  demoCallback,
		Seed:         seed,
		HTTPClient:   toGraph.Client(demoHTTPTimeout),
		Logger:       log,
	}
}

// demoHTTPTimeout bounds each request of the demo's HTTP clients (the bot's
// to graphvcr, graphvcr's and the simulator's notifications).
const demoHTTPTimeout = 30 * time.Second

func passed(r *graphtest.Result) int {
	n := 0
	for _, c := range r.Checks {
		if c.OK {
			n++
		}
	}
	return n
}
