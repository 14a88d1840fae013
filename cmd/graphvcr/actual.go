package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
)

// recordActualFlag is replay's --record-actual: where to write what the bot
// actually did, as a cassette to diff against the one replayed.
func recordActualFlag() cli.Flag {
	return &cli.StringFlag{
		Name:    "record-actual",
		Usage:   "write what the bot actually did (its requests with graphvcr's answers, the notifications with its answers) to cassette `FILE`, replaced if it exists; compare with 'graphvcr diff CASSETTE FILE'",
		EnvVars: envVars("record-actual"),
	}
}

// checkRecordActual rejects an actual cassette that would overwrite the one replayed.
func checkRecordActual(recorded, actual string) error {
	if actual == "" {
		return nil
	}
	a, errA := filepath.Abs(actual)
	r, errR := filepath.Abs(recorded)
	if (errA == nil && errR == nil && a == r) || same(actual, recorded) {
		return usagef("replay", "--record-actual %s is the cassette being replayed; give another file", actual)
	}
	return nil
}

// createActual creates the cassette of --record-actual for a replay of
// recorded; nil, nil when path is "".
func createActual(path string, recorded *cassette.Reader) (*cassette.Writer, error) {
	if path == "" {
		return nil, nil
	}
	meta, err := proxy.ActualMeta(recorded)
	if err != nil {
		return nil, &inputError{op: "read", path: recorded.Path(), err: err}
	}
	meta.Version = version
	w, err := cassette.Create(path, cassette.CreateOptions{Force: true, Meta: meta})
	if err != nil {
		return nil, &inputError{op: "create", path: path, err: err}
	}
	return w, nil
}

// closeActual closes the --record-actual cassette once the replayer is
// closed, and says where it is and how to compare it.
func closeActual(w *cassette.Writer, recorded string, stdout io.Writer) error {
	if w == nil {
		return nil
	}
	n := w.Len()
	if err := w.Close(); err != nil {
		return &inputError{op: "close", path: w.Path(), err: err}
	}
	fmt.Fprintf(stdout, "recorded what the bot did (%d events) to %s; compare: graphvcr diff %s %s\n", n, w.Path(), recorded, w.Path())
	return nil
}
