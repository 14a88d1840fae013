package main

import (
	"errors"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/cassette/diff"
)

// diffOptions is what "graphvcr diff" needs.
type diffOptions struct {
	PathA, PathB string
	Format       string // text, json or html
	Color        bool   // ANSI colours in text output
	Diff         diff.Options
}

// diffFormats are the formats diff writes, in runDiff's switch.
var diffFormats = formats{"text", "json", "html"}

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "compare two cassettes and print what differs",
		ArgsUsage: "A.bolt B.bolt",
		Description: "Aligns the two sessions call by call (an event present in one only is one line) and\n" +
			"prints, in the order of the session, events added or removed, and for events in both:\n" +
			"method, path, query, status, transport error, body fields (JSON, by field path) and gaps\n" +
			"that moved by more than --tolerance. Pseudonyms compare by structure, so two recordings\n" +
			"numbered differently are equal. Exit status 0 when equal, 1 when different, 2 on bad input.",
		Flags: []cli.Flag{
			diffFormats.flag("text"),
			&cli.DurationFlag{Name: "tolerance", Value: diff.DefaultTolerance, Usage: "how far the gap before an event may move", EnvVars: envVars("tolerance")},
			&cli.BoolFlag{Name: "ignore-timing", Usage: "do not compare timing", EnvVars: envVars("ignore-timing")},
			&cli.StringSliceFlag{Name: "ignore", Usage: "leave out requests whose path matches this glob, e.g. '/v1.0/communications/calls/*/operations/*' (repeatable)", EnvVars: envVars("ignore")},
			&cli.StringSliceFlag{Name: "ignore-field", Usage: "do not compare this body field and what is below it, e.g. 'clientContext' or 'participants[*].id' (repeatable)", EnvVars: envVars("ignore-field")},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return usagef("diff", "want two cassettes A.bolt B.bolt, got %d arguments", c.NArg())
			}
			opts := diffOptions{
				PathA:  c.Args().Get(0),
				PathB:  c.Args().Get(1),
				Format: c.String("format"),
				Color:  colorFor(c.App.Writer),
				Diff: diff.Options{
					Tolerance:    c.Duration("tolerance"),
					IgnoreTiming: c.Bool("ignore-timing"),
					Ignore:       c.StringSlice("ignore"),
					IgnoreFields: c.StringSlice("ignore-field"),
					Logger:       newLogger(c),
				},
			}
			if err := diffFormats.check("diff", opts.Format); err != nil {
				return err
			}
			if opts.Diff.Tolerance <= 0 && !opts.Diff.IgnoreTiming {
				return usagef("diff", "--tolerance %v: want a positive duration, e.g. 50ms, or --ignore-timing", opts.Diff.Tolerance)
			}
			if err := opts.Diff.Validate(); err != nil {
				return usagef("diff", "%s", err)
			}
			return runDiff(c.App.Writer, opts)
		},
	}
}

// runDiff compares the cassettes of opts and writes the result to w. It
// returns a checkError (exit 1) when they differ.
func runDiff(w io.Writer, opts diffOptions) error {
	a, err := openCassette(opts.PathA)
	if err != nil {
		return err
	}
	defer a.Close()
	b, err := openCassette(opts.PathB)
	if err != nil {
		return err
	}
	defer b.Close()

	res, err := diff.Compare(a, b, opts.Diff)
	if err != nil {
		path := opts.PathA
		var re *diff.ReadError
		if errors.As(err, &re) {
			path = re.Path
		}
		return readError("diff", path, err)
	}
	err = writeBuffered(w, func(w io.Writer) error {
		switch opts.Format {
		case "text":
			return res.WriteText(w, opts.Color)
		case "json":
			return res.WriteJSON(w)
		case "html":
			return res.WriteHTML(w)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !res.Equal() {
		return &checkError{msg: "cassettes differ: " + res.Summary()}
	}
	return nil
}
