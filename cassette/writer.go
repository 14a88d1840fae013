package cassette

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// CreateOptions configures Create. The zero value creates a new cassette and
// fails with ErrExists if the file exists.
type CreateOptions struct {
	// Append continues an existing cassette: new events get the Seqs after
	// its last one and its Meta is kept (Meta below is then ignored). A
	// missing file is created.
	Append bool
	// Force replaces an existing file (of any content) with a new cassette.
	// Append wins when both are set.
	Force bool
	// Meta describes a new cassette. FormatVersion is ignored (FormatVersion
	// is written); a zero Created means now.
	Meta Meta
	// LockTimeout bounds the wait for another process holding the file
	// before Create returns ErrLocked. Zero means one second.
	LockTimeout time.Duration
}

// Writer appends events to a cassette it holds exclusively. It is safe for
// concurrent use; concurrent Appends share one transaction and one fsync.
type Writer struct {
	db   *bolt.DB
	path string

	mu         sync.Mutex
	idle       sync.Cond  // signalled (with mu) when committing turns false
	queue      []*pending // appends waiting for the next commit
	committing bool       // a commitLoop goroutine is running
	closed     bool
	last       uint64 // Seq of the last committed event
	stats      CommitStats

	// names holds the pseudonyms passed to Append that this Writer has
	// stored, so that one passed with many Appends is written once. Only
	// commitLoop uses it.
	names map[string]struct{}
	// takeNames, when set, yields the pseudonyms issued since its previous
	// call (see StorePseudonymsFrom); unsaved holds those taken and not yet
	// committed. Only commitLoop uses them once Appends have begun.
	takeNames func() []string
	unsaved   []string

	// sweptBefore is whether the events before this Writer's were swept
	// (a new cassette has none): MarkSwept only claims the whole
	// cassette swept then.
	sweptBefore bool
	compact     bool // set by Rewrite: Close compacts the file
	markSwept   bool // set by MarkSwept after a Rewrite: Close marks the compacted copy

	// beforeCommit, when set by a test, is called by commitLoop with the
	// batch size before each commit, without w.mu held.
	beforeCommit func(n int)
}

// pending is one Append waiting in the queue. Its state changes under Writer.mu.
type pending struct {
	ctx        context.Context
	head       []byte
	body       []byte // nil when Response.Body is nil
	pseudonyms []string
	wake       chan struct{} // buffered 1: sent to once, when state becomes stateDone

	state int
	seq   uint64
	err   error
}

const (
	stateQueued = iota // in Writer.queue
	stateTaken         // in a batch being committed
	stateDone          // seq or err is set
)

// Create opens path for writing, holding it exclusively until Close. A new
// file is created with mode 0600 (a cassette is redacted, but is still a
// recording of someone's session). See CreateOptions for existing files.
func Create(path string, opts CreateOptions) (*Writer, error) {
	w, err := create(path, opts)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return w, nil
}

func create(path string, opts CreateOptions) (*Writer, error) {
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = defaultLockTimeout
	}
	var (
		f     *os.File
		err   error
		isNew bool
	)
	switch {
	case opts.Append:
		f, err = os.OpenFile(path, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
			isNew = true
		}
	case opts.Force:
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err == nil {
			// Lock before truncating, so a file another process is
			// recording into is left alone.
			if err = lockFile(f, true, timeout); err != nil {
				f.Close()
				return nil, fmt.Errorf("lock: %w", err)
			}
			if err = f.Truncate(0); err != nil {
				f.Close()
				return nil, fmt.Errorf("truncate: %w", err)
			}
			isNew = true
		}
	default:
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return nil, ErrExists
		}
		isNew = true
	}
	if err != nil {
		return nil, err
	}
	w := &Writer{path: path, names: map[string]struct{}{}}
	w.idle.L = &w.mu
	w.db, err = openBolt(f, false, isNew, timeout, func(tx *bolt.Tx) error {
		if isNew {
			if err := initBuckets(tx, opts.Meta); err != nil {
				return err
			}
		}
		m, last, err := readSchema(tx)
		if err != nil {
			return err
		}
		w.last = last
		w.sweptBefore = isNew || m.Swept == SweepDone
		if !isNew && m.Swept == SweepDone {
			// Events are coming that no sweep has seen yet.
			return tx.Bucket(bucketMeta).Put(metaSwept, []byte(SweepPending.String()))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Path returns the file the Writer writes.
func (w *Writer) Path() string { return w.path }

// StorePseudonymsFrom makes every commit store, with its events, the
// pseudonyms take returns: take yields those issued since its previous call
// (redact.Redactor.TakeNew does). take is called once per transaction,
// after its events are taken from the queue, so a pseudonym issued before
// an Append is stored with that event or earlier, and no Append needs to
// carry pseudonyms. Call it before the first Append.
func (w *Writer) StorePseudonymsFrom(take func() []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.takeNames = take
}

// CommitStats describes a Writer's group commits so far.
type CommitStats struct {
	Commits int           // transactions committed
	Events  int           // events they stored
	Busy    time.Duration // time spent committing, fsyncs included (failed commits too)
}

// CommitStats returns the Writer's commit figures: how well concurrent
// Appends are batched, and how busy the disk path is (Busy over a period
// near the period itself means Appends queue for the disk).
func (w *Writer) CommitStats() CommitStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Len returns the number of events in the cassette (committed ones only).
func (w *Writer) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return int(w.last)
}

// Append stores ev and the newly issued pseudonyms in one transaction and
// returns once it is committed and fsynced; it then sets ev.Seq. Appends
// from many goroutines are group-committed: one goroutine commits
// everything queued, then, at once, everything queued meanwhile, so the
// disk goes from one commit to the next without a pause, N concurrent
// Appends pay about one commit's fsyncs, and Seqs follow commit order. If
// ctx is done before ev's commit starts, ev is not stored and Append
// returns ctx.Err(); once started, the commit is waited for. Append copies
// nothing it does not need: ev must not be changed until it returns.
func (w *Writer) Append(ctx context.Context, ev *Event, pseudonyms ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	buf := getHeadBuf(headSize(ev))
	defer putHeadBuf(buf) // once Append returns, no transaction holds p.head
	p := &pending{
		ctx:        ctx,
		head:       encodeHead((*buf)[:0], ev),
		body:       ev.Response.Body,
		pseudonyms: pseudonyms,
		wake:       make(chan struct{}, 1),
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return fmt.Errorf("append to %s: %w", w.path, errClosed)
	}
	w.queue = append(w.queue, p)
	if !w.committing {
		// The goroutine lives while there is something to commit, so an
		// idle Writer holds none and Close has nothing to stop.
		w.committing = true
		go w.commitLoop()
	}
	w.mu.Unlock()

	done := ctx.Done()
	for {
		select {
		case <-p.wake:
			// Only finish wakes, after setting the outcome: the channel
			// orders those writes before this read, so no lock is needed
			// (the committer, finishing a whole batch under w.mu, would
			// otherwise have every woken Append queue for it).
			return p.outcome(ev)
		case <-done:
		}
		w.mu.Lock()
		switch p.state {
		case stateQueued:
			w.queue = slices.DeleteFunc(w.queue, func(q *pending) bool { return q == p })
			w.mu.Unlock()
			return ctx.Err()
		case stateTaken:
			done = nil // committing: the result comes, whatever ctx says
		case stateDone:
			w.mu.Unlock()
			return p.outcome(ev)
		}
		w.mu.Unlock()
	}
}

// outcome returns the error of a finished pending, or sets ev.Seq.
func (p *pending) outcome(ev *Event) error {
	if p.err != nil {
		return p.err
	}
	ev.Seq = p.seq
	return nil
}

// headBufs recycles the buffers heads are encoded into. A head is only read
// by the transaction that stores it (bbolt copies values into its pages on
// commit), and Append returns after that transaction ends or without the
// head ever being taken, so the buffer is free again when Append returns.
var headBufs sync.Pool

// maxPooledHead bounds the buffers kept in headBufs, so one huge event does
// not pin its buffer.
const maxPooledHead = 64 << 10

func getHeadBuf(size int) *[]byte {
	if b, ok := headBufs.Get().(*[]byte); ok {
		if cap(*b) >= size {
			return b
		}
		headBufs.Put(b)
	}
	b := make([]byte, 0, size)
	return &b
}

func putHeadBuf(b *[]byte) {
	if cap(*b) > maxPooledHead {
		return
	}
	*b = (*b)[:0]
	headBufs.Put(b)
}

// headSize is the capacity that holds ev's encoded head without growing:
// its strings, headers and request body, and room for the varints.
func headSize(ev *Event) int {
	n := 64 + len(ev.Request.Method) + len(ev.Request.URL) + len(ev.Request.Body) + len(ev.Error)
	for _, h := range []http.Header{ev.Request.Header, ev.Response.Header} {
		for k, vs := range h {
			n += len(k) + 4
			for _, v := range vs {
				n += len(v) + 4
			}
		}
	}
	if b := ev.Bearer; b != nil {
		for _, m := range []map[string]string{b.Header, b.Claims} {
			for k, v := range m {
				n += len(k) + len(v) + 8
			}
		}
	}
	return n
}

// commitLoop commits the queue in batches, one transaction each, until it
// finds the queue empty. Each batch is everything queued when the previous
// commit ended, so a commit starts as soon as the previous one is done.
// Appends whose ctx ended before their batch was taken are dropped.
func (w *Writer) commitLoop() {
	w.mu.Lock()
	for {
		batch := make([]*pending, 0, len(w.queue))
		for _, p := range w.queue {
			if err := p.ctx.Err(); err != nil {
				w.finish(p, 0, err)
				continue
			}
			p.state = stateTaken
			batch = append(batch, p)
		}
		w.queue = w.queue[:0]
		if len(batch) == 0 {
			w.committing = false
			w.idle.Broadcast()
			w.mu.Unlock()
			return
		}
		first := w.last + 1
		w.mu.Unlock()

		if w.takeNames != nil {
			// After the batch is taken: every pseudonym its events use was
			// issued before they were queued, so it is among these.
			w.unsaved = append(w.unsaved, w.takeNames()...)
		}
		began := time.Now()
		err := w.commit(batch, first)
		took := time.Since(began)

		w.mu.Lock()
		if err == nil {
			w.unsaved = w.unsaved[:0]
			w.last = first + uint64(len(batch)) - 1
			w.stats.Commits++
			w.stats.Events += len(batch)
		}
		w.stats.Busy += took
		for i, p := range batch {
			if err != nil {
				w.finish(p, 0, fmt.Errorf("append to %s: %w", w.path, err))
			} else {
				w.finish(p, first+uint64(i), nil)
			}
		}
	}
}

// finish records the outcome of p and wakes its Append; w.mu is held. It is
// called once per pending, so the send never blocks.
func (w *Writer) finish(p *pending, seq uint64, err error) {
	p.state, p.seq, p.err = stateDone, seq, err
	p.wake <- struct{}{}
}

// commit writes batch with Seqs from first on, in one fsynced transaction.
func (w *Writer) commit(batch []*pending, first uint64) error {
	if len(batch) == 0 {
		return nil
	}
	if w.beforeCommit != nil {
		w.beforeCommit(len(batch))
	}
	var added []string // pseudonyms this transaction stores, already in w.names
	err := w.db.Update(func(tx *bolt.Tx) error {
		events, bodies := tx.Bucket(bucketEvents), tx.Bucket(bucketBodies)
		names := tx.Bucket(bucketPseudonyms)
		// A pseudonym may come with many Appends (one redacted concurrently
		// with others cannot tell which of them stores it first): write
		// each once.
		putNames := func(list []string) error {
			for _, name := range list {
				if _, ok := w.names[name]; ok || name == "" {
					continue
				}
				if err := names.Put([]byte(name), nil); err != nil {
					return fmt.Errorf("put pseudonym: %w", err)
				}
				w.names[name] = struct{}{}
				added = append(added, name)
			}
			return nil
		}
		// Keys only grow: full pages instead of half-empty splits.
		events.FillPercent, bodies.FillPercent = 1, 1
		for i, p := range batch {
			seq := first + uint64(i)
			key := seqKey(seq)
			if err := events.Put(key, p.head); err != nil {
				return fmt.Errorf("put event %d: %w", seq, err)
			}
			if p.body != nil {
				if err := bodies.Put(key, p.body); err != nil {
					return fmt.Errorf("put body %d: %w", seq, err)
				}
			}
			if err := putNames(p.pseudonyms); err != nil {
				return err
			}
		}
		// takeNames yields each pseudonym once: no need to remember them,
		// which would grow w.names by every id of a long session.
		for _, name := range w.unsaved {
			if err := names.Put([]byte(name), nil); err != nil {
				return fmt.Errorf("put pseudonym: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		for _, name := range added { // not stored after all
			delete(w.names, name)
		}
	}
	return err
}

// Close makes later Appends fail, waits until the Appends already queued are
// committed, and closes the file. Calling it again returns nil.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	for w.committing {
		w.idle.Wait()
	}
	compact := w.compact
	w.mu.Unlock()
	if compact {
		if err := w.compactFile(); err != nil {
			w.db.Close()
			return fmt.Errorf("close %s: %w", w.path, err)
		}
		return nil
	}
	if err := w.db.Close(); err != nil {
		return fmt.Errorf("close %s: %w", w.path, err)
	}
	return nil
}
