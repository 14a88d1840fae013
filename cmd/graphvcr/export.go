package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/har"
)

// exportOptions is what "graphvcr export" needs.
type exportOptions struct {
	Path   string
	Format string // har or jsonl
	Output string // "" = stdout
}

// exportFormats are the formats export writes, in writeExport.
var exportFormats = formats{"har", "jsonl"}

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a cassette as HAR or JSON lines",
		ArgsUsage: "FILE",
		Description: "--format har writes HAR 1.2 (notifications are entries commented \"inbound notification\"),\n" +
			"for browser dev tools and HAR viewers. --format jsonl writes one JSON object per event,\n" +
			"the same objects as 'graphvcr show --format json'. Writes to stdout without --output.",
		Flags: []cli.Flag{
			exportFormats.flag(""),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to this file instead of stdout", EnvVars: envVars("output")},
		},
		Action: func(c *cli.Context) error {
			path, err := oneFile(c)
			if err != nil {
				return err
			}
			opts := exportOptions{Path: path, Format: c.String("format"), Output: c.String("output")}
			if opts.Format == "" {
				return usagef("export", "missing --format %s", strings.Join(exportFormats, " or --format "))
			}
			if err := exportFormats.check("export", opts.Format); err != nil {
				return err
			}
			return export(c.App.Writer, opts)
		},
	}
}

// export writes the cassette at opts.Path to opts.Output, or to stdout when
// Output is "". A file is written under a temporary name and renamed into
// place, so a failed export never leaves half a file.
func export(stdout io.Writer, opts exportOptions) error {
	r, err := openCassette(opts.Path)
	if err != nil {
		return err
	}
	defer r.Close()

	if opts.Output == "" {
		err := writeBuffered(stdout, func(w io.Writer) error { return writeExport(w, r, opts.Format) })
		return readError("export", opts.Path, err)
	}

	if same(opts.Output, opts.Path) {
		return usagef("export", "--output %s is the cassette itself; choose another file", opts.Output)
	}
	f, err := os.CreateTemp(filepath.Dir(opts.Output), "."+filepath.Base(opts.Output)+".*")
	if err != nil {
		return &inputError{op: "create", path: opts.Output, err: err}
	}
	defer os.Remove(f.Name()) // no-op once renamed
	// On an error the temporary file is removed: flushing what was
	// written before it does no harm.
	err = writeBuffered(f, func(w io.Writer) error { return writeExport(w, r, opts.Format) })
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return readError("export", opts.Path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("export %s: %w", opts.Output, err)
	}
	if err := os.Rename(f.Name(), opts.Output); err != nil {
		return &inputError{op: "write", path: opts.Output, err: err}
	}
	return nil
}

// writeExport writes r to w in format, which the action has checked.
func writeExport(w io.Writer, r *cassette.Reader, format string) error {
	if format == "har" {
		return har.Write(w, r)
	}
	return cassette.WriteJSONL(w, r)
}

// same reports whether paths a and b name the same existing file.
func same(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
