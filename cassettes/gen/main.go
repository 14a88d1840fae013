// Command gen records graphvcr's sample cassettes: each graphtest scenario,
// played by the sample bot against the Graph simulator through graphvcr's
// recorder, is written to DIR/SCENARIO.bolt; the change-notification flows,
// played by the sample subscriber app, to DIR/change-notifications.bolt. It is what
// `go generate ./cassettes` runs, in the cassettes directory; DIR defaults to
// the current directory.
//
//	go run ./cassettes/gen -dir cassettes [-scenario NAME,...]
//
// The seeds are fixed, so every run issues the same ids and the same
// simulated delays; only the measured latencies and the creation time
// differ from one run to the next.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"

	"github.com/graphvcr/graphvcr/proxy/graphtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run records the scenarios args ask for and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", ".", "directory the cassettes are written to")
	only := fs.String("scenario", "", "comma-separated scenarios to record (default: all of them)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	scenarios, changes, err := pick(*only)
	if err != nil {
		fmt.Fprintln(stderr, "gen:", err)
		return 2
	}
	if changes {
		path := filepath.Join(*dir, ChangeNotifications+".bolt")
		sum, err := recordChanges(ctx, path)
		if err != nil {
			fmt.Fprintln(stderr, "gen:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: %s\n", path, sum)
	}
	for _, s := range scenarios {
		path := filepath.Join(*dir, string(s)+".bolt")
		sum, err := record(ctx, path, s)
		if err != nil {
			fmt.Fprintln(stderr, "gen:", err)
			return 1
		}
		fmt.Fprintf(stdout, "%s: %s\n", path, sum)
	}
	return 0
}

// pick returns the scenarios named in list (comma-separated), and whether
// it names ChangeNotifications; all of them when list is empty.
func pick(list string) (scenarios []graphtest.Scenario, changes bool, err error) {
	all := graphtest.Scenarios()
	if list == "" {
		return all, true, nil
	}
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if name == ChangeNotifications {
			changes = true
			continue
		}
		s := graphtest.Scenario(name)
		if !slices.Contains(all, s) {
			return nil, false, errors.New("unknown scenario " + string(s) + "; known: " + fmt.Sprint(all) + " and " + ChangeNotifications)
		}
		scenarios = append(scenarios, s)
	}
	return scenarios, changes, nil
}
