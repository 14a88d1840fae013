package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Values a session teaches late: the free text of the first exchange
// mentions them, the notification after it carries them in the fields
// they are learned from.
const (
	lateName = "Zoltan Kowalczyk"
	lateHost = "zx81-tunnel.contoso-dev.net"
)

// recordLateSession records, through the real binary, an answer whose
// free text mentions lateName and lateHost, then the notification that
// teaches both. It returns the recorder, still running, and the cassette path.
func recordLateSession(t *testing.T) (*proc, string) {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"57dab8b1-894c-409a-b240-bd8beae78896","subject":"Standup with `+lateName+
			`","message":"bot reachable at `+lateHost+` since 9:00"}`)
	}))
	t.Cleanup(up.Close)
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(bot.Close)
	path := filepath.Join(t.TempDir(), "late.bolt")
	rec := start(t, nil, "record", "--cassette", path, "--listen", "127.0.0.1:0", "--notify-listen", "127.0.0.1:0",
		"--upstream", up.URL, "--token-upstream", up.URL, "--bot", bot.URL)
	graphURL, notifyURL := rec.waitMatch(graphListener), rec.waitMatch(notifyListener)

	resp, err := http.Get(graphURL + "/v1.0/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	note := `{"value":[{"changeType":"updated","resource":"/app/calls/57dab8b1-894c-409a-b240-bd8beae78896",` +
		`"callbackUri":"https://` + lateHost + `/api/calls","resourceData":{"@odata.type":"#microsoft.graph.call",` +
		`"source":{"identity":{"user":{"id":"8a34a46b-9a8f-4f3e-9b1c-1f5e3d8c2a10","displayName":"` + lateName + `"}}}}}]}`
	resp, err = http.Post(notifyURL+"/api/calls", "application/json", strings.NewReader(note))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	return rec, path
}

// TestLateValuesSwept checks that a name and a host that appear in free
// text before the notification that teaches them are in neither the
// cassette (its bytes) nor its export after a clean close, and that scan
// warns about a cassette whose recorder was killed before it could sweep.
func TestLateValuesSwept(t *testing.T) {
	t.Run("clean close", func(t *testing.T) {
		rec, path := recordLateSession(t)
		wantSuccess(t, rec.interrupt())
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		har := graphvcr(t, nil, "export", path, "--format", "har")
		wantSuccess(t, har)
		jsonl := graphvcr(t, nil, "export", path, "--format", "jsonl")
		wantSuccess(t, jsonl)
		for what, data := range map[string][]byte{"cassette file": raw, "HAR export": []byte(har.stdout), "JSONL export": []byte(jsonl.stdout)} {
			for _, v := range []string{lateName, "Kowalczyk", lateHost} {
				if bytes.Contains(data, []byte(v)) {
					t.Errorf("%q survives in the %s", v, what)
				}
			}
		}
		if !strings.Contains(jsonl.stdout, "Standup with Person ") {
			t.Errorf("the early free text does not carry the name's pseudonym:\n%s", jsonl.stdout)
		}
		s := graphvcr(t, nil, "scan", path)
		wantSuccess(t, s)
		if strings.Contains(s.stdout, "warning") {
			t.Errorf("scan warns about a swept cassette:\n%s", s.stdout)
		}
	})
	t.Run("killed", func(t *testing.T) {
		rec, path := recordLateSession(t)
		if err := rec.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		rec.wait()
		s := graphvcr(t, nil, "scan", path)
		if !strings.Contains(s.stdout, path+": warning: not swept: ") {
			t.Errorf("scan of a killed recording does not warn:\n%s%s", s.stdout, s.stderr)
		}
		for _, cmd := range [][]string{{"show", path}, {"export", path, "--format", "har"}} {
			if r := graphvcr(t, nil, cmd...); r.code != 0 {
				t.Errorf("%s of an unswept cassette: exit %d: %s", cmd[0], r.code, r.stderr)
			}
		}
	})
}
