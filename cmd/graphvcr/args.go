package main

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// noArgs rejects any positional argument given to command c, which takes none.
func noArgs(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef(c.Command.Name, "unexpected argument %q", c.Args().First())
	}
	return nil
}

// formats are the values a command's --format accepts, written once for
// both the flag's usage and the check of its value.
type formats []string

// flag returns the --format flag, whose usage lists f. def is its default,
// "" for a flag the command requires.
func (f formats) flag(def string) *cli.StringFlag {
	usage := f.String()
	if def == "" {
		usage += " (required)"
	}
	return &cli.StringFlag{Name: "format", Value: def, Usage: usage, EnvVars: envVars("format")}
}

// check rejects a --format of command cmd that is not one of f, naming
// them all: --format "x": want text, json or html.
func (f formats) check(cmd, format string) error {
	if slices.Contains(f, format) {
		return nil
	}
	return usagef(cmd, "--format %q: want %s", format, f)
}

// String lists f as a user reads it: "text, json or html".
func (f formats) String() string {
	last := len(f) - 1
	return strings.Join(f[:last], ", ") + " or " + f[last]
}

// reorderArgs lets flags follow positional arguments, as the command-line
// contract promises ("graphvcr show FILE --format json"): urfave/cli v2, like
// the standard flag package, stops parsing at the first positional argument.
//
// It returns args with, for the command named, its flags (and their values)
// moved before its positional arguments, and global flags written after the
// command moved before the command. Everything after "--" stays positional.
// A help flag after the command drops its positional arguments, which
// urfave/cli would read as a help topic. A flag it does not know is left for urfave/cli to report, and is assumed
// to take no value. Args naming no known command are returned unchanged.
func reorderArgs(args []string, app *cli.App) []string {
	if len(args) < 2 {
		return args
	}
	global := valueFlags(app.Flags)

	// Global flags before the command name.
	i := 1
	for i < len(args) && isFlag(args[i]) {
		i += flagWidth(args, i, global)
	}
	if i >= len(args) {
		return args
	}
	cmd := findCommand(app, args[i])
	if cmd == nil {
		return args
	}
	local := valueFlags(cmd.Flags)

	var flags, globals, positional, afterDash []string
	dashed := false
	rest := args[i+1:]
	for j := 0; j < len(rest); {
		a := rest[j]
		switch {
		case a == "--":
			dashed = true
			afterDash = append(afterDash, rest[j+1:]...)
			j = len(rest)
		case !isFlag(a):
			positional = append(positional, a)
			j++
		default:
			name := flagName(a)
			if name == "h" || name == "help" {
				// urfave/cli would take a positional argument as the
				// help topic: "show x.bolt --help" asks for show's help.
				out := append(slices.Clone(args[:i]), globals...)
				return append(out, args[i], a)
			}
			_, isLocal := local[name]
			_, isGlobal := global[name]
			if isGlobal && !isLocal {
				n := flagWidth(rest, j, global)
				globals = append(globals, rest[j:j+n]...)
				j += n
				continue
			}
			if local[name] && !strings.Contains(a, "=") && j+1 == len(rest) {
				// A value flag with nothing after it: moved before the
				// positionals it would take one of them as its value, so
				// give it an empty one, which the command reports.
				flags = append(flags, a+"=")
				j++
				continue
			}
			n := flagWidth(rest, j, local)
			flags = append(flags, rest[j:j+n]...)
			j += n
		}
	}

	out := make([]string, 0, len(args)+1)
	out = append(out, args[:i]...)
	out = append(out, globals...)
	out = append(out, args[i])
	out = append(out, flags...)
	if dashed {
		out = append(out, "--")
	}
	out = append(out, positional...)
	return append(out, afterDash...)
}

// isFlag reports whether a looks like a flag ("-x", "--name", "--name=v");
// "-" alone is a positional argument (conventionally stdin).
func isFlag(a string) bool {
	return len(a) > 1 && a[0] == '-' && a != "--"
}

// flagName returns the name of flag a without dashes or "=value".
func flagName(a string) string {
	name := strings.TrimLeft(a, "-")
	if k := strings.IndexByte(name, '='); k >= 0 {
		name = name[:k]
	}
	return name
}

// flagWidth returns how many args the flag at args[i] spans: 2 when it takes
// a value given as the next argument, else 1.
func flagWidth(args []string, i int, takesValue map[string]bool) int {
	a := args[i]
	if strings.Contains(a, "=") || !takesValue[flagName(a)] || i+1 >= len(args) {
		return 1
	}
	return 2
}

// valueFlags maps every name (and alias) of flags to whether it takes a value.
func valueFlags(flags []cli.Flag) map[string]bool {
	m := make(map[string]bool)
	for _, f := range flags {
		takes := true
		if dg, ok := f.(cli.DocGenerationFlag); ok {
			takes = dg.TakesValue()
		}
		for _, n := range f.Names() {
			m[n] = takes
		}
	}
	return m
}

func findCommand(app *cli.App, name string) *cli.Command {
	for _, c := range app.Commands {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
