package sdktest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/redact"
)

func TestGoSDK(t *testing.T) {
	ca, err := proxy.LoadCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, via := range []route{reverse, forward} {
		t.Run(via.String(), func(t *testing.T) {
			rec, ok := recordThenReplay(t, ca, goSDK, via)
			if ok && via == forward {
				// A bot recorded through HTTPS_PROXY replays unchanged.
				t.Run("replay-https-proxy", func(t *testing.T) {
					checkReplayed(t, rec, replay(t, ca, goSDK, forward, rec))
				})
			}
		})
	}
}

func TestJavaScriptSDK(t *testing.T) {
	needNode(t)
	ca, err := proxy.LoadCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// Node's fetch ignores HTTPS_PROXY: the base URL (reverse mode) is the
	// JavaScript SDK's way through graphvcr.
	recordThenReplay(t, ca, jsSDK, reverse)
}

// recordThenReplay records s's client through via, checking what it saw and
// the cassette, then replays that cassette through the base URL, each in a
// subtest of t. It returns the recording, and false when recording failed
// (nothing was replayed).
func recordThenReplay(t *testing.T, ca *proxy.CA, s sdk, via route) (recording, bool) {
	t.Helper()
	dir := t.TempDir() // outlives the subtests
	var rec recording
	if !t.Run("record", func(t *testing.T) {
		rec = record(t, dir, ca, s, via)
		checkRecorded(t, s, rec)
		checkCassette(t, s, rec)
	}) {
		return rec, false
	}
	// A cassette does not depend on how it was recorded: one made
	// through HTTPS_PROXY replays through the base URL too.
	t.Run("replay-base-url", func(t *testing.T) {
		checkReplayed(t, rec, replay(t, ca, s, reverse, rec))
	})
	return rec, true
}

func needNode(t *testing.T) {
	t.Helper()
	var missing string
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node"
	} else if _, err := os.Stat(filepath.Join("js", "node_modules", "@microsoft", "microsoft-graph-client")); err != nil {
		missing = "js/node_modules"
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s missing: .ci/sdk-tests installs it", missing)
	}
	t.Skipf("%s missing: run .ci/sdk-tests", missing)
}

// checkRecorded asserts what the client saw through record: Graph's answers.
func checkRecorded(t *testing.T, s sdk, rec recording) {
	t.Helper()
	res := rec.result
	if res.CallID == "" || redact.IsPseudonym(res.CallID) {
		t.Errorf("%s record: call id %q, want the simulator's", s, res.CallID)
	}
	if res.CallState != "establishing" {
		t.Errorf("%s record: call state %q, want establishing", s, res.CallState)
	}
	if res.OperationID == "" || !strings.EqualFold(res.OperationStatus, "running") {
		t.Errorf("%s record: invite operation %q status %q, want an id and running", s, res.OperationID, res.OperationStatus)
	}
	if res.ClientContext != clientContext {
		t.Errorf("%s record: clientContext %q, want %q", s, res.ClientContext, clientContext)
	}
}

// checkCassette asserts the cassette holds the session, redacted: decoded
// JSON bodies (the Go SDK gzips them), pseudonyms where ids were, and no
// secret or original value anywhere.
func checkCassette(t *testing.T, s sdk, rec recording) {
	t.Helper()
	r, err := cassette.Open(rec.path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	scanner := redact.NewScanner(r.Pseudonyms())
	var texts [][]byte
	var create, invite, token *cassette.Event
	kinds := map[cassette.Kind]int{}
	err = r.Each(func(ev *cassette.Event) error {
		kinds[ev.Kind]++
		text, err := cassette.EventJSON(ev)
		if err != nil {
			return err
		}
		texts = append(texts, text)
		for _, f := range scanner.Scan(fmt.Sprintf("event %d", ev.Seq), text) {
			t.Errorf("scan: %s: %s %s", f.Where, f.Kind, f.Masked)
		}
		path := urlPath(ev.Request.URL)
		switch {
		case ev.Kind == cassette.KindGraph && ev.Request.Method == "POST" && strings.HasSuffix(path, "/communications/calls"):
			create = ev
		case ev.Kind == cassette.KindGraph && ev.Request.Method == "POST" && strings.HasSuffix(path, "/participants/invite"):
			invite = ev
		case ev.Kind == cassette.KindToken && ev.Request.Method == "POST":
			token = ev
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if kinds[cassette.KindNotification] != notificationsPerSession {
		t.Errorf("cassette holds %d notifications, want %d", kinds[cassette.KindNotification], notificationsPerSession)
	}
	if create == nil || invite == nil || token == nil {
		t.Fatalf("cassette lacks an exchange: create-call %v, invite %v, token %v (kinds %v)", create != nil, invite != nil, token != nil, kinds)
	}

	body := decodeJSON(t, "create-call request", create.Request.Body)
	if got := lookup(body, "requestedModalities", "0"); got != "audio" {
		t.Errorf("create-call request: requestedModalities[0] = %v, want audio", got)
	}
	for _, p := range [][]string{{"targets", "0", "identity", "user", "id"}, {"tenantId"}} {
		if got, _ := lookup(body, p...).(string); !redact.IsPseudonym(got) {
			t.Errorf("create-call request: %s = %q, want a pseudonym", strings.Join(p, "."), got)
		}
	}
	if cb, _ := lookup(body, "callbackUri").(string); cb == "" || strings.Contains(cb, callbackHost) {
		t.Errorf("create-call request: callbackUri %q, want the callback with its host redacted", cb)
	}
	body = decodeJSON(t, "invite request", invite.Request.Body)
	for _, p := range [][]string{{"participants", "0", "identity", "user", "id"}, {"clientContext"}} {
		if got, _ := lookup(body, p...).(string); !redact.IsPseudonym(got) {
			t.Errorf("invite request: %s = %q, want a pseudonym", strings.Join(p, "."), got)
		}
	}
	decodeJSON(t, "invite response", invite.Response.Body)
	if s == goSDK {
		// The bodies above are decoded JSON; upstream got them as the Go
		// SDK sent them: gzipped.
		for _, suffix := range []string{"/communications/calls", "/participants/invite"} {
			if enc, ok := rec.tap.encoding("POST", suffix); enc != "gzip" {
				t.Errorf("POST %s relayed upstream (%v) with Content-Encoding %q, want the SDK's gzip", suffix, ok, enc)
			}
		}
	}

	// No original value, in any form, in any stored event nor in the file.
	raw, err := os.ReadFile(rec.path)
	if err != nil {
		t.Fatal(err)
	}
	hay := bytes.ToLower(bytes.Join(append(texts, raw), []byte{0}))
	undashed := bytes.ReplaceAll(hay, []byte("-"), nil)
	for what, v := range map[string]string{
		"client secret": clientSecret, "form-encoded client secret": url.QueryEscape(clientSecret),
		"tenant id": tenantID, "client id": clientID, "target user id": targetID, "invitee user id": inviteeID,
		"client context": clientContext, "call id": rec.result.CallID, "operation id": rec.result.OperationID,
		"callback host": callbackHost, "target name": targetName, "invitee name": inviteeName,
	} {
		needle := []byte(strings.ToLower(v))
		if bytes.Contains(hay, needle) || bytes.Contains(undashed, bytes.ReplaceAll(needle, []byte("-"), nil)) {
			t.Errorf("cassette holds the %s %q", what, v)
		}
	}
}

// checkReplayed asserts the client got, offline and with a bogus secret,
// the recorded session: the recorded call and operation, its own values
// bound back, every notification, and no divergence.
func checkReplayed(t *testing.T, rec recording, got replayed) {
	t.Helper()
	res := got.result
	if !redact.IsPseudonym(res.CallID) {
		t.Errorf("replay: call id %q, want the recorded pseudonym", res.CallID)
	}
	if res.CallState != rec.result.CallState || res.OperationStatus != rec.result.OperationStatus {
		t.Errorf("replay: call state %q, operation %q; recorded %q, %q",
			res.CallState, res.OperationStatus, rec.result.CallState, rec.result.OperationStatus)
	}
	if res.OperationID == "" {
		t.Error("replay: invite answer has no operation id")
	}
	if res.ClientContext != clientContext {
		t.Errorf("replay: clientContext %q, want the live %q bound back", res.ClientContext, clientContext)
	}
	if got.report.Diverged() {
		t.Errorf("replay diverged: unmatched %+v, notifications %+v", got.report.Unmatched, got.report.Notifications)
	}
	var calls, invites int
	for _, m := range got.report.Matched {
		switch {
		case m.Method == "POST" && strings.HasSuffix(m.Path, "/communications/calls"):
			calls++
		case m.Method == "POST" && strings.HasSuffix(m.Path, "/participants/invite"):
			invites++
		}
	}
	if calls != 1 || invites != 1 {
		t.Errorf("replay matched %d create-call and %d invite, want 1 each: %+v", calls, invites, got.report.Matched)
	}
	if len(got.received) != notificationsPerSession {
		t.Errorf("replay delivered %d notifications, want %d", len(got.received), notificationsPerSession)
	}
	var completed bool
	for _, n := range got.received {
		if bytes.Contains(n.body, []byte(`"completed"`)) && bytes.Contains(n.body, []byte(clientContext)) {
			completed = true
		}
	}
	if !completed {
		t.Errorf("replay: no notification of the completed invite carries the live clientContext %q", clientContext)
	}
}

func urlPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Path
}

func decodeJSON(t *testing.T, what string, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: stored body is not decoded JSON: %v: %.80q", what, err, b)
	}
	return v
}

// lookup walks JSON objects by key and arrays by index; nil when absent.
func lookup(v any, path ...string) any {
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}
