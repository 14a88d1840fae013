package redact

import (
	"net/url"
	"strings"
	"testing"
)

// TestGUIDAfterMalformedEscape checks that a GUID written right after a '%'
// is found whatever the '%' makes of its first digits when decoded: a
// joinWebUrl's context that lost its quote ("%3a%aa67...") still carries
// the tenant id as written.
func TestGUIDAfterMalformedEscape(t *testing.T) {
	for _, tc := range []struct{ name, in, id string }{
		{"dashed", "context=%7b%22Tid%22%3a%aa67bd4c-8475-432d-bd41-39f255720e0a%22%7d", "aa67bd4c-8475-432d-bd41-39f255720e0a"},
		{"dashed upper", "x=%AB12CD34-8475-432D-BD41-39F255720E0A&y=1", "AB12CD34-8475-432D-BD41-39F255720E0A"},
		{"undashed", "Tid%22%3a%aa67bd4c8475432dbd4139f255720e0a%22", "aa67bd4c8475432dbd4139f255720e0a"},
		{"escape then dashed", "%22aa67bd4c-8475-432d-bd41-39f255720e0a%22", "aa67bd4c-8475-432d-bd41-39f255720e0a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(nil)
			out := r.Text(tc.in)
			if strings.Contains(strings.ToLower(out), strings.ToLower(tc.id)) {
				t.Fatalf("%q kept in %q", tc.id, out)
			}
			if !strings.Contains(strings.ToLower(out), "c0ffee00-0000-4000-8000-000000000001") && !strings.Contains(strings.ToLower(out), "c0ffee00000040008000000000000001") {
				t.Errorf("no GUID pseudonym in %q", out)
			}
			if again := r.Text(out); again != out {
				t.Errorf("not idempotent: %q -> %q", out, again)
			}
			if f := NewScanner(nil).Scan("x", []byte(tc.in)); len(f) == 0 {
				t.Errorf("scan finds nothing in %q", tc.in)
			}
		})
	}
}

// TestThreadDoubledColon checks that a thread id written with a doubled
// colon, raw, percent-encoded or mixed, is one id with the single-colon one.
func TestThreadDoubledColon(t *testing.T) {
	const inside = "meeting_NTg0NmQ3NTctZDVkZDZk"
	r := New(nil)
	plain := r.Text("19:" + inside + "@thread.v2")
	if plain != "19:meeting_c0ffee1@thread.v2" {
		t.Fatalf("plain: %q", plain)
	}
	for in, want := range map[string]string{
		"19::" + inside + "@thread.v2":                                                                "19::meeting_c0ffee1@thread.v2",
		"meetup-join/19%3a:" + inside + "@thread.v2/0":                                                "meetup-join/19%3a:meeting_c0ffee1@thread.v2/0",
		"meetup-join/19%3a%3a" + inside + "%40thread.v2/0":                                            "meetup-join/19%3a%3ameeting_c0ffee1%40thread.v2/0",
		`{"joinWebUrl":"https://teams.microsoft.com/l/meetup-join/19%3a:` + inside + `@thread.v2/0"}`: `{"joinWebUrl":"https://teams.microsoft.com/l/meetup-join/19%3a:meeting_c0ffee1@thread.v2/0"}`,
	} {
		got := r.Text(in)
		if strings.HasPrefix(in, "{") {
			got = string(r.Body("application/json", []byte(in)))
		}
		if got != want {
			t.Errorf("%q\n got %q\nwant %q", in, got, want)
		}
		if f := NewScanner(nil).Scan("x", []byte(in)); len(f) == 0 {
			t.Errorf("scan finds nothing in %q", in)
		}
		if f := NewScanner(nil).Scan("x", []byte(got)); len(f) != 0 {
			t.Errorf("scan finds %v in the pseudonym %q", f, got)
		}
	}
}

// TestDialStringConferenceID checks that the conference id of a PSTN dial
// string ("tel:+1...,,<id>#") and of a dial-in page's query ("?id=<id>")
// is pseudonymised in every encoding layer, with one pseudonym, the one the
// conferenceId field gets.
func TestDialStringConferenceID(t *testing.T) {
	const conf = "11160000"
	html := `<a href="tel:+16477490000,,` + conf + `&#35; ">+1 647-749-0000</a>` +
		`<a href="https://dialin.teams.microsoft.com/8bf6e654-57eb-4b85-aeaf-36c84429b2fe?id=` + conf + `">numbers</a>`
	for _, tc := range []struct{ name, in string }{
		{"plain", html},
		{"percent-encoded", "data:text/html," + url.QueryEscape(html)},
		{"pause encoded", "tel:%2B16477490000%2C%2C" + conf + "%23"},
		{"hash", "tel:+16477490000,,,," + conf + "#"},
		{"query after others", "https://dialin.teams.microsoft.com/x?lang=en&id=" + conf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(nil)
			field := string(r.Body("application/json", []byte(`{"conferenceId":"`+conf+`"}`)))
			out := r.Text(tc.in)
			if strings.Contains(out, conf) {
				t.Fatalf("conference id kept: %q", out)
			}
			pseudo := strings.TrimSuffix(strings.TrimPrefix(field, `{"conferenceId":"`), `"}`)
			if dec, _ := url.QueryUnescape(out); !strings.Contains(out, pseudo) && !strings.Contains(dec, pseudo) {
				t.Errorf("%q does not carry the conferenceId's pseudonym %q", out, pseudo)
			}
			if again := r.Text(out); again != out {
				t.Errorf("not idempotent: %q -> %q", out, again)
			}
			if f := NewScanner(nil).Scan("x", []byte(tc.in)); len(f) == 0 {
				t.Errorf("scan finds nothing in %q", tc.in)
			}
		})
	}
	// Not a dial string: a query "id" of another page, a bare phone.
	r := New(nil)
	for _, in := range []string{"https://example.com/page?id=11160000", "+16477490000, 11160000"} {
		if out := r.Text(in); !strings.Contains(out, conf) {
			t.Errorf("%q: %q replaced, want it kept (no dial string)", in, conf)
		}
	}
}

// TestMACGroups checks that EUI-64 MAC addresses (eight groups) get a
// pseudonym of their own form from the EUI-64 documentation block, as
// EUI-48 ones do from theirs, and that "no address" values are kept.
func TestMACGroups(t *testing.T) {
	r := New(nil)
	for _, tc := range []struct{ in, want string }{
		{"3C-52-82-11-22-33-44-55", "00-00-5E-EF-10-00-00-01"},
		{"3c:52:82:11:22:33", "00:00:5e:00:53:02"},
		{"3c52821122334455", "00005eef10000001"},
		{"00-00-00-00-00-00-00-00", "00-00-00-00-00-00-00-00"},
		{"00-00-00-00-00-00", "00-00-00-00-00-00"},
		{"02-00-00-00-00-00", "02-00-00-00-00-00"},
	} {
		in, want := tc.in, tc.want
		body := `{"macAddress":"` + in + `"}`
		got := string(r.Body("application/json", []byte(body)))
		if want := `{"macAddress":"` + want + `"}`; got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
		if again := string(r.Body("application/json", []byte(got))); again != got {
			t.Errorf("not idempotent: %s -> %s", got, again)
		}
		if f := NewScanner(nil).Scan("x", []byte(body)); (len(f) == 0) != (got == body) {
			t.Errorf("%s: scan findings %v, want some exactly when it is replaced", in, f)
		}
	}
}
