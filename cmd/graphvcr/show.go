package main

import (
	"bufio"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/cassette/timeline"
)

// showOptions is what "graphvcr show" needs.
type showOptions struct {
	Path   string
	Format string // text, json, mermaid or html
	Color  bool   // ANSI colours in text output
}

func showCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "print a cassette as a timeline",
		ArgsUsage: "FILE",
		Description: "Prints every recorded exchange, grouped by call: its offset from session start,\n" +
			"direction, method, path, status, latency and, for a notification, what it reports and\n" +
			"the exchange that triggered it.\n" +
			"--format json prints one JSON object per event; mermaid a sequence diagram for a\n" +
			"GitHub issue; html a self-contained page.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: "text", Usage: "text, json, mermaid or html", EnvVars: envVars("format")},
		},
		Action: func(c *cli.Context) error {
			path, err := oneFile(c)
			if err != nil {
				return err
			}
			opts := showOptions{Path: path, Format: c.String("format"), Color: colorFor(c.App.Writer)}
			switch opts.Format {
			case "text", "json", "mermaid", "html":
			default:
				return usagef("show", "--format %q: want text, json, mermaid or html", opts.Format)
			}
			return show(c.App.Writer, opts)
		},
	}
}

// show writes the cassette at opts.Path to w in opts.Format.
func show(w io.Writer, opts showOptions) error {
	r, err := openCassette(opts.Path)
	if err != nil {
		return err
	}
	defer r.Close()

	bw := bufio.NewWriter(w)
	switch opts.Format {
	case "text":
		err = timeline.Text(bw, r, opts.Color)
	case "json":
		err = timeline.JSON(bw, r)
	case "mermaid":
		err = timeline.Mermaid(bw, r)
	case "html":
		err = timeline.HTML(bw, r)
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return readError("show", opts.Path, err)
}

// colorFor reports whether text written to w should be coloured.
func colorFor(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && timeline.ColorEnabled(f)
}
