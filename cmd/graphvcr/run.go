package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/graphvcr/graphvcr/proxy"
	"github.com/urfave/cli/v2"
)

// run is the whole program behind main: it parses args, runs one command and
// returns the exit status. It is the only place that prints an error, as one
// line on stderr, so every command's deferred cleanup (closing a cassette,
// stopping listeners) has run before the process exits.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.RunContext(ctx, reorderArgs(args, app))
	if err == nil {
		return exitOK
	}
	code, line := explain(err)
	fmt.Fprintln(stderr, "graphvcr: "+line)
	return code
}

// newApp builds the command tree. stdout receives results (and help);
// stderr receives logs. A fresh App is built for every run because urfave/cli
// stores parsed values in the flag structs.
func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "graphvcr",
		Usage:   "record and replay Microsoft Graph calling-bot traffic",
		Version: version,
		Description: "graphvcr sits between a calling bot and Microsoft Graph. 'record' forwards the bot's\n" +
			"requests to Graph and Graph's notifications to the bot and stores every exchange, redacted,\n" +
			"in a cassette; 'replay' stands in for Graph from that cassette, offline.\n\n" +
			"Exit status: 0 ok; 1 findings (scan) or divergence (replay --strict); 2 bad usage or input.\n" +
			"Every flag also reads GRAPHVCR_<FLAG> (upper case, '-' as '_'), e.g. GRAPHVCR_SPEED=0.",
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{
				Name:    "ca-dir",
				Usage:   "directory of graphvcr's own CA (ca.pem, ca-key.pem); default: the user config dir + /graphvcr",
				EnvVars: envVars("ca-dir"),
			},
			&cli.StringFlag{
				Name:    "log-level",
				Value:   "error",
				Usage:   "log level on stderr: debug, info, warn (divergences and retries as they happen) or error",
				EnvVars: envVars("log-level"),
			},
		},
		Commands: []*cli.Command{
			recordCommand(),
			replayCommand(),
			showCommand(),
			diffCommand(),
			exportCommand(),
			scanCommand(),
			caCommand(),
			demoCommand(),
		},
		Before: func(c *cli.Context) error {
			_, err := parseLevel(c.String("log-level"))
			return err
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("", "unknown command %q", c.Args().First())
			}
			_ = cli.ShowAppHelp(c)
			return usagef("", "no command given")
		},
		OnUsageError:   onUsageError,
		ExitErrHandler: func(*cli.Context, error) {}, // run maps errors to exit codes; urfave would os.Exit inside Run
	}
	for _, c := range app.Commands {
		c.OnUsageError = onUsageError // urfave/cli does not pass the App's down
	}
	return app
}

// envVars returns the environment variable that backs the flag name:
// GRAPHVCR_ + the name in upper case with '-' as '_'.
func envVars(name string) []string {
	return []string{envName(name)}
}

func envName(flag string) string {
	return "GRAPHVCR_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// parseLevel turns --log-level into a slog level.
func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, usagef("", "--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// newLogger returns the logger commands hand to packages: text on stderr at --log-level.
func newLogger(c *cli.Context) *slog.Logger {
	l, err := parseLevel(c.String("log-level"))
	if err != nil {
		l = slog.LevelError // Before already rejected a bad level
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: l}))
}

// warnExposed prints one warning line on w when addr, the value of --flag,
// binds more than the loopback interface: anyone who can reach the machine
// can then use the listener and read what it relays. It is printed whatever
// the log level, because a listener open to the network is rarely intended.
func warnExposed(w io.Writer, flag, addr string) {
	if proxy.IsLoopbackAddr(addr) {
		return
	}
	fmt.Fprintf(w, "graphvcr: warning: --%s %s is not a loopback address: anyone who can reach this host can use the listener; use 127.0.0.1 unless that is intended\n", flag, addr)
}
