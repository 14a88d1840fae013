package cassette

import (
	"context"
	"fmt"
	"os"

	bolt "go.etcd.io/bbolt"
)

// rewriteBatch is how many events one Rewrite transaction reads and writes:
// a few hundred kilobytes of a busy session, one fsync each.
const rewriteBatch = 64

// Rewrite changes stored events in place: for each seq of seqs (in the
// given order; unknown seqs are skipped), fn receives the stored event and
// reports whether it changed it; changed events are written back. Events
// are read in one transaction and written in another, rewriteBatch at a
// time, each write transaction fsynced and atomic, so the cassette is valid
// after every step: a process killed mid-way leaves some events rewritten
// and the others as they were. fn runs outside any transaction. Pseudonyms
// issued meanwhile (see StorePseudonymsFrom) are stored with each write.
// Call it once Appends are over (the recorder closed); it returns how many
// events it rewrote. When it rewrote any, Close compacts the file, so the
// bytes replaced are not left in freed pages.
func (w *Writer) Rewrite(ctx context.Context, seqs []uint64, fn func(*Event) (bool, error)) (int, error) {
	w.mu.Lock()
	for w.committing {
		w.idle.Wait()
	}
	take := w.takeNames
	w.mu.Unlock()
	rewritten := 0
	for len(seqs) > 0 {
		if err := ctx.Err(); err != nil {
			return rewritten, err
		}
		batch := seqs[:min(len(seqs), rewriteBatch)]
		seqs = seqs[len(batch):]
		evs := make([]*Event, 0, len(batch))
		err := w.db.View(func(tx *bolt.Tx) error {
			for _, seq := range batch {
				key := seqKey(seq)
				head := tx.Bucket(bucketEvents).Get(key)
				if head == nil {
					continue
				}
				ev := &Event{Seq: seq}
				state, err := decodeHead(head, ev)
				if err != nil {
					return fmt.Errorf("event %d: %w: %w", seq, err, ErrCorrupt)
				}
				if state == bodyStored {
					ev.Response.Body = append([]byte{}, tx.Bucket(bucketBodies).Get(key)...)
				}
				evs = append(evs, ev)
			}
			return nil
		})
		if err != nil {
			return rewritten, fmt.Errorf("rewrite %s: %w", w.path, err)
		}
		var changes []*Event
		for _, ev := range evs {
			changed, err := fn(ev)
			if err != nil {
				return rewritten, fmt.Errorf("rewrite %s: event %d: %w", w.path, ev.Seq, err)
			}
			if changed {
				changes = append(changes, ev)
			}
		}
		var names []string
		if take != nil {
			names = take()
		}
		if len(changes) == 0 && len(names) == 0 {
			continue
		}
		err = w.db.Update(func(tx *bolt.Tx) error {
			events, bodies := tx.Bucket(bucketEvents), tx.Bucket(bucketBodies)
			for _, ev := range changes {
				key := seqKey(ev.Seq)
				if err := events.Put(key, encodeHead(nil, ev)); err != nil {
					return fmt.Errorf("put event %d: %w", ev.Seq, err)
				}
				var err error
				if ev.Response.Body != nil {
					err = bodies.Put(key, ev.Response.Body)
				} else {
					err = bodies.Delete(key)
				}
				if err != nil {
					return fmt.Errorf("put body %d: %w", ev.Seq, err)
				}
			}
			for _, name := range names {
				if err := tx.Bucket(bucketPseudonyms).Put([]byte(name), nil); err != nil {
					return fmt.Errorf("put pseudonym: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return rewritten, fmt.Errorf("rewrite %s: %w", w.path, err)
		}
		rewritten += len(changes)
		if len(changes) > 0 {
			w.mu.Lock()
			w.compact = true
			w.mu.Unlock()
		}
	}
	return rewritten, nil
}

// MarkSwept records in the meta that the cassette was swept (Meta.Swept):
// call it once a Rewrite of every event recorded before a value was
// learned has returned. When Rewrite changed events, the mark is written
// by Close into the compacted copy only: a file that still holds the
// replaced bytes in freed pages (killed before Close) is never marked. A
// cassette appended to that was not swept before stays SweepPending: its
// older events were never swept.
func (w *Writer) MarkSwept() error {
	if !w.sweptBefore {
		return nil
	}
	w.mu.Lock()
	deferred := w.compact
	w.markSwept = deferred
	w.mu.Unlock()
	if deferred {
		return nil
	}
	err := w.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaSwept, []byte(SweepDone.String()))
	})
	if err != nil {
		return fmt.Errorf("mark %s swept: %w", w.path, err)
	}
	return nil
}

// compactFile replaces the file by a compacted copy of it: bbolt leaves
// the bytes of a rewritten value in freed pages, so what a sweep replaced
// would still be in the file. The copy is written beside it and renamed
// over it once complete: killed meanwhile, the swept cassette stays (with
// a leftover ".compact" file). It closes w.db.
func (w *Writer) compactFile() error {
	tmp := w.path + ".compact"
	_ = os.Remove(tmp) // a leftover of a run killed while compacting
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: defaultLockTimeout})
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	err = bolt.Compact(dst, w.db, 4<<20)
	if err == nil && w.markSwept {
		err = dst.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMeta).Put(metaSwept, []byte(SweepDone.String()))
		})
	}
	if err != nil {
		dst.Close()
		os.Remove(tmp)
		return fmt.Errorf("compact: %w", err)
	}
	if err := dst.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compact: %w", err)
	}
	if err := w.db.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, w.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compact: %w", err)
	}
	return nil
}
