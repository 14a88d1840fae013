package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

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

// renderCassette opens the cassette at path and writes it to w with write,
// buffered, for command cmd: a problem with the cassette is an inputError.
func renderCassette(w io.Writer, cmd, path string, write func(io.Writer, *cassette.Reader) error) error {
	r, err := openCassette(path)
	if err != nil {
		return err
	}
	defer r.Close()
	err = writeBuffered(w, func(w io.Writer) error { return write(w, r) })
	return readError(cmd, path, err)
}

// writeBuffered runs write on a buffer over w, then flushes it, so that a
// command's output goes out in large writes. It returns write's error, else
// the flush's.
func writeBuffered(w io.Writer, write func(io.Writer) error) error {
	bw := bufio.NewWriter(w)
	err := write(bw)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// rescueCassette checks, once recording is over and before the cassette is
// closed, that path still names the file record created (created, from
// os.Stat right after creating it). When the file or its directory was
// removed meanwhile, the open file still holds every event, which closing
// it would destroy: they are copied back to path (recreating its directory)
// and a warning says so on stderr; when something else took the path, they
// are saved beside it and an inputError names where (exit 2). events is how
// many the cassette holds, for the messages.
func rescueCassette(path string, created os.FileInfo, events int, stderr io.Writer) error {
	if created == nil {
		return nil
	}
	if now, err := os.Stat(path); err == nil && os.SameFile(created, now) {
		return nil
	}
	dst := path
	if _, err := os.Lstat(path); err == nil {
		dst = path + ".recovered"
	}
	if err := copyOpenFile(created, dst); err != nil {
		return &inputError{op: "record", path: path, err: fmt.Errorf(
			"the cassette was removed while recording and its %d events could not be saved (%v)", events, err)}
	}
	if dst != path {
		return &inputError{op: "record", path: path, err: fmt.Errorf(
			"the cassette was replaced while recording; its %d events were saved to %s", events, dst)}
	}
	fmt.Fprintf(stderr, "graphvcr: warning: %s was removed while recording; its %d events were saved again to it\n", path, events)
	return nil
}

// copyOpenFile copies the file this process has open whose identity is fi
// (found through /proc/self/fd, so on Linux only: elsewhere a removed file
// cannot be reached again) to a new file dst, creating dst's directory.
func copyOpenFile(fi os.FileInfo, dst string) error {
	const fdDir = "/proc/self/fd"
	entries, err := os.ReadDir(fdDir)
	if err != nil {
		return fmt.Errorf("find the open cassette: %w", err)
	}
	var src *os.File
	for _, e := range entries {
		p := filepath.Join(fdDir, e.Name())
		if st, err := os.Stat(p); err == nil && os.SameFile(fi, st) {
			if src, err = os.Open(p); err == nil {
				break
			}
		}
	}
	if src == nil {
		return errors.New("find the open cassette: not found among the open files")
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return fmt.Errorf("recreate the directory: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	_, err = io.Copy(out, src)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}
