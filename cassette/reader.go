package cassette

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"

	bolt "go.etcd.io/bbolt"
)

// Reader reads a cassette. Many Readers, in any processes, may have one file
// open at once; none while a Writer has it. A Reader is safe for concurrent
// use. Events it returns are copies: they stay valid after the call and
// after Close.
type Reader struct {
	db   *bolt.DB
	path string
	meta Meta
	n    uint64
}

// Open opens the cassette at path read-only. It never creates or modifies
// the file. Errors wrap ErrNotFound, ErrCorrupt, ErrLocked (a writer kept the
// file for a second) or ErrNewerVersion. A cassette with no events opens;
// see RequireEvents.
func Open(path string) (*Reader, error) {
	r, err := open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return r, nil
}

func open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("is a directory: %w", ErrCorrupt)
	}
	r := &Reader{path: path}
	r.db, err = openBolt(f, true, false, defaultLockTimeout, func(tx *bolt.Tx) error {
		var err error
		r.meta, r.n, err = readSchema(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Path returns the file the Reader reads.
func (r *Reader) Path() string { return r.path }

// Meta returns the cassette's description.
func (r *Reader) Meta() Meta { return r.meta }

// Len returns the number of events. Seqs are 1..Len.
func (r *Reader) Len() int { return int(r.n) }

// RequireEvents returns an error wrapping ErrEmpty when the cassette has no
// events, else nil. Commands that have nothing to do with an empty cassette
// (show, export, replay) call it after Open; iteration itself treats an empty
// cassette as valid.
func (r *Reader) RequireEvents() error {
	if r.n == 0 {
		return fmt.Errorf("open %s: %w", r.path, ErrEmpty)
	}
	return nil
}

// Close releases the file.
func (r *Reader) Close() error {
	if err := r.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", r.path, err)
	}
	return nil
}

// Pseudonyms returns the pseudonyms the recording issued, sorted. The
// originals they replaced are never stored.
func (r *Reader) Pseudonyms() []string {
	var out []string
	// The bucket's presence was checked by Open; a read error leaves out short.
	_ = r.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPseudonyms).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out
}

// Event returns the event with the given seq, response body included. An
// unknown seq gives an error wrapping ErrNotFound.
func (r *Reader) Event(seq uint64) (*Event, error) {
	var ev *Event
	err := r.db.View(func(tx *bolt.Tx) error {
		key := seqKey(seq)
		head := tx.Bucket(bucketEvents).Get(key)
		if head == nil {
			return ErrNotFound
		}
		var err error
		ev, err = r.decode(seq, head, tx.Bucket(bucketBodies).Get(key), true)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: event %d: %w", r.path, seq, err)
	}
	return ev, nil
}

// Each calls fn with every event in Seq order, response bodies included,
// and stops at fn's first error, which it returns. Each event is a fresh
// copy fn may keep; Each itself holds one event at a time, so memory does
// not grow with the cassette.
func (r *Reader) Each(fn func(*Event) error) error {
	return r.each(true, fn)
}

// EachHead is Each without response bodies: Response.Body is nil and the
// bodies are not read from the file, so building a replay index touches only
// a small part of a large cassette. Use Event for a body.
func (r *Reader) EachHead(fn func(*Event) error) error {
	return r.each(false, fn)
}

func (r *Reader) each(withBody bool, fn func(*Event) error) error {
	var fnErr error
	err := r.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		// Bodies are keyed like events, so a second cursor walks them in
		// step: sequential pages, no search from the root per event.
		var (
			bc     *bolt.Cursor
			bk, bv []byte
		)
		if withBody {
			bc = tx.Bucket(bucketBodies).Cursor()
			bk, bv = bc.First()
		}
		for k, head := c.First(); k != nil; k, head = c.Next() {
			if len(k) != 8 {
				return fmt.Errorf("event key %x: %w", k, ErrCorrupt)
			}
			seq := binary.BigEndian.Uint64(k)
			var body []byte
			if withBody {
				for bk != nil && bytes.Compare(bk, k) < 0 {
					bk, bv = bc.Next()
				}
				if bytes.Equal(bk, k) {
					body = bv
				}
			}
			ev, err := r.decode(seq, head, body, withBody)
			if err != nil {
				return fmt.Errorf("event %d: %w", seq, err)
			}
			if err := fn(ev); err != nil {
				fnErr = err
				return err
			}
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", r.path, err)
	}
	return nil
}

// decode builds an Event from bytes owned by a transaction, copying them.
func (r *Reader) decode(seq uint64, head, body []byte, withBody bool) (*Event, error) {
	ev := &Event{Seq: seq}
	state, err := decodeHead(head, ev)
	if err != nil {
		if errors.Is(err, ErrNewerVersion) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", err, ErrCorrupt)
	}
	if withBody && state == bodyStored {
		ev.Response.Body = make([]byte, len(body))
		copy(ev.Response.Body, body)
	}
	return ev, nil
}
