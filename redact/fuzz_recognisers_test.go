package redact

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// FuzzWrittenIDs plants a phone number in a written form and a thread id
// with an arbitrary inside into arbitrary text, and checks that neither
// survives, that redaction is idempotent and that Scanner finds nothing
// in what it made.
func FuzzWrittenIDs(f *testing.F) {
	f.Add("dial ", " now", uint64(12064853005), uint8(0), "meeting_NjkxYWY2ZDYtZmRh")
	f.Add(`{"x":"`, `"}`, uint64(442079460958), uint8(1), "aa_bb")
	f.Add("", "", uint64(14255550100), uint8(2), "x/y+z=")
	f.Fuzz(func(t *testing.T, before, after string, number uint64, form uint8, inside string) {
		digits := strconv.FormatUint(number%1e15, 10)
		if len(digits) < 11 || strings.HasPrefix(digits, "555") || strings.HasPrefix(digits, "1555") {
			return
		}
		var phone string
		switch form % 4 {
		case 0:
			phone = "+" + digits[:1] + " " + digits[1:4] + "-" + digits[4:7] + "-" + digits[7:]
		case 1:
			phone = "+" + digits[:2] + " " + digits[2:4] + " " + digits[4:8] + " " + digits[8:]
		case 2:
			phone = "+" + digits[:1] + " (" + digits[1:4] + ") " + digits[4:7] + "-" + digits[7:]
		default:
			phone = "+" + digits[:1] + "." + digits[1:4] + "." + digits[4:7] + "." + digits[7:]
		}
		in := strings.Map(func(r rune) rune {
			if c := byte(r); r < 128 && threadBody(c) && c != '+' {
				return r
			}
			return -1
		}, inside)
		if len(in) < 3 || isPseudonymThread([]byte(in)) {
			return
		}
		thread := "19:" + in + "@thread.v2"
		text := before + " " + phone + " " + thread + " " + after
		r := New(nil)
		out := r.Text(text)
		if strings.Contains(out, phone) && !strings.Contains(before+after, phone) {
			t.Fatalf("phone %q survives in %q", phone, out)
		}
		if strings.Contains(out, thread) && !strings.Contains(before+after, thread) {
			t.Fatalf("thread %q survives in %q", thread, out)
		}
		if again := r.Text(out); again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", text, out, again)
		}
		if fs := NewScanner(nil).Scan("x", []byte(" "+phone+" "+thread+" ")); len(fs) < 2 {
			t.Fatalf("scanner finds %v in the planted %q and %q", fs, phone, thread)
		}
	})
}

// FuzzIdentifierFields gives arbitrary values to identifier fields and
// checks that JSON stays valid, redaction is idempotent, and no value
// that was not already a pseudonym is kept.
func FuzzIdentifierFields(f *testing.F) {
	f.Add("6544573", "Vs8hT3", "00-1A-2B-3C-4D-5E", "10.0.12.7", "+1 206-485-3005")
	f.Add("", "0", "aa:bb:cc:dd:ee:ff", "fe80::1", "14255550100")
	f.Add("19:meeting_x@thread.v2", "id0001", "02:00:00:00:00:00", "10.0.0.0/24", "tel:+12064853005")
	f.Fuzz(func(t *testing.T, conf, pass, mac, ip, phone string) {
		doc := map[string]any{"conferenceId": conf, "passcode": pass, "macAddress": mac, "ipAddress": ip, "tollNumber": phone}
		body, err := json.Marshal(doc)
		if err != nil {
			return
		}
		r := New(nil)
		out := r.Body("application/json", body)
		if !gjson.ValidBytes(out) {
			t.Fatalf("valid JSON %s became invalid %s", body, out)
		}
		if again := r.Body("application/json", out); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n%s\n%s\n%s", body, out, again)
		}
		for k, v := range doc {
			got := gjson.GetBytes(out, k).String()
			orig := gjson.GetBytes(body, k).String()
			if got == orig && len(orig) >= 3 && !isFieldPseudonym([]byte(orig)) && strings.ContainsFunc(orig, func(r rune) bool { return r > ' ' }) {
				if k == "ipAddress" && strings.Contains(orig, "127.0.0.1") || orig == "::1" {
					continue // loopback identifies nobody
				}
				if m, _, _, ok := parseMAC([]byte(orig)); k == "macAddress" && ok && isNoMAC(m) {
					continue
				}
				_ = v
				t.Fatalf("%s %q kept in %s", k, orig, out)
			}
		}
	})
}
