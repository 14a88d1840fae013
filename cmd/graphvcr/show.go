package main

import (
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/timeline"
)

// showOptions is what "graphvcr show" needs.
type showOptions struct {
	Path   string
	Format string // text, json, mermaid or html
	Color  bool   // ANSI colours in text output
}

// showFormats are the formats show writes, in show's switch.
var showFormats = formats{"text", "json", "mermaid", "html"}

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
			showFormats.flag("text"),
		},
		Action: func(c *cli.Context) error {
			path, err := oneFile(c)
			if err != nil {
				return err
			}
			opts := showOptions{Path: path, Format: c.String("format"), Color: colorFor(c.App.Writer)}
			if err := showFormats.check("show", opts.Format); err != nil {
				return err
			}
			return show(c.App.Writer, opts)
		},
	}
}

// show writes the cassette at opts.Path to w in opts.Format.
func show(w io.Writer, opts showOptions) error {
	return renderCassette(w, "show", opts.Path, func(w io.Writer, r *cassette.Reader) error {
		switch opts.Format {
		case "text":
			return timeline.Text(w, r, opts.Color)
		case "json":
			return timeline.JSON(w, r)
		case "mermaid":
			return timeline.Mermaid(w, r)
		case "html":
			return timeline.HTML(w, r)
		}
		return nil
	})
}

// colorFor reports whether text written to w should be coloured.
func colorFor(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && timeline.ColorEnabled(f)
}
