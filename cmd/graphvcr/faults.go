package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/fault"
)

// faultOptions is what "graphvcr replay" takes from --fault and --seed.
type faultOptions struct {
	Specs  []fault.Spec
	Seed   int64
	Seeded bool // --seed was given; else Seed was drawn
}

// faultList collects each --fault as given. urfave/cli's StringSliceFlag
// would split a value at commas, and a spec's keys are comma-separated.
type faultList struct{ specs []string }

// Set adds one --fault. From GRAPHVCR_FAULT, specs are separated by ";".
func (l *faultList) Set(v string) error {
	l.specs = append(l.specs, v)
	return nil
}

func (l *faultList) String() string { return strings.Join(l.specs, " ") }

// faultFlags are replay's fault injection flags.
func faultFlags() []cli.Flag {
	return []cli.Flag{
		&cli.GenericFlag{Name: "fault", Value: &faultList{}, EnvVars: envVars("fault"),
			Usage: "inject a fault of real Graph: ACTION[:key=value,...] with ACTION drop, duplicate, delay, reorder (notifications), " +
				"status, reset, latency (requests) and keys match, p, nth, by, code, retry-after; repeatable (in " + envName("fault") + ", separate specs with ';')"},
		&cli.StringFlag{Name: "seed", Usage: "seed of the fault draws: the same seed gives the same faults (default: drawn and printed at start)", EnvVars: envVars("seed")},
	}
}

// parseFaultFlags reads --fault and --seed: a bad spec or seed is a usage
// error (exit 2) naming it and what is valid.
func parseFaultFlags(c *cli.Context) (faultOptions, error) {
	var o faultOptions
	if l, ok := c.Generic("fault").(*faultList); ok {
		for _, v := range l.specs {
			for _, text := range splitEnvSpecs(v) {
				s, err := fault.Parse(text)
				if err != nil {
					return o, usagef("replay", "%v", err)
				}
				o.Specs = append(o.Specs, s)
			}
		}
	}
	if v := strings.TrimSpace(c.String("seed")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return o, usagef("replay", "--seed %q: want a whole number, e.g. the one a previous run printed", v)
		}
		o.Seed, o.Seeded = n, true
	} else if len(o.Specs) > 0 {
		o.Seed = fault.RandomSeed()
	}
	return o, nil
}

// splitEnvSpecs splits a value holding several specs separated by ";"
// (GRAPHVCR_FAULT); a value with none is one spec.
func splitEnvSpecs(v string) []string {
	if !strings.Contains(v, ";") {
		return []string{v}
	}
	var out []string
	for _, s := range strings.Split(v, ";") {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// config sets the fault fields of a replay's config.
func (o faultOptions) config(cfg *proxy.ReplayConfig) {
	cfg.Faults, cfg.Seed = o.Specs, o.Seed
}

// writeFaultStart prints, with the start lines, the seed (so that a red
// run can be rerun with the same faults) and each spec that selects less
// than it says on this cassette.
func writeFaultStart(stdout, stderr io.Writer, o faultOptions, rep *proxy.Replayer) {
	if len(o.Specs) == 0 {
		return
	}
	fmt.Fprintln(stdout, fault.SeedLine(o.Seed))
	for _, w := range rep.FaultWarnings() {
		fmt.Fprintf(stderr, "graphvcr: warning: %s\n", w)
	}
}

// writeFaults prints the faults a replay injected, in the order applied.
func writeFaults(w io.Writer, rep *proxy.Report) {
	for _, f := range rep.Faults {
		line := fmt.Sprintf("  fault: #%d %s: %s", f.Seq, f.Action, f.Detail)
		if f.Occurrence > 0 {
			line += fmt.Sprintf(" (request sent %d×)", f.Occurrence)
		}
		if f.BotStatus != 0 {
			line += fmt.Sprintf("; the bot answered %d", f.BotStatus)
		}
		fmt.Fprintln(w, line)
	}
}
