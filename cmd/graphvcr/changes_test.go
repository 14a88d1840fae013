package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
