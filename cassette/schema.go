package cassette

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FormatVersion is the cassette schema version this package writes. Open
// refuses a cassette with a higher one (ErrNewerVersion).
const FormatVersion = 1

// Bucket names. See the package doc for what each holds.
var (
	bucketMeta       = []byte("meta")
	bucketPseudonyms = []byte("pseudonyms")
	bucketEvents     = []byte("events")
	bucketBodies     = []byte("bodies")
	// bucketIndex is created empty and no longer written: see the package doc.
	bucketIndex = []byte("index")
)

// Keys of the meta bucket. Values are text, so `bbolt get` shows them.
var (
	metaFormat        = []byte("format")
	metaCreated       = []byte("created")
	metaVersion       = []byte("graphvcr_version")
	metaUpstream      = []byte("upstream")
	metaTokenUpstream = []byte("token_upstream")
	// metaSwept is "yes" or "no" (see Meta.Swept); absent in cassettes
	// written before sweeping existed, which every version opens alike:
	// a reader ignores meta keys it does not know, so the format version
	// stays the same.
	metaSwept = []byte("swept")
)

// allBuckets lists every bucket a cassette of FormatVersion has.
var allBuckets = [][]byte{bucketMeta, bucketPseudonyms, bucketEvents, bucketBodies, bucketIndex}

// seqKey is the big-endian key of an event, so bbolt's byte order is Seq order.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// initBuckets creates the buckets of a new cassette and writes its meta.
func initBuckets(tx *bolt.Tx, m Meta) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	mb := tx.Bucket(bucketMeta)
	for _, kv := range []struct{ k, v []byte }{
		{metaFormat, []byte(strconv.Itoa(FormatVersion))},
		{metaCreated, []byte(m.Created.UTC().Format(time.RFC3339Nano))},
		{metaVersion, []byte(m.Version)},
		{metaUpstream, []byte(m.Upstream)},
		{metaTokenUpstream, []byte(m.TokenUpstream)},
		{metaSwept, []byte(SweepPending.String())},
	} {
		if err := mb.Put(kv.k, kv.v); err != nil {
			return fmt.Errorf("write meta %s: %w", kv.k, err)
		}
	}
	return nil
}

// readSchema checks that tx holds a cassette this package can read and
// returns its meta and last seq. Errors wrap ErrCorrupt or ErrNewerVersion.
func readSchema(tx *bolt.Tx) (Meta, uint64, error) {
	var m Meta
	mb := tx.Bucket(bucketMeta)
	if mb == nil {
		return m, 0, fmt.Errorf("no meta bucket: %w", ErrCorrupt)
	}
	v, err := strconv.Atoi(string(mb.Get(metaFormat)))
	if err != nil || v < 1 {
		return m, 0, fmt.Errorf("bad format version %q: %w", mb.Get(metaFormat), ErrCorrupt)
	}
	if v > FormatVersion {
		return m, 0, &newerVersionError{what: "format", version: v}
	}
	m.FormatVersion = v
	if c := mb.Get(metaCreated); len(c) > 0 {
		if m.Created, err = time.Parse(time.RFC3339Nano, string(c)); err != nil {
			return m, 0, fmt.Errorf("bad created time %q: %w", c, ErrCorrupt)
		}
	}
	m.Version = string(mb.Get(metaVersion))
	m.Upstream = string(mb.Get(metaUpstream))
	m.TokenUpstream = string(mb.Get(metaTokenUpstream))
	switch string(mb.Get(metaSwept)) {
	case "yes":
		m.Swept = SweepDone
	case "no":
		m.Swept = SweepPending
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return m, 0, fmt.Errorf("no %s bucket: %w", name, ErrCorrupt)
		}
	}
	var last uint64
	if k, _ := tx.Bucket(bucketEvents).Cursor().Last(); k != nil {
		if len(k) != 8 {
			return m, 0, fmt.Errorf("bad event key %x: %w", k, ErrCorrupt)
		}
		last = binary.BigEndian.Uint64(k)
	}
	return m, last, nil
}
