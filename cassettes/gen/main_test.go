package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/proxy/replaytest"
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

// TestRecordReplayChanges records the change-notification flows and
// replays the recording (strict) to a fresh app: another key and
// certificate, clientState, tenant and app id, and a public notification
// host of its own. Every subscription is validated live, and the app
// accepts every notification: the callRecord (which it GETs), the presence
// update (decrypted with its own key, its validation token verified
// against graphvcr's keys) and reauthorizationRequired (it reauthorizes).
func TestRecordReplayChanges(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"-dir", dir, "-scenario", ChangeNotifications}, &stdout, &stderr); code != 0 {
		t.Fatalf("record: exit %d: %s", code, stderr.String())
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	app, err := graphtest.StartReplaySubscriber(seed+100, "https://other-app.example.org")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	srv := replaytest.Start(t, filepath.Join(dir, ChangeNotifications+".bolt"), app.URL, replaytest.WithStrict(), replaytest.WithSignedNotifications())
	app.Graph.Set(srv.URL)
	records, err := app.Subscribe(ctx, "/communications/callRecords", "created", false)
	if err != nil {
		t.Fatal(err)
	}
	presence, err := app.Subscribe(ctx, "/communications/presences/9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", "updated", true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := app.Wait(ctx, 7) // 4 validations, callRecord, presence, reauthorizationRequired
	if err != nil {
		t.Fatal(err)
	}
	subs := map[string]string{}
	for _, h := range got {
		if h.Err != nil {
			t.Errorf("the app rejected or failed %s: %v", h.Class, h.Err)
		}
		subs[h.Class] = h.SubscriptionID
	}
	if subs["callRecord created"] != records || subs["presence updated"] != presence || subs[graphtest.ReauthorizationRequired] != records {
		t.Errorf("notifications by subscription %v, want callRecords %s and presence %s", subs, records, presence)
	}
	select {
	case <-srv.Done():
	case <-ctx.Done():
		t.Fatalf("replay not done: %+v", srv.Report())
	}
}
