package main

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
)

func TestShow(t *testing.T) {
	path := fixture(t)
	tests := []struct {
		name   string
		env    []string
		args   []string
		golden string
	}{
		{"text by default", nil, []string{"show", path}, "show.txt.golden"},
		{"text explicit", nil, []string{"show", "--format", "text", path}, "show.txt.golden"},
		{"json flag before file", nil, []string{"show", "--format", "json", path}, "show.json.golden"},
		{"json flag after file", nil, []string{"show", path, "--format", "json"}, "show.json.golden"},
		{"json flag=value after file", nil, []string{"show", path, "--format=json"}, "show.json.golden"},
		{"json from environment", []string{"GRAPHVCR_FORMAT=json"}, []string{"show", path}, "show.json.golden"},
		{"flag beats environment", []string{"GRAPHVCR_FORMAT=json"}, []string{"show", path, "--format", "text"}, "show.txt.golden"},
		{"global flag after file", nil, []string{"show", path, "--log-level", "debug", "--format", "json"}, "show.json.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the environment of an in-process run is the
			// process's.
			r := graphvcr(t, tt.env, tt.args...)
			wantSuccess(t, r)
			cassettetest.Golden(t, filepath.Join("testdata", tt.golden), []byte(r.stdout), *update)
		})
	}
}

// TestShowViews checks the views rendered by cassette/timeline reach stdout;
// their content is that package's to test.
func TestShowViews(t *testing.T) {
	path := fixture(t)
	tests := []struct{ format, prefix, contains string }{
		{"mermaid", "sequenceDiagram\n", "/participants/invite"},
		{"html", "<!", "/participants/invite"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			r := graphvcr(t, nil, "show", path, "--format", tt.format)
			wantSuccess(t, r)
			if !strings.HasPrefix(strings.ToLower(r.stdout), strings.ToLower(tt.prefix)) || !strings.Contains(r.stdout, tt.contains) {
				t.Errorf("--format %s output does not look right:\n%.300s", tt.format, r.stdout)
			}
		})
	}
}

func TestShowJSONIsOneObjectPerEvent(t *testing.T) {
	r := graphvcr(t, nil, "show", fixture(t), "--format", "json")
	wantSuccess(t, r)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != len(fixtureEvents()) {
		t.Fatalf("%d lines, want one per event (%d)", len(lines), len(fixtureEvents()))
	}
	for i, l := range lines {
		var obj struct {
			Seq  uint64 `json:"seq"`
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(l), &obj); err != nil {
			t.Fatalf("line %d is not JSON: %v", i+1, err)
		}
		if obj.Seq != uint64(i+1) {
			t.Errorf("line %d has seq %d", i+1, obj.Seq)
		}
	}
}

func TestExport(t *testing.T) {
	path := fixture(t)
	show := graphvcr(t, nil, "show", path, "--format", "json")
	wantSuccess(t, show)

	t.Run("jsonl to stdout equals show json", func(t *testing.T) {
		r := graphvcr(t, nil, "export", path, "--format", "jsonl")
		wantSuccess(t, r)
		if r.stdout != show.stdout {
			t.Errorf("export jsonl differs from show --format json:\n%s\n%s", r.stdout, show.stdout)
		}
	})
	t.Run("jsonl to file", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "session.jsonl")
		r := graphvcr(t, []string{"GRAPHVCR_OUTPUT=" + out}, "export", "--format", "jsonl", path)
		wantSuccess(t, r)
		if r.stdout != "" {
			t.Errorf("stdout %q, want nothing when writing a file", r.stdout)
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != show.stdout {
			t.Errorf("file holds %q, want the show --format json output", got)
		}
		leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*"))
		if len(leftovers) != 0 {
			t.Errorf("temporary files left: %q", leftovers)
		}
	})
	t.Run("har", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "session.har")
		r := graphvcr(t, nil, "export", path, "--output", out, "--format", "har")
		wantSuccess(t, r)
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Log struct {
				Version string
				Entries []struct {
					Request struct{ Method, URL string }
				}
			}
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		if doc.Log.Version != "1.2" || len(doc.Log.Entries) != len(fixtureEvents()) {
			t.Fatalf("HAR version %q with %d entries, want 1.2 with %d", doc.Log.Version, len(doc.Log.Entries), len(fixtureEvents()))
		}
		if got := doc.Log.Entries[2].Request.URL; got != fixtureEvents()[2].Request.URL {
			t.Errorf("entry 3 URL %q, want %q", got, fixtureEvents()[2].Request.URL)
		}
	})
	t.Run("output onto the cassette itself is refused", func(t *testing.T) {
		r := graphvcr(t, nil, "export", path, "--format", "jsonl", "--output", path)
		wantFailure(t, r, 2, "is the cassette itself")
		if r2 := graphvcr(t, nil, "show", path); r2.code != 0 {
			t.Errorf("cassette damaged: %q", r2.stderr)
		}
	})
}

func TestScan(t *testing.T) {
	clean := fixture(t)
	dirtyEvents := fixtureEvents()
	dirtyEvents[1].Request.Body = []byte(`{"access_token":"` + fakeSecret + `","tenantId":"8a34a46b-9a8f-4f3e-9b1c-1f5e3d8c2a10"}`)
	dirty := filepath.Join(t.TempDir(), "dirty.bolt")
	writeCassette(t, dirty, dirtyEvents)

	t.Run("clean", func(t *testing.T) {
		r := graphvcr(t, nil, "scan", clean)
		wantSuccess(t, r)
		if want := clean + ": clean, 4 events\n"; r.stdout != want {
			t.Errorf("stdout %q, want %q", r.stdout, want)
		}
	})
	t.Run("unswept warns", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "unswept.bolt")
		w, err := cassette.Create(path, cassette.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Append(t.Context(), fixtureEvents()[0]); err != nil {
			t.Fatal(err)
		}
		w.Close() // no MarkSwept: what a killed recorder leaves
		r := graphvcr(t, nil, "scan", path)
		wantSuccess(t, r)
		if want := path + ": warning: not swept: "; !strings.HasPrefix(r.stdout, want) || !strings.Contains(r.stdout, "re-record and stop with Ctrl-C") {
			t.Errorf("stdout %q, want a line starting %q saying what to do", r.stdout, want)
		}
		if !strings.Contains(r.stdout, path+": clean, 1 event\n") {
			t.Errorf("stdout %q does not report the events clean", r.stdout)
		}
	})
	t.Run("findings exit 1", func(t *testing.T) {
		r := graphvcr(t, nil, "scan", clean, dirty)
		wantFailure(t, r, 1, "scan: ", "in 1 of 2 cassettes")
		if !strings.Contains(r.stdout, clean+": clean, 4 events\n") {
			t.Errorf("stdout does not report the clean cassette:\n%s", r.stdout)
		}
		if !strings.Contains(r.stdout, dirty+" seq 2 request.body: jwt eyJh") {
			t.Errorf("stdout does not report the JWT in seq 2's request body:\n%s", r.stdout)
		}
		if strings.Contains(r.stdout, fakeSecret[:40]) || strings.Contains(r.stderr, fakeSecret[:40]) {
			t.Errorf("scan printed the secret itself:\n%s", r.stdout)
		}
	})
	t.Run("json", func(t *testing.T) {
		r := graphvcr(t, nil, "scan", dirty, "--format", "json")
		wantFailure(t, r, 1)
		var rep struct {
			Findings int
			Files    []struct {
				File     string
				Events   int
				Findings []struct {
					Seq    uint64
					Where  string
					Kind   string
					Masked string
				}
			}
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
		}
		if rep.Findings == 0 || len(rep.Files) != 1 || rep.Files[0].File != dirty || rep.Files[0].Events != 4 || len(rep.Files[0].Findings) != rep.Findings {
			t.Fatalf("report %+v does not describe the dirty cassette's findings", rep)
		}
		for _, f := range rep.Files[0].Findings {
			if f.Seq != 2 || f.Kind == "" || f.Masked == "" || !strings.HasPrefix(f.Where, "request.body") {
				t.Errorf("finding %+v: want seq 2 in request.body with a kind and a masked value", f)
			}
		}
	})
	t.Run("json clean", func(t *testing.T) {
		r := graphvcr(t, nil, "scan", "--format=json", clean)
		wantSuccess(t, r)
		if !strings.Contains(r.stdout, `"findings": 0`) || !strings.Contains(r.stdout, `"findings": []`) {
			t.Errorf("clean JSON report: %s", r.stdout)
		}
	})
}

// TestScanPlantedKinds plants each kind the redactor learned to find (a
// phone in a written form, a thread id, the values of identifier fields)
// in a copy of a clean sample cassette, and checks that scan names each
// one, while the sample cassettes themselves scan clean, with no warning.
func TestScanPlantedKinds(t *testing.T) {
	samples, err := filepath.Glob(filepath.Join("..", "..", "cassettes", "*.bolt"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("no sample cassettes: %v", err)
	}
	r := graphvcr(t, nil, append([]string{"scan"}, samples...)...)
	wantSuccess(t, r)
	if strings.Contains(r.stdout, "warning") || strings.Count(r.stdout, ": clean, ") != len(samples) {
		t.Errorf("sample cassettes do not all scan clean and swept:\n%s", r.stdout)
	}

	planted := []struct{ name, body, kind string }{
		{"written phone", `{"tollNumber":"+1 206-485-3005"}`, "phone"},
		{"phone without plus", `{"message":"call 1-425-555-0100"}`, "phone"},
		{"thread id", `{"threadId":"19:meeting_MjQ5NmUyZTktNTU5Ni00ZDA4@thread.v2"}`, "thread"},
		{"chat id", `{"chatId":"19:aa_bb@unq.gbl.spaces"}`, "thread"},
		{"conference id", `{"conferenceId":"6544573"}`, "id"},
		{"passcode", `{"passcode":"Vs8hT3"}`, "id"},
		{"mac address", `{"macAddress":"00-1A-2B-3C-4D-5E"}`, "id"},
		{"subnet", `{"subnet":"10.0.12.0"}`, "ip"},
		{"device name", `{"captureDeviceName":"Jabra Evolve 75"}`, "name"},
		{"guid after a malformed escape", `{"joinWebUrl":"https://teams.microsoft.com/l/x?context=%7b%22Tid%22%3a%aa67bd4c-8475-432d-bd41-39f255720e0a%22%7d"}`, "guid"},
		{"thread id with a doubled colon", `{"chatId":"19::meeting_NTg0NmQ3NTctZDVkZDZk@thread.v2"}`, "thread"},
		{"dial string conference id", `{"text":"tel:+55500000001,,11160000#"}`, "id"},
		{"dial-in page id", `{"text":"https://dialin.teams.microsoft.com/x?id=11160000"}`, "id"},
		{"eui-64 mac address", `{"macAddress":"3C-52-82-11-22-33-44-55"}`, "id"},
	}
	for _, tc := range planted {
		t.Run(tc.name, func(t *testing.T) {
			path := plant(t, samples[0], &cassette.Event{Kind: cassette.KindGraph, Request: cassette.Request{Method: "GET", URL: "https://graph.microsoft.com/v1.0/x"},
				Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(tc.body)}})
			r := graphvcr(t, nil, "scan", path)
			wantFailure(t, r, 1, "scan: 1 finding")
			if want := " response.body: " + tc.kind + " "; !strings.Contains(r.stdout, want) {
				t.Errorf("scan does not report the planted %s as %q:\n%s", tc.name, tc.kind, r.stdout)
			}
		})
	}
}

// TestScanPlantedChangeSecrets plants, one at a time, each secret a change
// notification carries in a copy of a clean sample cassette: scan names it.
// The recorder stores none of them (a Redacted marker at most); a cassette
// edited by hand, or written by another tool, may.
func TestScanPlantedChangeSecrets(t *testing.T) {
	samples, err := filepath.Glob(filepath.Join("..", "..", "cassettes", "*.bolt"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("no sample cassettes: %v", err)
	}
	jwt := "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl"
	planted := []struct{ name, url, body, where, kind string }{
		{"clientState", "", `{"value":[{"subscriptionId":"x","clientState":"secretClientValue"}]}`, "request.body", "secret"},
		{"subscription clientState", "", `{"notificationUrl":"https://example.com/n","clientState":"hunter2"}`, "request.body", "secret"},
		{"validation token in the URL", "https://example.com/api/notifications?validationToken=Validation%3A+Testing+client", "", "request.url", "secret"},
		{"validationTokens", "", `{"value":[{"subscriptionId":"x"}],"validationTokens":["` + jwt + `"]}`, "request.body", "jwt"},
		{"encryptedContent dataKey", "", `{"value":[{"encryptedContent":{"data":"q1w2e3","dataKey":"c2VjcmV0a2V5","dataSignature":"","encryptionCertificateId":"c"}}]}`, "request.body", "secret"},
		{"encryptedContent dataSignature", "", `{"value":[{"encryptedContent":{"data":"q1w2e3","dataSignature":"c2lnbmF0dXJl"}}]}`, "request.body", "secret"},
	}
	for _, tc := range planted {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.url
			if u == "" {
				u = "https://example.com/api/notifications"
			}
			path := plant(t, samples[0], &cassette.Event{Kind: cassette.KindNotification,
				Request:  cassette.Request{Method: "POST", URL: u, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(tc.body)},
				Response: cassette.Response{Status: 202}})
			r := graphvcr(t, nil, "scan", path)
			wantFailure(t, r, 1, "scan: ")
			if want := " " + tc.where + ": " + tc.kind + " "; !strings.Contains(r.stdout, want) {
				t.Errorf("scan does not report the planted %s as %q:\n%s", tc.name, want, r.stdout)
			}
		})
	}
}

// plant copies the cassette at sample into a temp dir, appends ev to the
// copy, marks it swept (as a recorder's clean close would) and returns the
// copy's path.
func plant(t *testing.T, sample string, ev *cassette.Event) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "planted.bolt")
	copyFile(t, sample, path)
	w, err := cassette.Create(path, cassette.CreateOptions{Append: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(t.Context(), ev); err != nil {
		w.Close()
		t.Fatal(err)
	}
	if err := w.MarkSwept(); err != nil {
		w.Close()
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// badCassettes returns files that are not usable cassettes, each with a
// phrase the one-line error must contain.
func badCassettes(t *testing.T) []struct{ name, path, want string } {
	t.Helper()
	dir := t.TempDir()

	zero := filepath.Join(dir, "zero.bolt")
	if err := os.WriteFile(zero, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	random := filepath.Join(dir, "random.bolt")
	junk := make([]byte, 64<<10)
	rand.Read(junk)
	if err := os.WriteFile(random, junk, 0o600); err != nil {
		t.Fatal(err)
	}

	newer := filepath.Join(dir, "newer.bolt")
	writeCassette(t, newer, fixtureEvents())
	setFormatVersion(t, newer, cassette.FormatVersion+1)

	locked := filepath.Join(dir, "locked.bolt")
	w, err := cassette.Create(locked, cassette.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(t.Context(), fixtureEvents()[0]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })

	return []struct{ name, path, want string }{
		{"missing", filepath.Join(dir, "missing.bolt"), "no such file"},
		{"zero length", zero, "file is empty (0 bytes)"},
		{"random bytes", random, "not a graphvcr cassette"},
		{"newer version", newer, "newer graphvcr"},
		{"locked by a writer", locked, "locked"},
	}
}

// setFormatVersion rewrites a cassette's format version as a future graphvcr
// would. It knows the schema's meta bucket, which cassette does not export.
func setFormatVersion(t *testing.T, path string, v int) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("format"), []byte(strconv.Itoa(v)))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestBadCassettes(t *testing.T) {
	bad := badCassettes(t)
	commands := []struct {
		name string
		args func(path string) []string
	}{
		{"show", func(p string) []string { return []string{"show", p} }},
		{"show json", func(p string) []string { return []string{"show", "--format", "json", p} }},
		{"export", func(p string) []string { return []string{"export", p, "--format", "jsonl"} }},
		{"scan", func(p string) []string { return []string{"scan", p} }},
		{"replay", func(p string) []string {
			return []string{"replay", "--cassette", p, "--bot", "http://127.0.0.1:1", "--listen", "127.0.0.1:0"}
		}},
	}
	for _, b := range bad {
		for _, c := range commands {
			t.Run(b.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				r := graphvcrProcess(t, nil, c.args(b.path)...)
				wantFailure(t, r, 2, "open "+b.path+": ", b.want)
			})
		}
	}
}

func TestUsageErrors(t *testing.T) {
	path := fixture(t)
	tests := []struct {
		name  string
		env   []string
		args  []string
		wants []string
	}{
		{"no command", nil, nil, []string{"no command given", "run 'graphvcr help'"}},
		{"unknown command", nil, []string{"frobnicate"}, []string{`unknown command "frobnicate"`, "run 'graphvcr help'"}},
		{"unknown flag", nil, []string{"show", path, "--bogus"}, []string{"unknown flag --bogus", "run 'graphvcr help show'"}},
		{"show without file", nil, []string{"show"}, []string{"missing cassette FILE", "run 'graphvcr help show'"}},
		{"show two files", nil, []string{"show", path, path}, []string{"want one cassette FILE", "run 'graphvcr help show'"}},
		{"show bad format", nil, []string{"show", path, "--format", "pdf"}, []string{`--format "pdf"`, "run 'graphvcr help show'"}},
		{"show format without value", nil, []string{"show", path, "--format"}, []string{`--format ""`, "run 'graphvcr help show'"}},
		{"bad format from environment", []string{"GRAPHVCR_FORMAT=pdf"}, []string{"show", path}, []string{`--format "pdf"`}},
		{"export without format", nil, []string{"export", path}, []string{"missing --format", "run 'graphvcr help export'"}},
		{"export bad format", nil, []string{"export", path, "--format", "xml"}, []string{`--format "xml"`}},
		{"scan without file", nil, []string{"scan"}, []string{"missing cassette FILE", "run 'graphvcr help scan'"}},
		{"scan bad format", nil, []string{"scan", path, "--format", "yaml"}, []string{`--format "yaml"`}},
		{"bad log level", nil, []string{"--log-level", "loud", "show", path}, []string{`--log-level "loud"`}},
		{"bad log level from environment", []string{"GRAPHVCR_LOG_LEVEL=loud"}, []string{"show", path}, []string{`--log-level "loud"`}},
		{"record without cassette", nil, []string{"record", "--bot", "http://127.0.0.1:9442"}, []string{"missing --cassette", "run 'graphvcr help record'"}},
		{"record without bot", nil, []string{"record", "--cassette", path}, []string{"missing --bot", "run 'graphvcr help record'"}},
		{"record bad upstream", nil, []string{"record", "--cassette", path, "--bot", "http://127.0.0.1:1", "--upstream", "graph.microsoft.com"}, []string{`--upstream "graph.microsoft.com"`}},
		{"record append and force", nil, []string{"record", "--cassette", path, "--bot", "http://127.0.0.1:1", "--append", "--force"}, []string{"exclude each other"}},
		{"record bad bool in environment", []string{"GRAPHVCR_TLS=maybe"}, []string{"record", "--cassette", path, "--bot", "http://127.0.0.1:1"}, []string{`GRAPHVCR_TLS="maybe"`, "true or false", "run 'graphvcr help record'"}},
		{"record bad number in environment", []string{"GRAPHVCR_MAX_BODY=lots"}, []string{"record", "--cassette", path, "--bot", "http://127.0.0.1:1"}, []string{`GRAPHVCR_MAX_BODY="lots"`}},
		{"record unexpected argument", nil, []string{"record", "extra", "--cassette", path, "--bot", "http://127.0.0.1:1"}, []string{`unexpected argument "extra"`}},
		{"replay without bot", nil, []string{"replay", "--cassette", path}, []string{"missing --bot", "run 'graphvcr help replay'"}},
		{"replay bad speed in environment", []string{"GRAPHVCR_SPEED=fast"}, []string{"replay", "--cassette", path, "--bot", "http://127.0.0.1:1"}, []string{`GRAPHVCR_SPEED="fast"`, "a number"}},
		{"replay bad speed flag", nil, []string{"replay", "--cassette", path, "--bot", "http://127.0.0.1:1", "--speed", "fast"}, []string{`invalid value "fast" for flag --speed`, "run 'graphvcr help replay'"}},
		{"replay negative speed", nil, []string{"replay", "--cassette", path, "--bot", "http://127.0.0.1:1", "--speed", "-1"}, []string{"--speed -1"}},
		{"replay cassette from environment, bot missing", []string{"GRAPHVCR_CASSETTE=" + path}, []string{"replay"}, []string{"missing --bot"}},
		{"help for unknown command", nil, []string{"help", "frobnicate"}, []string{"frobnicate", "run 'graphvcr help'"}},
		{"ca with argument", nil, []string{"ca", "extra"}, []string{`unexpected argument "extra"`, "run 'graphvcr help ca'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the environment of an in-process run is the
			// process's.
			r := graphvcr(t, tt.env, tt.args...)
			wantFailure(t, r, 2, tt.wants...)
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		wants []string
	}{
		{"app help", []string{"help"}, []string{"record", "replay", "show", "export", "scan", "ca", "demo", "GRAPHVCR_"}},
		{"command help", []string{"help", "show"}, []string{"--format", "GRAPHVCR_FORMAT"}},
		{"help flag after file", []string{"show", "x.bolt", "--help"}, []string{"--format"}},
		{"record help lists every flag", []string{"help", "record"}, []string{"--cassette", "--listen", "127.0.0.1:8080", "--upstream", "https://graph.microsoft.com", "--token-upstream", "https://login.microsoftonline.com", "--tls", "--notify-listen", "127.0.0.1:8081", "--bot", "--append", "--force", "--quiet", "--max-body", "--policy", "GRAPHVCR_NOTIFY_LISTEN"}},
		{"replay help lists every flag", []string{"help", "replay"}, []string{"--cassette", "--listen", "--bot", "--speed", "--strict", "--exit-when-done", "--tls", "--app-id", "GRAPHVCR_EXIT_WHEN_DONE"}},
		{"version", []string{"--version"}, []string{"graphvcr version dev"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := graphvcr(t, nil, tt.args...)
			wantSuccess(t, r)
			for _, w := range tt.wants {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout does not contain %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

// TestShowAbandoned: show marks an exchange the bot abandoned as abandoned
// with when the bot gave up, in cassettes of this version (Graph's answer
// kept) and of older ones (a 502 "canceled"), and never shows it as a 502;
// export keeps the mark in HAR.
func TestShowAbandoned(t *testing.T) {
	events := func(old bool) []*cassette.Event {
		evs := fixtureEvents()[:2]
		ab := *evs[1]
		ab.Latency, ab.Abandoned = 1500*time.Millisecond, 400*time.Millisecond
		if old {
			ab.Latency, ab.Abandoned = 400*time.Millisecond, 0
			ab.Response = cassette.Response{Status: http.StatusBadGateway, Body: []byte("graphvcr: canceled")}
			ab.Error = "canceled"
		}
		retry := *evs[1]
		retry.Offset = ab.Offset + 450*time.Millisecond
		return []*cassette.Event{evs[0], &ab, &retry}
	}
	for _, tt := range []struct {
		name string
		old  bool
		want string
	}{
		{"this version", false, `#2 .* abandoned +400ms  bot gave up; Graph answered 201 Created after 1\.50s`},
		{"older version", true, `#2 .* abandoned +400ms  bot gave up; no answer from Graph recorded: canceled`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "abandoned.bolt")
			writeCassette(t, path, events(tt.old))
			r := graphvcr(t, nil, "show", path)
			wantSuccess(t, r)
			if !regexp.MustCompile(tt.want).MatchString(r.stdout) || strings.Contains(r.stdout, "502") {
				t.Errorf("show lacks %q or shows a 502:\n%s", tt.want, r.stdout)
			}
			out := filepath.Join(t.TempDir(), "abandoned.har")
			wantSuccess(t, graphvcr(t, nil, "export", path, "--format", "har", "--output", out))
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), `"_abandoned": 400`) || strings.Contains(string(data), `"status": 502`) {
				t.Errorf("HAR lacks _abandoned or holds a 502:\n%s", data)
			}
		})
	}
}
