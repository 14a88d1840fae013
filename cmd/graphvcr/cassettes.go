package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/cassette"
)

// openCassette opens path read-only, turning a failure into an inputError
// (exit 2) that says what to do.
func openCassette(path string) (*cassette.Reader, error) {
	r, err := cassette.Open(path)
	if err == nil {
		return r, nil
	}
	if errors.Is(err, cassette.ErrCorrupt) {
		if fi, serr := os.Stat(path); serr == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
			return nil, &inputError{op: "open", path: path, err: errZeroLength}
		}
	}
	return nil, &inputError{op: "open", path: path, err: err}
}

// errZeroLength stands for cassette.ErrCorrupt on a file of 0 bytes, the
// usual result of a recording that never started.
var errZeroLength = fmt.Errorf("file is empty (0 bytes), not a cassette; record it again: %w", cassette.ErrCorrupt)

// readError classifies an error met while reading an open cassette: a
// cassette problem is an inputError; anything else (writing the output) is
// returned wrapped with the step.
func readError(step, path string, err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{cassette.ErrCorrupt, cassette.ErrNotFound, cassette.ErrNewerVersion, cassette.ErrLocked, cassette.ErrEmpty} {
		if errors.Is(err, s) {
			return &inputError{op: "read", path: path, err: err}
		}
	}
	return fmt.Errorf("%s %s: %w", step, path, err)
}

// oneFile returns the single FILE argument of command c.
func oneFile(c *cli.Context) (string, error) {
	switch c.NArg() {
	case 0:
		return "", usagef(c.Command.Name, "missing cassette FILE")
	case 1:
		return c.Args().First(), nil
	}
	return "", usagef(c.Command.Name, "want one cassette FILE, got %d arguments", c.NArg())
}
