package main

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/changes"
	"github.com/graphvcr/graphvcr/redact"
)

// recordOptions is everything "graphvcr record" takes from its flags.
type recordOptions struct {
	// Proxy is what the recorder takes as the flags give it: listeners,
	// upstreams, bot, --tls and --max-body. record adds the parts it
	// builds from the other options (CA, cassette, redactor, key, logger).
	Proxy    proxy.RecordConfig
	Cassette string
	Append   bool
	Force    bool
	Quiet    bool
	Policy   string // redaction policy file; "" = the default policy
	CADir    string // "" = the default CA directory
	// DecryptKey is the app's private key FILE (PEM or PKCS#12) that
	// decrypts rich change notifications; "" stores them without their
	// resource data. DecryptKeyPassword opens an encrypted PKCS#12 file.
	DecryptKey         string
	DecryptKeyPassword string
}

func recordCommand() *cli.Command {
	return &cli.Command{
		Name:  "record",
		Usage: "proxy a bot's Graph traffic and its notifications, recording them redacted into a cassette",
		Description: "Point the bot's Graph base URL (or HTTPS_PROXY) at --listen and your tunnel's target (the\n" +
			"bot's callback) at --notify-listen; notifications are forwarded to --bot + their path.\n" +
			"Press Ctrl-C to stop: in-flight exchanges finish, the cassette is closed, a summary printed.\n" +
			"Every exchange is durable on disk before it is relayed.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cassette", Usage: "cassette FILE to write (required)", EnvVars: envVars("cassette")},
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:8080", Usage: "graph listener address (the bot's Graph base URL or HTTPS_PROXY)", EnvVars: envVars("listen")},
			&cli.StringFlag{Name: "upstream", Value: "https://graph.microsoft.com", Usage: "Graph base URL to forward to", EnvVars: envVars("upstream")},
			&cli.StringFlag{Name: "token-upstream", Value: "https://login.microsoftonline.com", Usage: "token endpoint base URL to forward to", EnvVars: envVars("token-upstream")},
			&cli.BoolFlag{Name: "tls", Usage: "serve the graph listener over HTTPS with graphvcr's CA (see 'graphvcr ca')", EnvVars: envVars("tls")},
			&cli.StringFlag{Name: "notify-listen", Value: "127.0.0.1:8081", Usage: "notification listener address (your tunnel's target)", EnvVars: envVars("notify-listen")},
			&cli.StringFlag{Name: "bot", Usage: "bot's base URL; a notification to /api/calls goes to BOT/api/calls (required)", EnvVars: envVars("bot")},
			&cli.BoolFlag{Name: "append", Usage: "add to an existing cassette", EnvVars: envVars("append")},
			&cli.BoolFlag{Name: "force", Usage: "replace an existing cassette", EnvVars: envVars("force")},
			&cli.BoolFlag{Name: "quiet", Usage: "print no progress, only errors", EnvVars: envVars("quiet")},
			&cli.Int64Flag{Name: "max-body", Usage: "largest request or response body accepted, in bytes; a larger one is refused and the refusal recorded (0 = 64 MiB)", EnvVars: envVars("max-body")},
			&cli.StringFlag{Name: "policy", Usage: "redaction policy FILE (JSON: keepPaths, keepHeaders, redactPaths, redactPatterns)", EnvVars: envVars("policy")},
			&cli.StringFlag{Name: "decrypt-key", Usage: "the app's private key FILE (PEM or PKCS#12): rich change notifications are stored decrypted and redacted, never encrypted", EnvVars: envVars("decrypt-key")},
			&cli.StringFlag{Name: "decrypt-key-password", Usage: "password of a PKCS#12 --decrypt-key", EnvVars: envVars("decrypt-key-password")},
		},
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			opts := recordOptions{
				Proxy: proxy.RecordConfig{
					Listen:        c.String("listen"),
					NotifyListen:  c.String("notify-listen"),
					Upstream:      c.String("upstream"),
					TokenUpstream: c.String("token-upstream"),
					Bot:           c.String("bot"),
					TLS:           c.Bool("tls"),
					MaxBody:       c.Int64("max-body"),
				},
				Cassette: c.String("cassette"),
				Append:   c.Bool("append"),
				Force:    c.Bool("force"),
				Quiet:    c.Bool("quiet"),
				Policy:   c.String("policy"),
				CADir:    c.String("ca-dir"),

				DecryptKey:         c.String("decrypt-key"),
				DecryptKeyPassword: c.String("decrypt-key-password"),
			}
			if err := opts.check(); err != nil {
				return err
			}
			return record(c.Context, opts, c.App.Writer, c.App.ErrWriter, newLogger(c))
		},
	}
}

// check rejects options record cannot start with, before anything is created.
func (o recordOptions) check() error {
	p := o.Proxy
	if err := checkCassetteAndBot("record", o.Cassette, p.Bot); err != nil {
		return err
	}
	switch {
	case o.Append && o.Force:
		return usagef("record", "--append and --force exclude each other")
	case p.MaxBody < 0:
		return usagef("record", "--max-body %d: want 0 or more bytes", p.MaxBody)
	}
	for _, u := range []struct{ flag, val string }{{"upstream", p.Upstream}, {"token-upstream", p.TokenUpstream}, {"bot", p.Bot}} {
		if err := checkBaseURL("record", u.flag, u.val); err != nil {
			return err
		}
	}
	for _, a := range []struct{ flag, val string }{{"listen", p.Listen}, {"notify-listen", p.NotifyListen}} {
		if err := checkListenAddr("record", a.flag, a.val); err != nil {
			return err
		}
	}
	return nil
}

// checkCassetteAndBot rejects a record or replay (cmd) missing one of the
// two flags both need: the cassette and the bot's base URL.
func checkCassetteAndBot(cmd, cassette, bot string) error {
	switch {
	case cassette == "":
		return usagef(cmd, "missing --cassette FILE")
	case bot == "":
		return usagef(cmd, "missing --bot URL (the bot's base URL, e.g. http://127.0.0.1:9442)")
	}
	return nil
}

// checkListenAddr rejects a value of --flag that is not HOST:PORT with a
// port number (0 = any free port), before any listener is tried.
func checkListenAddr(cmd, flag, val string) error {
	_, port, err := net.SplitHostPort(val)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return usagef(cmd, "--%s %q: want HOST:PORT, e.g. 127.0.0.1:8080", flag, val)
	}
	return nil
}

// checkBaseURL rejects a value of --flag that is not an absolute http(s) URL.
func checkBaseURL(cmd, flag, val string) error {
	u, err := url.Parse(val)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef(cmd, "--%s %q: want an http:// or https:// URL", flag, val)
	}
	return nil
}

// shutdownTimeout bounds how long record and replay wait, after Ctrl-C, for
// exchanges in flight to finish.
const shutdownTimeout = 30 * time.Second

// record runs a recording session until ctx is cancelled (Ctrl-C, SIGTERM):
// it creates the cassette, starts the recorder's two listeners, and on
// cancellation lets in-flight exchanges finish, closes the cassette and
// prints a summary. stderr receives warnings a user must see whatever the
// log level: a listener reachable from other hosts, a cassette removed while
// recording.
func record(ctx context.Context, opts recordOptions, stdout, stderr io.Writer, log *slog.Logger) (err error) {
	var policy *redact.Policy
	if opts.Policy != "" {
		if policy, err = redact.LoadPolicy(opts.Policy); err != nil {
			return &inputError{op: "read policy", path: opts.Policy, err: err}
		}
	}
	// A bad key is found now, before the session, not at the first rich
	// notification.
	var decryptKey crypto.Decrypter
	if opts.DecryptKey != "" {
		data, err := os.ReadFile(opts.DecryptKey)
		if err != nil {
			return &inputError{op: "read --decrypt-key", path: opts.DecryptKey, err: err}
		}
		key, err := changes.ParseKey(data, opts.DecryptKeyPassword)
		if err != nil {
			return &inputError{op: "read --decrypt-key", path: opts.DecryptKey, err: err}
		}
		decryptKey = key
	}
	// The CA is needed for --tls and for HTTPS_PROXY (forward) mode, which
	// any bot may use, so it is always loaded (created on first use).
	ca, err := loadCA(opts.CADir)
	if err != nil {
		return err
	}
	red := redact.New(policy)
	meta := proxy.RecordMeta(opts.Proxy.Upstream, opts.Proxy.TokenUpstream, red)
	meta.Version = version
	w, err := cassette.Create(opts.Cassette, cassette.CreateOptions{Append: opts.Append, Force: opts.Force, Meta: meta})
	if err != nil {
		if errors.Is(err, cassette.ErrCorrupt) {
			if fi, serr := os.Stat(opts.Cassette); serr == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
				err = errZeroLength
			}
		}
		return &inputError{op: "create", path: opts.Cassette, err: err}
	}
	// Remembered to notice the file (or its directory) being removed while
	// recording: the open file keeps taking events, which would all vanish
	// when it is closed.
	created, _ := os.Stat(opts.Cassette)
	started := false
	defer func() {
		rescueErr := rescueCassette(opts.Cassette, created, w.Len(), stderr)
		if cerr := w.Close(); cerr != nil && err == nil {
			err = &inputError{op: "close", path: opts.Cassette, err: cerr}
		}
		if rescueErr != nil && err == nil {
			err = rescueErr
		}
		if !started && !opts.Append && w.Len() == 0 {
			// Nothing was recorded: leave no empty cassette that the next
			// attempt would refuse as existing.
			os.Remove(opts.Cassette)
		}
	}()

	cfg := opts.Proxy // the flags filled the rest
	cfg.CA = ca
	cfg.Cassette = w
	cfg.Redactor = red
	cfg.DecryptKey = decryptKey
	cfg.Logger = log
	if !opts.Quiet {
		cfg.Progress = stdout
	}
	rec, err := proxy.StartRecorder(ctx, cfg)
	if err != nil {
		return fmt.Errorf("record: start listeners: %w", err)
	}
	started = true
	if !log.Enabled(ctx, slog.LevelWarn) { // else the recorder logs its own warning
		warnExposed(stderr, "listen", cfg.Listen)
		warnExposed(stderr, "notify-listen", cfg.NotifyListen)
	}
	if !opts.Quiet {
		fmt.Fprintf(stdout, "recording to %s\n  graph listener:        %s  (the bot's Graph base URL or HTTPS_PROXY)\n"+
			"  notification listener: %s  (your tunnel's target)\n  notifications go to:   %s\npress Ctrl-C to stop\n",
			opts.Cassette, rec.URL(), rec.NotifyURL(), cfg.Bot)
	}

	<-ctx.Done()
	// Cleanup must run although ctx is cancelled: a bounded grace period.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	closeErr := rec.Close(sctx)
	fmt.Fprintln(stdout, rec.Summary())
	if closeErr != nil {
		return fmt.Errorf("record: stop: %w", closeErr)
	}
	return nil
}
