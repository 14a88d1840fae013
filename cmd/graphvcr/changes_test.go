package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/proxy/graphtest"
)

// TestShowChangeNotifications: show names each change notification of the
// sample cassette (text and Mermaid), a validation request with its
// subscription as trigger; export and scan find no secret in it.
func TestShowChangeNotifications(t *testing.T) {
	path := filepath.Join("..", "..", "cassettes", "change-notifications.bolt")
	r := graphvcr(t, nil, "show", path)
	wantSuccess(t, r)
	post := regexp.MustCompile(`#(\d+) .*POST  /v1\.0/subscriptions `).FindStringSubmatch(r.stdout)
	if post == nil {
		t.Fatalf("no POST /subscriptions in:\n%s", r.stdout)
	}
	if !regexp.MustCompile(`validationToken=REDACTED .* validation  ← #` + post[1] + `\n`).MatchString(r.stdout) {
		t.Errorf("no validation triggered by #%s in:\n%s", post[1], r.stdout)
	}
	for _, c := range []string{"callRecord created", "presence updated", "reauthorizationRequired"} {
		if !strings.Contains(r.stdout, "  "+c+"  ← #") {
			t.Errorf("show does not name %q:\n%s", c, r.stdout)
		}
	}
	r = graphvcr(t, nil, "show", path, "--format", "mermaid")
	wantSuccess(t, r)
	for _, c := range []string{"validation", "callRecord created", "presence updated", "reauthorizationRequired"} {
		if !strings.Contains(r.stdout, c) {
			t.Errorf("the Mermaid view does not name %q", c)
		}
	}
	for _, format := range []string{"jsonl", "har"} {
		r = graphvcr(t, nil, "export", path, "--format", format)
		wantSuccess(t, r)
		for _, leak := range []string{"encryptedContent", "dataKey", "Testing client application reachability", "eyJ"} {
			if strings.Contains(r.stdout, leak) {
				t.Errorf("export %s holds %q", format, leak)
			}
		}
		if !strings.Contains(r.stdout, "decryptedContent") || !strings.Contains(r.stdout, "validationTokenClaims") {
			t.Errorf("export %s lost the stored resource data or token claims", format)
		}
	}
	r = graphvcr(t, nil, "scan", path)
	wantSuccess(t, r)
}

// TestReplayChangeNotificationsCLI replays the sample change-notification
// cassette with graphvcr replay --strict --exit-when-done to a fresh sample
// subscriber (its own key, certificate and clientState, another tenant and
// app id): graphvcr validates each subscription with it, and the app
// accepts every notification, decrypting the rich one with its own key and
// verifying its validation token against the keys graphvcr publishes; the
// replay exits 0.
func TestReplayChangeNotificationsCLI(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	app, err := graphtest.StartReplaySubscriber(21, "https://fresh-app.example.net")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	path := filepath.Join("..", "..", "cassettes", "change-notifications.bolt")
	rep := start(t, nil, "replay", "--cassette", path, "--listen", "127.0.0.1:0", "--bot", app.URL,
		"--ca-dir", filepath.Join(t.TempDir(), "ca"), "--strict", "--exit-when-done")
	app.Graph.Set(rep.waitMatch(replayListener))
	if _, err := app.Subscribe(ctx, "/communications/callRecords", "created", false); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Subscribe(ctx, "/communications/presences/2e4f6a8b-0c1d-4e3f-8a5b-7c9d1e3f5a7b", "updated", true); err != nil {
		t.Fatal(err)
	}
	got, err := app.Wait(ctx, 7) // 4 validations, callRecord, presence, reauthorizationRequired
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range got {
		if h.Err != nil {
			t.Errorf("the app rejected or failed %s: %v", h.Class, h.Err)
		}
	}
	r := rep.wait()
	wantSuccess(t, r)
}
