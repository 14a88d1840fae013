package cassette

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt's on-disk constants (go.etcd.io/bbolt/internal/common), needed to
// check a file before bbolt maps it: bbolt trusts the meta page's high water
// mark and would fault (SIGBUS, not a recoverable panic) reading pages of a
// truncated file, and would initialise a zero-length one.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	boltPageHeader   = 16   // id u64, flags u16, count u16, overflow u32
	boltMetaPageFlag = 0x04 // page flags of a meta page
	boltMetaChecksum = 56   // offset of the checksum field inside the meta
	boltMetaSize     = 64   // meta struct size
	boltNoFreelist   = ^uint64(0)
	boltMinPageSize  = 1024
	boltMaxPageShift = 14 // bbolt probes page sizes 1 KiB << 0..14
	boltDefaultProbe = 0x1000
)

// boltMeta is the part of a bbolt meta page checkFile needs.
type boltMeta struct {
	valid    bool
	pageSize uint64
	root     uint64
	freelist uint64
	pgid     uint64 // high water mark: pages [0, pgid) are in use
	txid     uint64
}

// parseMeta decodes the meta page whose page header starts at buf[0]. bbolt
// writes it in native byte order.
func parseMeta(buf []byte) boltMeta {
	var m boltMeta
	if len(buf) < boltPageHeader+boltMetaSize {
		return m
	}
	ne := binary.NativeEndian
	if ne.Uint16(buf[8:]) != boltMetaPageFlag {
		return m
	}
	b := buf[boltPageHeader:]
	if ne.Uint32(b[0:]) != boltMagic || ne.Uint32(b[4:]) != boltVersion {
		return m
	}
	h := fnv.New64a()
	h.Write(b[:boltMetaChecksum])
	if h.Sum64() != ne.Uint64(b[boltMetaChecksum:]) {
		return m
	}
	m.pageSize = uint64(ne.Uint32(b[8:]))
	m.root = ne.Uint64(b[16:])
	m.freelist = ne.Uint64(b[32:])
	m.pgid = ne.Uint64(b[40:])
	m.txid = ne.Uint64(b[48:])
	m.valid = m.pageSize >= boltMinPageSize && m.pageSize&(m.pageSize-1) == 0
	return m
}

// checkFile reports, without modifying f, whether it is a whole bbolt file:
// not empty, a valid meta page (the one bbolt would pick), and no page below
// the high water mark missing. Errors wrap ErrCorrupt.
func checkFile(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	size := uint64(fi.Size())
	if size == 0 {
		return fmt.Errorf("empty file: %w", ErrCorrupt)
	}
	readAt := func(off, n uint64) ([]byte, error) {
		if off >= size {
			return nil, nil
		}
		buf := make([]byte, min(n, size-off))
		if _, err := f.ReadAt(buf, int64(off)); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read header: %w", err)
		}
		return buf, nil
	}
	buf, err := readAt(0, boltDefaultProbe)
	if err != nil {
		return err
	}
	meta0 := parseMeta(buf)
	pageSize := meta0.pageSize
	if !meta0.valid {
		// Like bbolt: find the second meta page by probing page sizes.
		for i := range boltMaxPageShift + 1 {
			ps := uint64(boltMinPageSize) << i
			b, err := readAt(ps, boltDefaultProbe)
			if err != nil {
				return err
			}
			if m := parseMeta(b); m.valid && m.pageSize == ps {
				pageSize = ps
				break
			}
		}
		if pageSize == 0 {
			return fmt.Errorf("not a bbolt file: %w", ErrCorrupt)
		}
	}
	if size < 2*pageSize {
		return fmt.Errorf("truncated: %d bytes, less than two pages: %w", size, ErrCorrupt)
	}
	buf0, err := readAt(0, pageSize)
	if err != nil {
		return err
	}
	buf1, err := readAt(pageSize, pageSize)
	if err != nil {
		return err
	}
	// The meta bbolt uses: the higher txid if valid, else the other one.
	a, b := parseMeta(buf0), parseMeta(buf1)
	if b.txid > a.txid {
		a, b = b, a
	}
	m := a
	if !m.valid || m.pageSize != pageSize {
		m = b
	}
	if !m.valid || m.pageSize != pageSize {
		return fmt.Errorf("no valid meta page: %w", ErrCorrupt)
	}
	if m.pgid < 2 || m.root >= m.pgid || (m.freelist >= m.pgid && m.freelist != boltNoFreelist) {
		return fmt.Errorf("inconsistent meta page: %w", ErrCorrupt)
	}
	if m.pgid > size/pageSize {
		return fmt.Errorf("truncated: %d bytes, %d pages of %d in use: %w", size, m.pgid, pageSize, ErrCorrupt)
	}
	return nil
}
