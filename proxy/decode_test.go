package proxy

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/andybalholm/brotli"
)

func TestDecodeBody(t *testing.T) {
	plain := []byte(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#x","id":"1"}`)
	rawDeflate := func(b []byte) []byte {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	mustEncode := func(enc string) []byte {
		b, err := encodeBody(enc, plain)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name     string
		encoding string
		body     []byte
		wantErr  bool
	}{
		{"identity", "", plain, false},
		{"explicit identity", "identity", plain, false},
		{"gzip", "gzip", mustEncode("gzip"), false},
		{"x-gzip upper case", "X-GZIP", mustEncode("gzip"), false},
		{"deflate zlib", "deflate", mustEncode("deflate"), false},
		{"deflate raw", "deflate", rawDeflate(plain), false},
		{"br", "br", mustEncode("br"), false},
		{"stacked", "deflate, gzip", mustEncode("deflate, gzip"), false},
		{"unknown", "zstd", plain, true},
		{"corrupt gzip", "gzip", []byte("not gzip"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeBody(tt.encoding, tt.body, 1<<20)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decodeBody succeeded: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plain) {
				t.Errorf("decoded %q", got)
			}
		})
	}
}

func TestDecodeBodyBoundsOutput(t *testing.T) {
	bomb := bytes.Repeat([]byte("a"), 1<<20)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(bomb)
	zw.Close()
	if _, err := decodeBody("gzip", buf.Bytes(), 1000); !errors.Is(err, errTooLarge) {
		t.Fatalf("err = %v, want errTooLarge", err)
	}
	bw := new(bytes.Buffer)
	w := brotli.NewWriter(bw)
	w.Write(bomb)
	w.Close()
	if _, err := decodeBody("br", bw.Bytes(), 1000); !errors.Is(err, errTooLarge) {
		t.Fatalf("br err = %v, want errTooLarge", err)
	}
}

// TestReadBoundedSize checks that the announced length is only a hint: a
// body shorter or longer than announced is read whole, and the limit holds.
// readBounded, which knows no announced length, must read each body alike.
func TestReadBoundedSize(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		announce int64 // -1: unknown
		limit    int64 // 0: none
		wantErr  bool
	}{
		{"under", 10, -1, 11, false},
		{"at", 11, -1, 11, false},
		{"over", 12, -1, 11, true},
		{"unlimited", 1000, -1, 0, false},
		{"as announced", 2048, 2048, 4096, false},
		{"shorter than announced", 100, 2048, 4096, false},
		{"longer than announced", 5000, 10, 0, false},
		{"empty", 0, 0, 10, false},
		{"unknown length", 700, -1, 1000, false},
		{"at the limit", 11, 11, 11, false},
		{"over the limit, announced under", 12, 5, 11, true},
		{"over the limit, announced over", 12, 12, 11, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := strings.Repeat("0123456789", tt.size/10+1)[:tt.size]
			check := func(fn string, b []byte, err error) {
				t.Helper()
				if tt.wantErr != errors.Is(err, errTooLarge) {
					t.Fatalf("%s: err = %v", fn, err)
				}
				if !tt.wantErr && string(b) != want {
					t.Errorf("%s: read %d bytes, want %d", fn, len(b), tt.size)
				}
			}
			// One byte per Read: the buffer must grow past the announced length.
			b, err := readBoundedSize(iotest.OneByteReader(strings.NewReader(want)), tt.limit, tt.announce)
			check("readBoundedSize", b, err)
			b, err = readBounded(strings.NewReader(want), tt.limit)
			check("readBounded", b, err)
		})
	}
}

func TestFilterAcceptEncoding(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want string
		set  bool
	}{
		{"absent stays absent", nil, "", false},
		{"node fetch", []string{"gzip, deflate, br"}, "gzip, deflate, br", true},
		{"zstd dropped", []string{"zstd, gzip;q=0.8"}, "gzip;q=0.8", true},
		{"only unknown", []string{"zstd, compress"}, "identity", true},
		{"star dropped", []string{"*"}, "identity", true},
		{"several headers", []string{"gzip", "br, zstd"}, "gzip, br", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.in {
				h.Add("Accept-Encoding", v)
			}
			filterAcceptEncoding(h)
			vals := h.Values("Accept-Encoding")
			if !tt.set {
				if len(vals) != 0 {
					t.Fatalf("header set to %q", vals)
				}
				return
			}
			if len(vals) != 1 || vals[0] != tt.want {
				t.Errorf("Accept-Encoding = %q, want %q", vals, tt.want)
			}
			if !decodable(strings.ReplaceAll(tt.want, ";q=0.8", "")) {
				t.Errorf("kept an encoding decodeBody cannot undo: %q", tt.want)
			}
		})
	}
}
