package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun records one scenario as go generate would, into a temp dir, and
// checks the cassette is complete and addresses Graph by its real name.
func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stderr   string
		cassette string
	}{
		{name: "one scenario", args: []string{"-scenario", "pstn-invite"}, cassette: "pstn-invite.bolt"},
		{name: "unknown scenario", args: []string{"-scenario", "conference"}, code: 2, stderr: "unknown scenario conference"},
		{name: "bad flag", args: []string{"-nope"}, code: 2, stderr: "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), append([]string{"-dir", dir}, tc.args...), &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.stderr)
			}
			if tc.cassette == "" {
				return
			}
			path := filepath.Join(dir, tc.cassette)
			if !strings.HasPrefix(stdout.String(), path+": recorded 7 events") {
				t.Errorf("stdout %q, want the summary of %s", stdout.String(), path)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) != 1 {
				t.Errorf("the directory holds %v, want the cassette alone", m)
			}
			r, kinds := readKinds(t, path)
			if meta := r.Meta(); meta.Upstream != graphURL || meta.Version != version {
				t.Errorf("meta %+v", meta)
			}
			if kinds[cassette.KindToken] != 1 || kinds[cassette.KindGraph] != 2 || kinds[cassette.KindNotification] != 4 {
				t.Errorf("events by kind %v, want 1 token, 2 graph (call, invite), 4 notifications", kinds)
			}
		})
	}
}

// TestRunChanges records the change-notification cassette into a temp dir:
// the app's checks passed (else run fails), and the Graph and token
// exchanges address Graph and Azure AD by their real names.
func TestRunChanges(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"-dir", dir, "-scenario", ChangeNotifications}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	path := filepath.Join(dir, ChangeNotifications+".bolt")
	if !strings.HasPrefix(stdout.String(), path+": recorded 14 events") {
		t.Errorf("stdout %q, want the summary of %s", stdout.String(), path)
	}
	_, kinds := readKinds(t, path)
	if kinds[cassette.KindNotification] != 7 || kinds[cassette.KindGraph] != 4 {
		t.Errorf("events by kind %v, want 7 notifications (4 validations) and 4 graph", kinds)
	}
}

// readKinds opens the cassette at path (closed when the test ends) and
// counts its events by kind, checking that every Graph and token exchange
// addresses Graph or Azure AD by its real name.
func readKinds(t *testing.T, path string) (*cassette.Reader, map[cassette.Kind]int) {
	t.Helper()
	r := cassettetest.Open(t, path)
	kinds := map[cassette.Kind]int{}
	err := r.EachHead(func(e *cassette.Event) error {
		kinds[e.Kind]++
		if e.Kind != cassette.KindNotification && !strings.HasPrefix(e.Request.URL, graphURL+"/") && !strings.HasPrefix(e.Request.URL, loginURL+"/") {
			t.Errorf("#%d %s: not addressed to Graph or Azure AD", e.Seq, e.Request.URL)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, kinds
}
