package cassette

import (
	"errors"
	"fmt"
)

// Sentinel errors a caller branches on (the CLI maps each to exit status 2).
// Errors returned by this package wrap them with the cassette's path; test
// with errors.Is.
var (
	// ErrNotFound is returned by Open when the cassette file does not exist,
	// and by Reader.Event when no event has the requested sequence number.
	ErrNotFound = errors.New("cassette not found")

	// ErrCorrupt is returned when a file is not a readable cassette: empty,
	// not a bbolt file, truncated, failing a checksum, missing one of the
	// cassette's buckets, or holding an event that does not decode.
	ErrCorrupt = errors.New("cassette is corrupt")

	// ErrLocked is returned when another process holds the file: a writer
	// (Open) or any process (Create) did not release it within the lock timeout.
	ErrLocked = errors.New("cassette is locked by another graphvcr process; stop it or wait")

	// ErrNewerVersion is returned when the cassette's format version is newer
	// than FormatVersion. The wrapping error names the version found.
	ErrNewerVersion = errors.New("cassette written by a newer graphvcr; upgrade graphvcr")

	// ErrEmpty is returned by Reader.RequireEvents when the cassette holds no event.
	ErrEmpty = errors.New("cassette has no events")

	// ErrExists is returned by Create when the file exists and neither
	// CreateOptions.Append nor CreateOptions.Force is set.
	ErrExists = errors.New("cassette already exists; pass append or force")

	// errClosed is returned by Writer.Append after Close.
	errClosed = errors.New("cassette writer is closed")
)

// newerVersionError says which version was found; it matches ErrNewerVersion.
type newerVersionError struct {
	what    string // "format" or "event encoding"
	version int
}

func (e *newerVersionError) Error() string {
	return fmt.Sprintf("written by a newer graphvcr (%s %d); upgrade graphvcr", e.what, e.version)
}

// Is makes errors.Is(err, ErrNewerVersion) true.
func (e *newerVersionError) Is(target error) bool { return target == ErrNewerVersion }
