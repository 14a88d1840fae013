package cassettes_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/timeline"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/proxy/replaytest"
	"github.com/graphvcr/graphvcr/redact"
)

// The generator's fixed inputs (see gen/record.go): the seed of the
// simulator and of the recording bot, and the client secret.
const (
	recordedSeed   = 1
	recordedSecret = "sample-client-secret"
)

// The fresh bot each cassette is replayed to: another seed (other
// clientContext, invitees, phone number), another tenant and application.
const (
	liveSeed   = 2
	liveTenant = "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9"
	liveClient = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
)

// doneTimeout bounds the wait for a replay to deliver everything.
const doneTimeout = 30 * time.Second

func cassetteFile(s graphtest.Scenario) string { return string(s) + ".bolt" }

// openCassette opens a sample cassette for the length of the test.
func openCassette(t *testing.T, s graphtest.Scenario) *cassette.Reader {
	t.Helper()
	r, err := cassette.Open(cassetteFile(s))
	if err != nil {
		t.Fatalf("open %s: %v (run go generate ./cassettes)", cassetteFile(s), err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// changesCassette is the cassette of the change-notification flows (see
// gen/changes.go), recorded with the sample subscriber app.
const changesCassette = "change-notifications.bolt"

// TestEveryScenarioHasACassette checks the directory holds exactly one
// cassette per graphtest scenario, and the change-notification one, each
// described in README.md.
func TestEveryScenarioHasACassette(t *testing.T) {
	got, err := filepath.Glob("*.bolt")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{changesCassette}
	for _, s := range graphtest.Scenarios() {
		want = append(want, cassetteFile(s))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("cassettes %v, want one per scenario: %v (run go generate ./cassettes)", got, want)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range want {
		line := regexp.MustCompile("(?m)^- `" + regexp.QuoteMeta(f) + "`: [^\n]{20,}$")
		if n := len(line.FindAllString(string(readme), -1)); n != 1 {
			t.Errorf("README.md has %d lines describing `%s`, want one", n, f)
		}
	}
}

// TestScanClean runs redact's Scanner over every part of every event of
// each cassette, as `graphvcr scan` does, and looks for the recording's
// original identifiers and secret in the file's raw bytes: the generator
// knows them, so the test can too.
func TestScanClean(t *testing.T) {
	g := graphtest.NewGraph(graphtest.GraphOptions{Seed: recordedSeed})
	t.Cleanup(g.Close)
	bot := graphtest.NewBot(graphtest.BotOptions{Seed: recordedSeed})
	t.Cleanup(bot.Close)

	for _, s := range graphtest.Scenarios() {
		t.Run(string(s), func(t *testing.T) {
			r := openCassette(t, s)
			sc := redact.NewScanner(r.Pseudonyms())
			events, parts := 0, 0
			scan := func(seq uint64, where string, data []byte) {
				if len(data) == 0 {
					return
				}
				parts++
				for _, f := range sc.Scan(where, data) {
					t.Errorf("seq %d %s: %s %s", seq, where, f.Kind, f.Masked)
				}
			}
			err := r.Each(func(e *cassette.Event) error {
				events++
				scan(e.Seq, "request.url", []byte(e.Request.URL))
				scanHeader(e.Seq, "request.header.", e.Request.Header, scan)
				scan(e.Seq, "request.body", e.Request.Body)
				scanHeader(e.Seq, "response.header.", e.Response.Header, scan)
				scan(e.Seq, "response.body", e.Response.Body)
				scan(e.Seq, "error", []byte(e.Error))
				if e.Bearer != nil {
					for k, v := range e.Bearer.Header {
						scan(e.Seq, "bearer.header."+k, []byte(v))
					}
					for k, v := range e.Bearer.Claims {
						scan(e.Seq, "bearer.claims."+k, []byte(v))
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if events != r.Len() || events < 5 || parts < 4*events {
				t.Errorf("scanned %d events (%d parts) of %d; the scan did not see the cassette", events, parts, r.Len())
			}

			raw, err := os.ReadFile(cassetteFile(s))
			if err != nil {
				t.Fatal(err)
			}
			ids := bot.IDs(s)
			originals := append([]string{g.TenantID(), g.ClientID(), ids.ClientContext, ids.Target, ids.ReplacedCallID}, ids.Users...)
			for _, id := range originals {
				for _, form := range guidForms(id) {
					if bytes.Contains(raw, []byte(form)) {
						t.Errorf("the file holds the original id %s", form)
					}
				}
			}
			for _, secret := range []string{recordedSecret, ids.Phone, strings.TrimPrefix(ids.Phone, "+"), "bot.contoso.com"} {
				if secret != "" && bytes.Contains(raw, []byte(secret)) {
					t.Errorf("the file holds the original %q", secret)
				}
			}
		})
	}
}

func scanHeader(seq uint64, prefix string, h http.Header, scan func(uint64, string, []byte)) {
	for k, vs := range h {
		for _, v := range vs {
			scan(seq, prefix+k, []byte(v))
		}
	}
}

// guidForms returns the forms one GUID takes in Graph traffic: dashed and
// undashed, lower and upper case. Anything else is returned as it is.
func guidForms(id string) []string {
	if id == "" {
		return nil
	}
	undashed := strings.ReplaceAll(id, "-", "")
	return []string{strings.ToLower(id), strings.ToUpper(id), strings.ToLower(undashed), strings.ToUpper(undashed)}
}

// TestReplay replays each cassette, strictly, to a fresh sample bot with
// another seed, tenant and application: the bot's own correlation checks
// pass (its ids came back bound in every answer and notification), every
// recorded exchange is matched and every notification delivered as
// recorded.
func TestReplay(t *testing.T) {
	recording := graphtest.NewBot(graphtest.BotOptions{Seed: recordedSeed})
	t.Cleanup(recording.Close)
	type replayCase struct {
		scenario graphtest.Scenario
		speed    float64
	}
	var cases []replayCase
	for _, s := range graphtest.Scenarios() {
		cases = append(cases, replayCase{s, 0})
	}
	// One replay with the recorded timing, sped up, so that the scheduled
	// delays are exercised too.
	cases = append(cases, replayCase{graphtest.SingleInvite, 20})

	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/speed=%g", tc.scenario, tc.speed), func(t *testing.T) {
			t.Parallel()
			bot, srv := startReplay(t, tc.scenario, replaytest.WithSpeed(tc.speed), replaytest.WithStrict())
			if live, recorded := bot.IDs(tc.scenario), recording.IDs(tc.scenario); live.ClientContext == recorded.ClientContext {
				t.Fatalf("the live bot presents the recorded clientContext %s: the replay would bind nothing", live.ClientContext)
			}
			res, err := bot.Run(t.Context(), tc.scenario)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if err := res.Err(); err != nil {
				t.Errorf("the bot's checks failed in replay: %v", err)
			}
			select {
			case <-srv.Done():
			case <-time.After(doneTimeout):
				t.Fatalf("replay not done after %v: %+v", doneTimeout, srv.Report())
			}
			rep := srv.Report()
			if rep.Diverged() || len(rep.Unmatched) > 0 || len(rep.Unused) > 0 || len(rep.Pending) > 0 {
				t.Errorf("replay diverged: unmatched %+v, unused %+v, pending %+v, notifications %+v", rep.Unmatched, rep.Unused, rep.Pending, rep.Notifications)
			}
			exchanges, notifications := countKinds(t, tc.scenario)
			if len(rep.Matched) != exchanges || len(rep.Notifications) != notifications {
				t.Errorf("matched %d exchanges and delivered %d notifications; the cassette holds %d and %d", len(rep.Matched), len(rep.Notifications), exchanges, notifications)
			}
			for _, d := range rep.Notifications {
				if d.Status != d.RecordedStatus || d.Error != "" {
					t.Errorf("notification %d: bot answered %d (%s), recorded %d", d.Seq, d.Status, d.Error, d.RecordedStatus)
				}
			}
		})
	}
}

// countKinds returns how many Graph and token exchanges and how many
// notifications the cassette of s holds.
func countKinds(t *testing.T, s graphtest.Scenario) (exchanges, notifications int) {
	t.Helper()
	r := openCassette(t, s)
	err := r.EachHead(func(e *cassette.Event) error {
		if e.Kind == cassette.KindNotification {
			notifications++
		} else {
			exchanges++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return exchanges, notifications
}

// startReplay starts a fresh sample bot and a replayer of the cassette of
// s posting notifications to it. The bot reaches the replayer as its HTTP
// proxy: the replayer needs the bot's URL to start, and the bot its
// Graph client before it starts.
func startReplay(t *testing.T, s graphtest.Scenario, opts ...replaytest.Option) (*graphtest.Bot, *replaytest.Server) {
	t.Helper()
	var srv *replaytest.Server
	tr := &http.Transport{
		Proxy:              func(*http.Request) (*url.URL, error) { return url.Parse(srv.URL) },
		DisableCompression: true, // the bot asks for gzip and decodes it itself
	}
	t.Cleanup(tr.CloseIdleConnections)
	bot := graphtest.NewBot(graphtest.BotOptions{
		GraphURL:     "http://graph.microsoft.com",
		TokenURL:     "http://login.microsoftonline.com/" + liveTenant + "/oauth2/v2.0/token",
		ClientID:     liveClient,
		ClientSecret: "another-secret",
		Seed:         liveSeed,
		HTTPClient:   &http.Client{Transport: tr, Timeout: doneTimeout},
	})
	t.Cleanup(bot.Close)
	srv = replaytest.Start(t, cassetteFile(s), bot.URL, opts...)
	return bot, srv
}

// TestChangeNotificationsCassette checks the change-notification cassette:
// it scans clean; the app's clientState, the recorded validation tokens and
// any encrypted content are nowhere in the file; each flow is there, as
// show classifies it; the rich notification keeps its resource data
// decrypted and redacted, and its validation token's claims.
func TestChangeNotificationsCassette(t *testing.T) {
	r, err := cassette.Open(changesCassette)
	if err != nil {
		t.Fatalf("open %s: %v (run go generate ./cassettes)", changesCassette, err)
	}
	defer r.Close()
	// The recording app's clientState derives from its seed: a subscriber
	// with the same seed presents it.
	app, err := graphtest.StartSubscriber(graphtest.SubscriberOptions{Seed: recordedSeed})
	if err != nil {
		t.Fatal(err)
	}
	clientState := app.ClientState()
	app.Close()

	sc := redact.NewScanner(r.Pseudonyms())
	classes := map[string]int{}
	err = r.Each(func(e *cassette.Event) error {
		text, err := cassette.EventJSON(e)
		if err != nil {
			return err
		}
		for _, f := range sc.Scan(fmt.Sprintf("event %d", e.Seq), text) {
			t.Errorf("scan: %s: %s %s", f.Where, f.Kind, f.Masked)
		}
		if e.Kind != cassette.KindNotification {
			return nil
		}
		c := timeline.ChangeClass(e.Request.Method, e.Request.URL, e.Request.Body)
		classes[c]++
		if c == "presence updated" {
			if gjson.GetBytes(e.Request.Body, "value.0.decryptedContent.activity").String() != "InACall" {
				t.Errorf("seq %d: resource data not stored decrypted: %s", e.Seq, e.Request.Body)
			}
			if gjson.GetBytes(e.Request.Body, "validationTokenClaims.0.claims.aud").String() == "" {
				t.Errorf("seq %d: validation token claims not kept: %s", e.Seq, e.Request.Body)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"validation": 4, "callRecord created": 1, "presence updated": 1, "reauthorizationRequired": 1}
	for c, n := range want {
		if classes[c] != n {
			t.Errorf("%d %q notifications, want %d (all: %v)", classes[c], c, n, classes)
		}
	}
	raw, err := os.ReadFile(changesCassette)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{clientState, recordedSecret, "encryptedContent", "dataKey", "Testing client application reachability", "app.contoso.com"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the file holds %q", s)
		}
	}
}
