package cassette

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// defaultLockTimeout bounds how long Open and Create wait for another
// process's lock before returning ErrLocked (bbolt's zero waits forever).
const defaultLockTimeout = time.Second

// openBolt locks f, checks it (unless it is new and empty) and hands it to
// bbolt, which then owns and closes it, even on error. It then runs first,
// which reads (and for a writer, sets up) the schema, in one transaction:
// a View when readOnly, else an Update. If first fails, the database is
// closed, so neither Open nor Create can leave a lock behind on error.
func openBolt(f *os.File, readOnly, isNew bool, timeout time.Duration, first func(*bolt.Tx) error) (*bolt.DB, error) {
	if err := lockFile(f, !readOnly, timeout); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock: %w", err)
	}
	if !isNew {
		if err := checkFile(f); err != nil {
			f.Close()
			return nil, err
		}
	}
	db, err := bolt.Open(f.Name(), 0o600, &bolt.Options{
		ReadOnly: readOnly,
		Timeout:  timeout,
		OpenFile: func(string, int, os.FileMode) (*os.File, error) { return f, nil },
	})
	if err != nil {
		return nil, boltError(err)
	}
	run := db.Update
	if readOnly {
		run = db.View
	}
	if err := run(first); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// boltError maps bbolt's open errors to the package's sentinels.
func boltError(err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("lock: %w", ErrLocked)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch), errors.Is(err, berrors.ErrInvalidMapping):
		return fmt.Errorf("%w: %w", err, ErrCorrupt)
	case errors.Is(err, fs.ErrNotExist):
		return ErrNotFound
	}
	return err
}
