package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/proxy"
)

// replayOptions is everything "graphvcr replay" takes from its flags.
type replayOptions struct {
	// Proxy is what the replayer takes as the flags give it: listener,
	// bot, --speed, --strict, --tls and --app-id. replay adds the parts it
	// builds from the other options (cassette, CA, signer, faults, logger).
	Proxy        proxy.ReplayConfig
	Cassette     string
	ExitWhenDone bool
	CADir        string // "" = the default CA directory
	RecordActual string // "" = none (actual.go)
	Faults       faultOptions
}

func replayCommand() *cli.Command {
	return &cli.Command{
		Name:  "replay",
		Usage: "stand in for Graph: answer the bot from a cassette and push its notifications on time",
		Description: "Answers each request with the recorded response of the best-matching exchange, binding\n" +
			"pseudonyms to the bot's live ids, and delivers each notification to --bot + its recorded path\n" +
			"at its recorded offset (divided by --speed; 0 = no delays, order kept). Token requests are\n" +
			"answered offline. GET /__graphvcr/report shows what matched, diverged and was delivered.\n" +
			"Each notification recorded with a bearer token gets a fresh RS256 token signed with graphvcr's\n" +
			"own key (created beside the CA on first use); a bot that validates notifications accepts them\n" +
			"once its metadata URL is the one printed at start (or api.aps.skype.com resolves to graphvcr).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "cassette", Usage: "cassette FILE to replay (required)", EnvVars: envVars("cassette")},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "graph listener address (the bot's Graph base URL or HTTPS_PROXY)", EnvVars: envVars("listen")},
			&cli.StringFlag{Name: "bot", Usage: "bot's base URL; notifications go to BOT + their recorded path (required)", EnvVars: envVars("bot")},
			&cli.Float64Flag{Name: "speed", Value: 1, Usage: "timing factor: 1 = as recorded, 2 = twice as fast, 0 = no delays", EnvVars: envVars("speed")},
			&cli.BoolFlag{Name: "strict", Usage: "exit 1 on any divergence (unmatched request, undelivered notification)", EnvVars: envVars("strict")},
			&cli.BoolFlag{Name: "exit-when-done", Usage: "stop once every notification is delivered, instead of waiting for Ctrl-C", EnvVars: envVars("exit-when-done")},
			&cli.BoolFlag{Name: "tls", Usage: "serve the graph listener over HTTPS with graphvcr's CA (see 'graphvcr ca')", EnvVars: envVars("tls")},
			&cli.StringFlag{Name: "app-id", Usage: "audience of the notification tokens (the bot's app id); default: the client_id of the bot's token request", EnvVars: envVars("app-id")},
			recordActualFlag(),
		}, faultFlags()...),
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			opts := replayOptions{
				Proxy: proxy.ReplayConfig{
					Listen: c.String("listen"),
					Bot:    c.String("bot"),
					Speed:  c.Float64("speed"),
					Strict: c.Bool("strict"),
					TLS:    c.Bool("tls"),
					AppID:  c.String("app-id"),
				},
				Cassette:     c.String("cassette"),
				ExitWhenDone: c.Bool("exit-when-done"),
				CADir:        c.String("ca-dir"),
				RecordActual: c.String("record-actual"),
			}
			if err := opts.check(); err != nil {
				return err
			}
			faults, err := parseFaultFlags(c)
			if err != nil {
				return err
			}
			opts.Faults = faults
			return replay(c.Context, opts, c.App.Writer, c.App.ErrWriter, newLogger(c))
		},
	}
}

// check rejects options replay cannot start with, before anything is opened.
func (o replayOptions) check() error {
	p := o.Proxy
	if err := checkCassetteAndBot("replay", o.Cassette, p.Bot); err != nil {
		return err
	}
	if p.Speed < 0 || math.IsNaN(p.Speed) || math.IsInf(p.Speed, 0) {
		return usagef("replay", "--speed %v: want 0 or more (1 = recorded timing, 0 = no delays)", p.Speed)
	}
	if err := checkRecordActual(o.Cassette, o.RecordActual); err != nil {
		return err
	}
	return checkBaseURL("replay", "bot", p.Bot)
}

// replay serves the cassette until ctx is cancelled or, with
// --exit-when-done, every notification is delivered; then it prints the
// report's summary. It returns a checkError when --strict and the bot
// diverged from the recording.
func replay(ctx context.Context, opts replayOptions, stdout, stderr io.Writer, log *slog.Logger) error {
	r, err := openCassette(opts.Cassette)
	if err != nil {
		return err
	}
	defer r.Close()

	cfg := opts.Proxy
	if cfg.TLS {
		if cfg.CA, err = loadCA(opts.CADir); err != nil {
			return err
		}
	}
	signer, err := loadSigner(opts.CADir)
	if err != nil {
		return err
	}
	defer signer.Close()
	actual, err := createActual(opts.RecordActual, r)
	if err != nil {
		return err
	}
	if actual != nil {
		defer actual.Close() // on an early return; after closeActual's it does nothing
	}
	cfg.Cassette = r
	cfg.Logger = log
	cfg.Signer = signer
	cfg.Actual = actual
	opts.Faults.config(&cfg)
	rep, err := proxy.StartReplayer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("replay: start listener: %w", err)
	}
	warnExposed(stderr, "listen", cfg.Listen)
	fmt.Fprintf(stdout, "replaying %s (%d events) on %s; notifications go to %s\n", opts.Cassette, r.Len(), rep.URL(), cfg.Bot)
	aud := cfg.AppID
	if aud == "" {
		aud = "the client_id of the bot's token request"
	}
	fmt.Fprintf(stdout, "notification tokens: RS256, kid %s, iss %s, aud %s\n", signer.KeyID(), rep.Issuer(), aud)
	fmt.Fprintf(stdout, "notification metadata (the bot's OpenID configuration URL): %s\n", rep.OpenIDConfigURL())
	writeFaultStart(stdout, stderr, opts.Faults, rep)

	var done <-chan struct{} // nil: wait for Ctrl-C only
	if opts.ExitWhenDone {
		done = rep.Done()
	}
	select {
	case <-ctx.Done():
	case <-done:
	}
	// Cleanup must run although ctx is cancelled: a bounded grace period.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	closeErr := rep.Close(sctx)
	report := rep.Report()
	writeReport(stdout, &report)
	if err := closeActual(actual, opts.Cassette, stdout); err != nil {
		return err
	}
	if closeErr != nil {
		return fmt.Errorf("replay: stop: %w", closeErr)
	}
	if report.Failed() {
		return &checkError{msg: fmt.Sprintf("replay: the bot diverged from %s (%s); see the report above", opts.Cassette, divergence(&report))}
	}
	return nil
}

// writeReport prints what a replay did: a summary line, then each
// divergence with the recorded exchanges nearest to it.
func writeReport(w io.Writer, rep *proxy.Report) {
	failed := countDiverged(rep.Notifications)
	fmt.Fprintf(w, "replayed %d recorded exchanges (%d unused), %d unmatched requests; delivered %d notifications (%d diverged), %d pending\n",
		len(rep.Matched), len(rep.Unused), len(rep.Unmatched), len(rep.Notifications)-failed, failed, len(rep.Pending))
	for _, u := range rep.Unmatched {
		fmt.Fprintf(w, "  unmatched: %s %s (%d×)\n", u.Method, u.Path, u.Count)
		for _, n := range u.Nearest {
			fmt.Fprintf(w, "    nearest #%d %s %s: %s\n", n.Seq, n.Method, n.Path, strings.Join(n.Differences, "; "))
		}
	}
	for _, d := range rep.Notifications {
		switch {
		case d.Error != "":
			fmt.Fprintf(w, "  notification #%d %s: not delivered: %s\n", d.Seq, d.Path, d.Error)
		case d.Diverged():
			fmt.Fprintf(w, "  notification #%d %s: bot answered %d, recorded %d\n", d.Seq, d.Path, d.Status, d.RecordedStatus)
		}
	}
	for _, a := range rep.Abandoned {
		switch {
		case a.Closed:
		case a.Reproduced:
			fmt.Fprintf(w, "  abandoned: #%d %s %s: held unanswered until the bot gave up after %s (recorded %s)\n",
				a.Seq, a.Method, a.Path, a.Held.Round(time.Millisecond), a.Recorded.Round(time.Millisecond))
		default:
			fmt.Fprintf(w, "  abandoned: #%d %s %s: the bot still waited after %s (recorded %s); connection closed\n",
				a.Seq, a.Method, a.Path, a.Held.Round(time.Millisecond), a.Recorded.Round(time.Millisecond))
		}
	}
	for _, v := range rep.Validations {
		if v.Diverged() {
			fmt.Fprintf(w, "  validation of #%d at %s failed: %s (the subscription was refused)\n", v.Seq, v.Path, v.Error)
		}
	}
	for _, s := range rep.ServedAgain {
		fmt.Fprintf(w, "  served again: #%d %s %s (%d×): the bot repeated it more often than recorded\n", s.Seq, s.Method, s.Path, s.Count)
	}
	writeFaults(w, rep)
}

// divergence summarises why rep diverged, for the one error line.
func divergence(rep *proxy.Report) string {
	var parts []string
	if n := len(rep.Unmatched); n > 0 {
		parts = append(parts, fmt.Sprintf("%d unmatched %s", n, plural(n, "request", "requests")))
	}
	if n := countDiverged(rep.Abandoned); n > 0 {
		parts = append(parts, fmt.Sprintf("%d abandoned %s waited on longer than recorded", n, plural(n, "request", "requests")))
	}
	if n := countDiverged(rep.Notifications); n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s not delivered as recorded", n, plural(n, "notification", "notifications")))
	}
	if n := countDiverged(rep.Validations); n > 0 {
		parts = append(parts, fmt.Sprintf("%d subscription %s failed", n, plural(n, "validation", "validations")))
	}
	return strings.Join(parts, ", ")
}

// countDiverged counts the entries of one of a report's lists that
// diverged, by the entry's own Diverged rule.
func countDiverged[T interface{ Diverged() bool }](entries []T) int {
	n := 0
	for _, e := range entries {
		if e.Diverged() {
			n++
		}
	}
	return n
}

// loadSigner loads the notification signing key kept beside the CA in dir
// ("" = proxy.DefaultCADir()), creating it on first use. A key file that
// can not be used is an input error (exit 2), never silently replaced.
func loadSigner(dir string) (*proxy.Signer, error) {
	dir, err := keyDir("replay", "the notification signing key", dir)
	if err != nil {
		return nil, err
	}
	s, err := proxy.LoadSigner(dir)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	return s, nil
}
