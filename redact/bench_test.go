package redact

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// benchBodies is a realistic mix of invite responses and notifications:
// the fixture bodies repeated into 2-20 KB documents (a roster of many
// participants, a batch of notifications).
func benchBodies(b testing.TB) [][]byte {
	b.Helper()
	var parts [][]byte
	for _, name := range []string{"seeds/002_18.http", "seeds/002_20.json", "seeds/000_08.json", "realistic/notification_established.http", "realistic/create_call_response.http", "seeds/000_15.json"} {
		f := readFixture(b, filepath.Join("testdata", name))
		parts = append(parts, f.body)
	}
	var bodies [][]byte
	for i, p := range parts {
		if !json.Valid(p) {
			bodies = append(bodies, p) // the failure example stays invalid: the byte-level path
			continue
		}
		// Wrap copies in a "value" array until the body is 2-20 KB.
		target := 2048 << (i % 4)
		body := []byte(`{"value":[`)
		for k := 0; len(body) < target; k++ {
			if k > 0 {
				body = append(body, ',')
			}
			body = append(body, p...)
		}
		bodies = append(bodies, append(body, "]}"...))
	}
	return bodies
}

// walkStrings visits every string of a decoded JSON value, as a redactor
// built on encoding/json would.
func walkStrings(v any, visit func(string) string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = walkStrings(e, visit)
		}
	case []any:
		for i, e := range x {
			x[i] = walkStrings(e, visit)
		}
	case string:
		return visit(x)
	}
	return v
}

// BenchmarkBody measures Body on the mix (MB/s via SetBytes) and, in the
// same run, an encoding/json unmarshal-walk-marshal baseline of the same
// bodies; the redact sub-benchmark reports "x-vs-encoding/json", how many
// times faster Body is than the baseline measured just before it.
func BenchmarkBody(b *testing.B) {
	bodies := benchBodies(b)
	total := 0
	for _, body := range bodies {
		total += len(body)
	}
	var baseNs float64
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(total))
		b.ReportAllocs()
		for b.Loop() {
			for _, body := range bodies {
				var v any
				if json.Unmarshal(body, &v) != nil {
					continue // encoding/json cannot redact invalid JSON at all
				}
				v = walkStrings(v, func(s string) string { return s })
				if _, err := json.Marshal(v); err != nil {
					b.Fatal(err)
				}
			}
		}
		baseNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("redact", func(b *testing.B) {
		r := New(nil)
		for _, body := range bodies {
			r.Body("application/json", body) // steady state of a session: ids already mapped
		}
		b.SetBytes(int64(total))
		b.ReportAllocs()
		for b.Loop() {
			for _, body := range bodies {
				r.Body("application/json", body)
			}
		}
		if ours := float64(b.Elapsed().Nanoseconds()) / float64(b.N); baseNs > 0 && ours > 0 {
			b.ReportMetric(baseNs/ours, "x-vs-encoding/json")
		}
	})
}
