package graphtest

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// trailingComma matches the comma the documented failure body has before a
// closing brace.
var trailingComma = regexp.MustCompile(`,\s*([}\]])`)

// keyPaths flattens a JSON body to its key paths (arrays as "[]") and, for
// the keys whose values define the protocol (@odata.type, status,
// changeType, state), the values seen under each path.
func keyPaths(t *testing.T, body []byte) map[string][]string {
	t.Helper()
	var v any
	if err := json.Unmarshal(trailingComma.ReplaceAll(body, []byte("$1")), &v); err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	out := make(map[string][]string)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, e)
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
			if len(x) == 0 {
				out[path+"[]"] = out[path+"[]"]
			}
		default:
			key := path[strings.LastIndex(path, ".")+1:]
			vals := out[path]
			if s, ok := x.(string); ok && slices.Contains([]string{"@odata.type", "status", "changeType", "state"}, key) && !slices.Contains(vals, s) {
				vals = append(vals, s)
			}
			out[path] = vals
		}
	}
	walk("", v)
	return out
}

// classify names a notification body by its first entry.
func classify(body []byte) string {
	n := gjson.GetBytes(body, "value.0")
	_, rest := resourceCall(n.Get("resource").String())
	switch {
	case strings.HasPrefix(rest, "/operations/"):
		return n.Get("resourceData.status").String()
	case rest == "/participants":
		return "roster"
	case n.Get("changeType").String() == "deleted":
		return "deleted"
	default:
		return n.Get("resourceData.state").String()
	}
}

// collect runs scenario s and returns its bodies by name: request, answer,
// and each notification by classify.
func collect(t *testing.T, s Scenario) map[string][]byte {
	t.Helper()
	g := startGraph(t, GraphOptions{Seed: 11})
	b := startBot(t, g, BotOptions{Seed: 12})
	res, err := b.Run(t.Context(), s)
	if err != nil || res.Err() != nil {
		t.Fatalf("run %s: %v %v", s, err, res.Err())
	}
	out := make(map[string][]byte)
	for _, e := range res.Requests {
		if strings.HasSuffix(e.URL, "/participants/invite") {
			out["request"], out["answer"] = e.RequestBody, e.Body
		}
	}
	for _, sent := range g.Sent() {
		out[classify(sent.Body)] = sent.Body
	}
	return out
}

// legacyDirect drives what the bot's scenarios do not: the 2019 replace
// form (replacesCallId "/app/calls/{ID}") and a failure, both through the
// deprecated /app/calls path.
func legacyDirect(t *testing.T) map[string][]byte {
	t.Helper()
	g := startGraph(t, GraphOptions{Seed: 13})
	sk := newSink(t)
	c := newClient(t, g)
	callID := undashedUpper(c.createCall(sk.URL))
	sk.next(t) // establishing
	sk.next(t) // established
	out := make(map[string][]byte)
	invite := func(participant string) {
		resp, body := c.json(http.MethodPost, "/beta/app/calls/"+callID+"/participants/invite", `{"participants":[`+participant+`],"clientContext":"A904FBD5A31041E881E861877A3DE3CD"}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("legacy invite: status %d: %s", resp.StatusCode, body)
		}
	}
	invite(`{"@odata.type":"#microsoft.graph.invitationParticipantInfo","identity":{"user":{"id":"8A34A46B-3D17-4ADC-8DCE-DC4E7D572698"}},"replacesCallId":"/app/calls/57DAB8B1894C409AB240BD8BEAE78896"}`)
	for range 4 {
		b := sk.next(t)
		out[classify(b)] = b
	}
	invite(`{"identity":{"phone":{"id":"` + FailPhone + `"}}}`)
	b := sk.next(t)
	out[classify(b)] = b
	return out
}

// TestShapesMatchDocumentation compares the simulator's answers and
// notifications, and the bot's requests, with the documentation's examples
// in testdata: every key path of an example must be present, with the same
// @odata.type, status, changeType and state values.
func TestShapesMatchDocumentation(t *testing.T) {
	runs := map[string]map[string][]byte{}
	for _, s := range []Scenario{SingleInvite, MultipleInvite, ReplaceCall, PSTNInvite, LegacyAppCalls, FailedInvite} {
		runs[string(s)] = collect(t, s)
	}
	runs["legacy-direct"] = legacyDirect(t)

	tests := []struct {
		seed string
		run  string
		body string
	}{
		{"2019-invite-request.json", "legacy-app-calls", "request"},
		{"2019-invite-answer.json", "legacy-app-calls", "answer"},
		{"2019-operation-completed.json", "legacy-app-calls", "completed"},
		{"2019-roster.json", "legacy-app-calls", "roster"},
		{"2019-replaced-terminated.json", "legacy-direct", "terminated"},
		{"2019-replaced-deleted.json", "legacy-direct", "deleted"},
		{"2019-operation-failed.json", "legacy-direct", "failed"},
		{"2020-invite-request.json", "replace-call", "request"},
		{"2020-invite-answer.json", "replace-call", "answer"},
		{"2020-operation-completed.json", "single-invite", "completed"},
		{"2020-roster.json", "single-invite", "roster"},
		{"2020-multiple-invite-answer.json", "multiple-invite", "answer"},
		{"2020-multiple-operation-completed.json", "multiple-invite", "completed"},
		{"2020-multiple-roster.json", "multiple-invite", "roster"},
		{"2020-pstn-invite-request.json", "pstn-invite", "request"},
		{"2020-pstn-invite-answer.json", "pstn-invite", "answer"},
		{"2020-pstn-operation-completed.json", "pstn-invite", "completed"},
		{"2020-pstn-roster.json", "pstn-invite", "roster"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.seed, ".json"), func(t *testing.T) {
			seed, err := os.ReadFile(filepath.Join("testdata", tt.seed))
			if err != nil {
				t.Fatal(err)
			}
			got := runs[tt.run][tt.body]
			if got == nil {
				t.Fatalf("%s produced no %s body", tt.run, tt.body)
			}
			want, have := keyPaths(t, seed), keyPaths(t, got)
			for _, p := range slices.Sorted(maps.Keys(want)) {
				vals, ok := have[p]
				if !ok {
					t.Errorf("key path %s missing", p)
					continue
				}
				for _, v := range want[p] {
					if !slices.Contains(vals, v) {
						t.Errorf("%s: want value %q, have %q", p, v, vals)
					}
				}
			}
			if t.Failed() {
				t.Logf("simulator body: %s", got)
			}
		})
	}

	t.Run("failure bodies keep the trailing comma", func(t *testing.T) {
		for _, b := range [][]byte{runs["legacy-direct"]["failed"], runs["failed-invite"]["failed"]} {
			if json.Valid(b) {
				t.Errorf("failure body is valid JSON, the documented one is not: %s", b)
			}
			if !regexp.MustCompile(`\},\s*\}`).Match(b) {
				t.Errorf("failure body lacks the comma after resultInfo: %s", b)
			}
		}
	})
}
