package redact

import (
	"strings"
	"testing"
	"time"
)

// TestRedactionStaysLinear redacts 1 MB bodies made of one unit repeated,
// units chosen to start a match attempt at every few bytes (token heads,
// address and IP fragments, escapes). A recorded body is redacted before
// it is relayed, so time quadratic in its size would stall the bot on one
// odd body. This is not a speed measurement (see the benchmarks): linear
// redaction takes milliseconds here, even with -race; a quadratic one
// takes minutes, so the generous budget tells them apart on any machine.
func TestRedactionStaysLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("1 MB bodies: skipped with -short")
	}
	const size = 1 << 20
	const budget = 10 * time.Second
	units := []string{
		"eyJ", "eyJx.", "eyJhbGciOiJSUzI1NiJ9", "1.1:", "::1", "1:", "ab::", "1.2.3.4:",
		"a@", "a@b.", "%40", "%2Bx", "%2", "\\u00", "+1", "://", "http://a@", "19:meeting_",
		"c0ffee00-", "0-", "a=", "&a=b", "=\"", "{\"a\":", "Ab+/", "Person ",
	}
	for _, unit := range units {
		body := []byte(strings.Repeat(unit, size/len(unit)))
		start := time.Now()
		New(nil).Body("text/plain", body)
		if took := time.Since(start); took > budget {
			t.Errorf("%q repeated to 1 MB took %v to redact: time grows faster than the body", unit, took)
		}
	}
}
