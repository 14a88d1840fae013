package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/cassette"
)

// Exit statuses: a contract scripts and CI depend on.
const (
	exitOK    = 0
	exitCheck = 1 // scan found something, or replay --strict diverged
	exitUsage = 2 // bad usage or input
)

// usageError means the command line (or a GRAPHVCR_ variable) is wrong.
// It exits 2 and points at the command's help.
type usageError struct {
	cmd string // command whose help to suggest; "" = the app's
	msg string
}

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError for command cmd.
func usagef(cmd, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// checkError means a check the user asked for failed: scan found secrets or
// real identifiers, or replay --strict saw a divergence. It exits 1.
type checkError struct{ msg string }

func (e *checkError) Error() string { return e.msg }

// inputError means a file named on the command line could not be used
// (missing, corrupt, locked, newer version, ...). It exits 2.
type inputError struct {
	op   string // "open", "read", "create", "write"
	path string
	err  error
}

func (e *inputError) Error() string { return e.op + " " + e.path + ": " + reason(e.err) }
func (e *inputError) Unwrap() error { return e.err }

// explain maps an error returned by a command to its exit status and the one
// line printed after "graphvcr: ".
func explain(err error) (int, string) {
	var (
		ce *checkError
		ue *usageError
		ie *inputError
		ec cli.ExitCoder
	)
	switch {
	case errors.As(err, &ce):
		return exitCheck, oneLine(ce.msg)
	case errors.As(err, &ue):
		return exitUsage, oneLine(ue.msg) + "; " + helpHint(ue.cmd)
	case errors.As(err, &ie):
		return exitUsage, oneLine(ie.Error())
	case errors.Is(err, context.Canceled):
		return exitUsage, "interrupted"
	case errors.As(err, &ec):
		// urfave/cli's own exits, e.g. "No help topic for 'x'" from "graphvcr help x".
		msg := ec.Error()
		if msg != "" {
			msg = strings.ToLower(msg[:1]) + msg[1:]
		}
		return exitUsage, oneLine(msg) + "; " + helpHint("")
	}
	return exitUsage, oneLine(err.Error())
}

func helpHint(cmd string) string {
	if cmd == "" {
		return "run 'graphvcr help'"
	}
	return "run 'graphvcr help " + cmd + "'"
}

// reason says, in words a user can act on, why a cassette or file could not be
// used, instead of a library's raw error.
func reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.why
		}
	}
	return err.Error()
}

// reasons are the words of reason, for the first error in the list that err
// is: errZeroLength wraps cassette.ErrCorrupt, so it comes before it.
var reasons = []struct {
	err error
	why string
}{
	{errZeroLength, "file is empty (0 bytes), not a cassette; record it again"},
	{cassette.ErrNotFound, "no such file; check the path"},
	{fs.ErrNotExist, "no such file; check the path"},
	{cassette.ErrEmpty, "cassette is empty; record it again"},
	{cassette.ErrCorrupt, "not a graphvcr cassette, or damaged; record it again"},
	{cassette.ErrLocked, "cassette is locked by a running 'graphvcr record'; stop it (Ctrl-C) and retry"},
	{cassette.ErrNewerVersion, "cassette was written by a newer graphvcr; upgrade graphvcr"},
	{cassette.ErrExists, "file exists; pass --append to add to it or --force to replace it"},
	{fs.ErrPermission, "permission denied; check the file's permissions"},
	{fs.ErrExist, "file exists; remove it or choose another name"},
}

// oneLine keeps a message to a single line, whatever a library put in it.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// onUsageError turns urfave/cli's parse errors (from the command line or a
// GRAPHVCR_ variable) into a usageError naming the flag or variable.
func onUsageError(c *cli.Context, err error, _ bool) error {
	cmd := ""
	flags := c.App.Flags
	if c.Command != nil && c.Command.Name != c.App.Name {
		cmd = c.Command.Name
		flags = c.Command.Flags
	}
	if msg := envProblem(c.App.Flags); msg != "" {
		return usagef(cmd, "%s", msg)
	}
	if msg := envProblem(flags); msg != "" {
		return usagef(cmd, "%s", msg)
	}
	return usagef(cmd, "%s", flagMessage(err))
}

// envProblem returns why a set GRAPHVCR_ variable of one of flags does not
// parse as that flag's type, or "" when all parse. urfave/cli reports such a
// value in its own words; this names the variable and what it should hold.
func envProblem(flags []cli.Flag) string {
	for _, f := range flags {
		ef, ok := f.(interface{ GetEnvVars() []string })
		if !ok {
			continue
		}
		for _, name := range ef.GetEnvVars() {
			v, ok := os.LookupEnv(name)
			if !ok || v == "" {
				continue
			}
			var err error
			want := ""
			switch f.(type) {
			case *cli.BoolFlag:
				_, err = strconv.ParseBool(v)
				want = "true or false"
			case *cli.Float64Flag:
				_, err = strconv.ParseFloat(v, 64)
				want = "a number, e.g. 2"
			case *cli.Int64Flag, *cli.IntFlag:
				_, err = strconv.ParseInt(v, 0, 64)
				want = "a whole number"
			case *cli.DurationFlag:
				_, err = time.ParseDuration(v)
				want = "a duration, e.g. 30s"
			}
			if err != nil {
				return fmt.Sprintf("environment variable %s=%q is not valid; want %s, or unset it", name, v, want)
			}
		}
	}
	return ""
}

var singleDashFlag = regexp.MustCompile(`(^|[\s:])-([a-z][a-z-]+)`)

// flagMessage rewords the standard flag package's errors ("flag provided but
// not defined: -x") for graphvcr's double-dash flags.
func flagMessage(err error) string {
	msg := strings.TrimSuffix(err.Error(), ": parse error")
	switch {
	case strings.HasPrefix(msg, "flag provided but not defined: "):
		msg = "unknown flag " + strings.TrimPrefix(msg, "flag provided but not defined: ")
	case strings.HasPrefix(msg, "flag needs an argument: "):
		msg = "flag " + strings.TrimPrefix(msg, "flag needs an argument: ") + " needs a value"
	}
	return singleDashFlag.ReplaceAllString(msg, "$1--$2")
}
