// Package cassette stores recorded exchanges in a bbolt file (a "cassette")
// and reads them back.
//
// A Writer (Create) holds the file exclusively and appends events durably:
// Append returns after the transaction holding the event is committed and
// fsynced, and concurrent Appends are group-committed in one transaction. A
// Reader (Open) holds a shared lock, so many readers coexist; a reader and a
// writer exclude each other, and the one that comes second gets ErrLocked
// after a second rather than waiting. Open never creates or changes a file:
// it checks the bbolt header itself (magic, checksum, and that the file is
// not shorter than the pages in use) before bbolt maps the file, because
// bbolt would fault reading a truncated file and would initialise an empty one.
//
// # Schema (FormatVersion 1)
//
// Top-level buckets:
//
//	meta        format (decimal text), created (RFC 3339), graphvcr_version,
//	            upstream, token_upstream: text values
//	pseudonyms  one key per pseudonym issued, empty value (never an original)
//	events      big-endian uint64 seq -> event head (encoding below)
//	bodies      big-endian uint64 seq -> raw response body; absent when nil
//	index       empty (see below)
//
// Response bodies live apart from heads so that EachHead, and a replayer
// building its index, never read them. Seqs are dense: 1..Len.
//
// The index bucket once held Shape(method, url) + 0x00 + big-endian seq ->
// empty value for every event, written with each append. Nothing read it
// but tests: replay loads every head once into an in-memory index of its
// own, which answers a request with a map lookup where a bucket seek would
// cost a transaction and a B-tree walk. So it is no longer written. It is
// still created, empty, because readers of FormatVersion 1 require every
// bucket on open: a new cassette opens in them too, and the format version
// stays 1. Entries in cassettes written before are left as they are and
// ignored.
//
// # Event head encoding
//
// A head is a byte string of fields in this order, with no padding:
//
//	u8      encoding version (1)
//	u8      Kind
//	varint  Offset (ns)                 varint/uvarint: encoding/binary
//	varint  Latency (ns)
//	uvarint Trigger
//	str     Request.Method              str: uvarint length, then bytes
//	str     Request.URL
//	hdr     Request.Header
//	nbytes  Request.Body                nbytes: uvarint 0 = nil, else len+1, then bytes
//	varint  Response.Status
//	hdr     Response.Header
//	u8      response body: 0 nil, 1 in the bodies bucket (possibly empty)
//	uvarint response body length
//	str     Error
//	u8      0 = no Bearer, 1 = Bearer follows:
//	  map     Header                    map: uvarint 0 = nil, else n+1; n × (str key, str value), keys sorted
//	  map     Claims
//	  varint  Lifetime (ns)
//	  u8      Malformed (0/1)
//	varint  Abandoned (ns)              absent from heads written before it
//
// hdr is uvarint 0 for a nil header, else n+1, then n entries in sorted key
// order (so equal headers encode equally): str name, uvarint 0 for nil values
// or m+1, then m × str. Bodies are raw bytes, never base64. A decoder rejects
// a higher encoding version (ErrNewerVersion) and ignores bytes after the
// fields it knows, so fields can be appended without a new version. A head
// that ends before Abandoned is of the first layout (Abandoned zero); see
// Event.Abandoned for how the 502s its recorders stored for abandoned
// exchanges read.
//
// Every byte slice or string a Reader returns is copied out of its bbolt
// transaction.
package cassette
