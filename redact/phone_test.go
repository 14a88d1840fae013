package redact

import (
	"strings"
	"testing"
)

// TestPhoneWrittenForms checks that every written form of one number gets
// one pseudonym ("555", zero padding, the counter: the same digit count),
// written in the original's form.
func TestPhoneWrittenForms(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+12064853005", "+55500000001"},
		{"+1 206-485-3005", "+5 550-000-0001"},
		{"+1 (206) 485-3005", "+5 (550) 000-0001"},
		{"+1.206.485.3005", "+5.550.000.0001"},
		{"1-206-485-3005", "5-550-000-0001"},
		{"tel:+12064853005", "tel:+55500000001"},
		{"%2B12064853005", "%2B55500000001"},
		{"+44 20 7946 0958", "+55 50 0000 0002"},
		{"4:12064853005", "4:55500000001"},
		{"4:+12064853005", "4:+55500000001"},
		{"call +1 206-485-3005 now", "call +5 550-000-0001 now"},
	}
	r := New(nil)
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got := r.Text(tc.in)
			if got != tc.want {
				t.Fatalf("Text(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if again := r.Text(got); again != got {
				t.Fatalf("not idempotent: %q -> %q", got, again)
			}
			if f := NewScanner(nil).Scan("x", []byte(got)); len(f) > 0 {
				t.Fatalf("scanner finds %v in %q", f, got)
			}
			if f := NewScanner(nil).Scan("x", []byte(tc.in)); len(f) == 0 || f[0].Kind != "phone" {
				t.Fatalf("scanner finds %v in the original %q, want a phone", f, tc.in)
			}
		})
	}
}

// TestPhoneNotDates checks that dates, times and versions are left alone.
func TestPhoneNotDates(t *testing.T) {
	for _, in := range []string{"2024-01-15", "2024-01-15T10:00:00+00:00", "1-2-3", "version 1.2.3.4567", "+1 2 3"} {
		if got := New(nil).Text(in); got != in {
			t.Errorf("Text(%q) = %q, want it unchanged", in, got)
		}
	}
	if got := New(nil).Text("+1 206-485-3005 and +12064853005"); !strings.Contains(got, "+5 550-000-0001 and +55500000001") {
		t.Errorf("two forms of one number got %q, want one pseudonym", got)
	}
}

// TestPhoneBeforeOtherIDs checks that a number followed by a space and
// another id stops before it, and that both are found.
func TestPhoneBeforeOtherIDs(t *testing.T) {
	r := New(nil)
	got := r.Text("+1 (425) 555-0020 19:abcdef@thread.v2 and +1-206-485-3005/x")
	want := "+5 (550) 000-0001 19:c0ffee1@thread.v2 and +5-550-000-0002/x"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
