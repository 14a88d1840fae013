package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/redact"
)

// scanOptions is what "graphvcr scan" needs.
type scanOptions struct {
	Paths  []string
	Format string // text or json
}

// scanFormats are the formats of scan's report.
var scanFormats = formats{"text", "json"}

func scanCommand() *cli.Command {
	return &cli.Command{
		Name:      "scan",
		Usage:     "check cassettes for secrets and real identifiers before sharing them",
		ArgsUsage: "FILE...",
		Description: "Reads every event of each cassette (URLs, headers, bodies, transport errors and the\n" +
			"kept claims of notification bearer tokens) and lists whatever still looks like a secret\n" +
			"(a JWT, a client secret) or a real identifier (a GUID, phone number or email that is not\n" +
			"one of the cassette's pseudonyms). Exit status 1 when anything is found, 0 when every\n" +
			"cassette is clean, 2 when a file is not a readable cassette.",
		Flags: []cli.Flag{
			scanFormats.flag("text"),
		},
		Action: func(c *cli.Context) error {
			opts := scanOptions{Paths: c.Args().Slice(), Format: c.String("format")}
			if len(opts.Paths) == 0 {
				return usagef("scan", "missing cassette FILE")
			}
			if err := scanFormats.check("scan", opts.Format); err != nil {
				return err
			}
			return scan(c.Context, c.App.Writer, opts)
		},
	}
}

// scanFinding is one finding in one cassette event.
type scanFinding struct {
	Seq    uint64 `json:"seq"`
	Where  string `json:"where"`
	Kind   string `json:"kind"`
	Masked string `json:"masked"`
}

// scanResult is what scan found in one cassette.
type scanResult struct {
	File   string `json:"file"`
	Events int    `json:"events"`
	// Swept is the cassette's sweep status: "yes", "no" or "unknown".
	Swept string `json:"swept"`
	// Warning says what an unswept cassette may hold that scan cannot see.
	Warning  string        `json:"warning,omitempty"`
	Findings []scanFinding `json:"findings"`
}

// sweepWarning says what may remain in clear in a cassette that was not
// swept, and what to do. A warning does not change scan's exit status:
// scan reports what it sees; a value learned late is, by definition,
// something that looks like nothing in the events before it.
func sweepWarning(s cassette.SweepState) string {
	switch s {
	case cassette.SweepPending:
		return "not swept: the recorder did not stop cleanly (killed?), so a name or host learned from a later event " +
			"may remain in clear in free text of the events before it; re-record and stop with Ctrl-C, " +
			"or check the free-text fields (messages, subjects) by hand before sharing"
	case cassette.SweepUnknown:
		return "recorded by a graphvcr that did not sweep: a name or host learned from a later event may remain in clear " +
			"in free text of the events before it; re-record with this version before sharing"
	}
	return ""
}

// scan checks every cassette in opts.Paths and reports to w. It returns a
// checkError when anything was found, an inputError (and stops) at the first
// file that is not a readable cassette.
func scan(ctx context.Context, w io.Writer, opts scanOptions) error {
	bw := bufio.NewWriter(w)
	defer bw.Flush()

	results := make([]scanResult, 0, len(opts.Paths))
	total, dirty := 0, 0
	for _, path := range opts.Paths {
		res, err := scanFile(ctx, path)
		if err != nil {
			return err
		}
		results = append(results, res)
		total += len(res.Findings)
		if len(res.Findings) > 0 {
			dirty++
		}
		if opts.Format == "text" {
			writeScanText(bw, res)
		}
	}
	if opts.Format == "json" {
		enc := json.NewEncoder(bw)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Findings int          `json:"findings"`
			Files    []scanResult `json:"files"`
		}{total, results}); err != nil {
			return fmt.Errorf("scan: write report: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("scan: write report: %w", err)
	}
	if total > 0 {
		return &checkError{msg: fmt.Sprintf("scan: %d %s in %d of %d %s; do not share until re-recorded with a redaction policy that removes them",
			total, plural(total, "finding", "findings"), dirty, len(results), plural(len(results), "cassette", "cassettes"))}
	}
	return nil
}

// scanFile runs redact's Scanner over every part of every event of one cassette.
func scanFile(ctx context.Context, path string) (scanResult, error) {
	res := scanResult{File: path, Findings: []scanFinding{}}
	r, err := openCassette(path)
	if err != nil {
		return res, err
	}
	defer r.Close()
	res.Swept = r.Meta().Swept.String()
	res.Warning = sweepWarning(r.Meta().Swept)

	s := redact.NewScanner(r.Pseudonyms())
	err = r.Each(func(e *cassette.Event) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		res.Events++
		add := func(where string, data []byte) {
			if len(data) == 0 {
				return
			}
			for _, f := range s.Scan(where, data) {
				if f.Where == "" {
					f.Where = where
				}
				res.Findings = append(res.Findings, scanFinding{Seq: e.Seq, Where: f.Where, Kind: f.Kind, Masked: f.Masked})
			}
		}
		add("request.url", []byte(e.Request.URL))
		scanHeader(add, "request.header.", e.Request.Header)
		add("request.body", e.Request.Body)
		scanHeader(add, "response.header.", e.Response.Header)
		add("response.body", e.Response.Body)
		add("error", []byte(e.Error))
		if e.Bearer != nil {
			for _, k := range slices.Sorted(maps.Keys(e.Bearer.Claims)) {
				add("bearer.claims."+k, []byte(e.Bearer.Claims[k]))
			}
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return res, fmt.Errorf("scan %s: %w", path, ctx.Err())
		}
		return res, readError("scan", path, err)
	}
	return res, nil
}

// scanHeader scans every value of h, in name order so reports are stable.
func scanHeader(add func(string, []byte), prefix string, h http.Header) {
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			add(prefix+k, []byte(v))
		}
	}
}

// writeScanText prints "FILE: warning: ..." for an unswept cassette, then
// one line per finding, "FILE seq N WHERE: KIND MASKED", or "FILE: clean, N events".
func writeScanText(w io.Writer, res scanResult) {
	if res.Warning != "" {
		fmt.Fprintf(w, "%s: warning: %s\n", res.File, res.Warning)
	}
	if len(res.Findings) == 0 {
		fmt.Fprintf(w, "%s: clean, %d %s\n", res.File, res.Events, plural(res.Events, "event", "events"))
		return
	}
	for _, f := range res.Findings {
		fmt.Fprintf(w, "%s seq %d %s: %s %s\n", res.File, f.Seq, f.Where, f.Kind, f.Masked)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
