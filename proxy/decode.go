package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
)

// errTooLarge is returned by readBounded and decodeBody when a body exceeds the limit.
var errTooLarge = errors.New("body too large")

// readBounded reads all of r, failing with errTooLarge (wrapped) once more
// than limit bytes arrive. A limit of zero or less means no limit.
func readBounded(r io.Reader, limit int64) ([]byte, error) {
	if r == nil {
		return nil, nil
	}
	if limit <= 0 {
		return io.ReadAll(r)
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return b, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, limit)
	}
	return b, nil
}

// readBoundedSize is readBounded for a body that announced its length
// (-1: unknown): read into a buffer of that size instead of growing one
// from 512 bytes. The length is a hint; what arrives is what counts.
func readBoundedSize(r io.Reader, limit, size int64) ([]byte, error) {
	if r == nil || size < 0 || (limit > 0 && size > limit) {
		return readBounded(r, limit)
	}
	if limit > 0 {
		r = io.LimitReader(r, limit+1)
	}
	b := make([]byte, 0, size+1) // +1: room to see EOF without growing
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // longer than announced: let append grow it
		}
	}
	if limit > 0 && int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, limit)
	}
	return b, nil
}

// codings returns the content codings of a Content-Encoding header in the
// order they were applied, lower case, without "identity".
func codings(contentEncoding string) []string {
	var out []string
	for _, c := range strings.Split(contentEncoding, ",") {
		c = strings.ToLower(strings.TrimSpace(c))
		if c != "" && c != "identity" {
			out = append(out, c)
		}
	}
	return out
}

// decodeBody undoes the Content-Encoding of body (gzip, x-gzip, deflate, br,
// in any stack), bounded by limit bytes of output (zero: unbounded), so a
// recorded body is stored as plain bytes. An unknown coding is an error.
func decodeBody(contentEncoding string, body []byte, limit int64) ([]byte, error) {
	cs := codings(contentEncoding)
	for i := len(cs) - 1; i >= 0; i-- {
		var r io.Reader
		switch cs[i] {
		case "gzip", "x-gzip":
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				return nil, fmt.Errorf("decode gzip: %w", err)
			}
			r = zr
		case "deflate":
			r = deflateReader(body)
		case "br":
			r = brotli.NewReader(bytes.NewReader(body))
		default:
			return nil, fmt.Errorf("decode: unsupported content encoding %q", cs[i])
		}
		out, err := readBounded(r, limit)
		if err != nil {
			return nil, fmt.Errorf("decode %s: %w", cs[i], err)
		}
		body = out
	}
	return body, nil
}

// deflateReader reads HTTP "deflate", which is meant to be zlib-wrapped
// (RFC 9110) but is raw DEFLATE from some servers; both are accepted.
func deflateReader(body []byte) io.Reader {
	if zr, err := zlib.NewReader(bytes.NewReader(body)); err == nil {
		return zr
	}
	return flate.NewReader(bytes.NewReader(body))
}

// encodeBody applies the Content-Encoding contentEncoding to plain, the
// inverse of decodeBody; used when a relayed body had to be rewritten.
func encodeBody(contentEncoding string, plain []byte) ([]byte, error) {
	out := plain
	for _, c := range codings(contentEncoding) {
		var buf bytes.Buffer
		var w io.WriteCloser
		switch c {
		case "gzip", "x-gzip":
			w = gzip.NewWriter(&buf)
		case "deflate":
			w = zlib.NewWriter(&buf)
		case "br":
			w = brotli.NewWriter(&buf)
		default:
			return nil, fmt.Errorf("encode: unsupported content encoding %q", c)
		}
		if _, err := w.Write(out); err != nil {
			return nil, fmt.Errorf("encode %s: %w", c, err)
		}
		if err := w.Close(); err != nil {
			return nil, fmt.Errorf("encode %s: %w", c, err)
		}
		out = buf.Bytes()
	}
	return out, nil
}

// decodable reports whether decodeBody understands every coding in contentEncoding.
func decodable(contentEncoding string) bool {
	for _, c := range codings(contentEncoding) {
		switch c {
		case "gzip", "x-gzip", "deflate", "br":
		default:
			return false
		}
	}
	return true
}

// filterAcceptEncoding removes from h's Accept-Encoding every coding
// decodeBody cannot undo (zstd, compress, "*", ...), so upstream never
// answers in an encoding graphvcr could not store. When nothing is left it
// asks for "identity"; an absent header stays absent.
func filterAcceptEncoding(h http.Header) {
	vals := h.Values("Accept-Encoding")
	if len(vals) == 0 {
		return
	}
	var keep []string
	for _, v := range vals {
		for _, item := range strings.Split(v, ",") {
			item = strings.TrimSpace(item)
			name, _, _ := strings.Cut(item, ";")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "gzip", "x-gzip", "deflate", "br", "identity":
				keep = append(keep, item)
			}
		}
	}
	if len(keep) == 0 {
		h.Set("Accept-Encoding", "identity")
		return
	}
	h.Set("Accept-Encoding", strings.Join(keep, ", "))
}
