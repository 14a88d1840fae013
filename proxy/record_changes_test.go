package proxy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/timeline"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/changes"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/proxy/recordtest"
	"github.com/graphvcr/graphvcr/redact"
)

// changeSession is a subscriber app recorded through graphvcr against the
// Graph simulator.
type changeSession struct {
	g       *graphtest.Graph
	sub     *graphtest.Subscriber
	rec     *recordtest.Session
	log     *lockedBuffer
	secrets [][]byte // values that must not reach the cassette
	close   func()
}

// startChangeSession starts the simulator, the subscriber (whose private
// key is key) and a recorder between them, decrypting with decryptKey.
func startChangeSession(t *testing.T, key, decryptKey *rsa.PrivateKey) *changeSession {
	t.Helper()
	return startChangeSessionEcho(t, key, decryptKey, nil)
}

// startChangeSessionEcho is startChangeSession with the app answering
// validation requests with echo (nil: the right echo).
func startChangeSessionEcho(t *testing.T, key, decryptKey *rsa.PrivateKey, echo func(http.ResponseWriter, *http.Request, string)) *changeSession {
	t.Helper()
	var toNotify, toRecorder graphtest.LateDialer
	g, err := graphtest.StartGraph(graphtest.GraphOptions{Seed: 11, ClientSecret: "secret~20",
		NotifyClient: toNotify.Client(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	base := "http://graphvcr.test:8080"
	sub, err := graphtest.StartSubscriber(graphtest.SubscriberOptions{
		GraphURL: base, TokenURL: base + "/" + g.TenantID() + "/oauth2/v2.0/token",
		ClientID: g.ClientID(), ClientSecret: "secret~20", TenantID: g.TenantID(),
		KeysConfigURL:    base + "/" + g.TenantID() + "/v2.0/.well-known/openid-configuration",
		NotificationBase: "http://notify.contoso-app.example", Seed: 5, Key: key,
		HTTPClient: toRecorder.Client(10 * time.Second), Echo: echo,
	})
	if err != nil {
		g.Close()
		t.Fatal(err)
	}
	cs := &changeSession{g: g, sub: sub, log: &lockedBuffer{}}
	cfg := proxy.RecordConfig{Upstream: g.URL, TokenUpstream: g.URL, Bot: sub.URL,
		Logger: slog.New(slog.NewTextHandler(cs.log, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if decryptKey != nil {
		cfg.DecryptKey = decryptKey
	}
	cs.rec = recordtest.Start(t, filepath.Join(t.TempDir(), "changes.bolt"), cfg)
	toRecorder.Set(cs.rec.URL())
	toNotify.Set(cs.rec.NotifyURL())
	cs.secrets = append(cs.secrets, []byte(sub.ClientState()), []byte("secret~20"))
	var once sync.Once
	cs.close = func() {
		once.Do(func() {
			if err := g.Flush(context.Background()); err != nil {
				t.Error(err)
			}
			toRecorder.CloseIdleConnections()
			toNotify.CloseIdleConnections()
			cs.rec.Close()
			sub.Close()
			g.Close()
		})
	}
	t.Cleanup(cs.close)
	return cs
}

// keep notes the secrets a delivered notification carried.
func (cs *changeSession) keep(t *testing.T, ds []graphtest.Delivery) {
	t.Helper()
	for _, d := range ds {
		if d.Err != nil || d.Status != http.StatusAccepted {
			t.Fatalf("delivery to %s: status %d, %v", d.URL, d.Status, d.Err)
		}
		for _, tok := range changes.ValidationTokens(d.Body) {
			cs.secrets = append(cs.secrets, []byte(tok), []byte(tok[strings.LastIndexByte(tok, '.')+1:]))
		}
		for _, it := range gjson.GetBytes(d.Body, "value").Array() {
			for _, f := range []string{"data", "dataKey", "dataSignature"} {
				if v := it.Get("encryptedContent." + f).String(); v != "" {
					cs.secrets = append(cs.secrets, []byte(v))
				}
			}
		}
	}
}

// runFlows drives the flows of the issue: two subscriptions (validation of
// both URLs each), a callRecords change notification and the app's GET of
// the record, rich presence notifications, and reauthorizationRequired
// followed by reauthorize. It returns the items the app handled, each of
// which passed its checks.
func (cs *changeSession) runFlows(t *testing.T, presences int) []graphtest.Handled {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	recordsID, err := cs.sub.Subscribe(ctx, "/communications/callRecords", "created", false)
	if err != nil {
		t.Fatalf("subscribe through the recorder: %v", err)
	}
	user := "3f1b8a56-0c55-4e0e-a55c-2f1e5a9d7c41"
	if _, err := cs.sub.Subscribe(ctx, "/communications/presences/"+user, "updated", true); err != nil {
		t.Fatalf("rich subscribe through the recorder: %v", err)
	}
	want := 4 // validations
	_, ds, err := cs.g.NotifyCallRecord(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs.keep(t, ds)
	want++
	if _, err := cs.sub.Wait(ctx, want); err != nil { // the GET of the record is done
		t.Fatal(err)
	}
	for i := range presences {
		ds, err := cs.g.NotifyPresence(ctx, user, "Busy", fmt.Sprintf("InACall%d", i), nil)
		if err != nil || len(ds) != 1 {
			t.Fatalf("presence: %d deliveries, %v", len(ds), err)
		}
		cs.keep(t, ds)
		want++
	}
	d, err := cs.g.NotifyLifecycle(ctx, recordsID, graphtest.ReauthorizationRequired, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs.keep(t, []graphtest.Delivery{d})
	want++
	got, err := cs.sub.Wait(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range got {
		if h.Err != nil {
			t.Errorf("the app's checks failed while recording: %s: %v", h.Class, h.Err)
		}
	}
	cs.close()
	return got
}

// readCassette returns the events of a closed cassette, its raw bytes, and
// its JSONL export.
func readCassette(t *testing.T, path string) (events []*cassette.Event, raw, jsonl []byte, pseudonyms []string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Each(func(e *cassette.Event) error { events = append(events, e); return nil }); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := cassette.WriteJSONL(&buf, r); err != nil {
		t.Fatal(err)
	}
	return events, raw, buf.Bytes(), r.Pseudonyms()
}

// TestRecordChangeNotifications records the subscriber app through graphvcr
// with the app's key: every check of the app passes while recording, and
// the cassette keeps no clientState, validation token or encrypted blob
// (raw file, export), keeps the presence decrypted and redacted, the
// validation tokens' claims, and files each validation request under its
// POST /subscriptions.
func TestRecordChangeNotifications(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cs := startChangeSession(t, key, key)
	handled := cs.runFlows(t, 1)
	for _, h := range handled {
		if h.Class == "presence updated" && gjson.GetBytes(h.Data, "activity").String() != "InACall0" {
			t.Errorf("the app decrypted %s", h.Data)
		}
	}

	events, raw, jsonl, pseudonyms := readCassette(t, cs.rec.Path)
	for _, s := range cs.secrets {
		if bytes.Contains(raw, s) || bytes.Contains(jsonl, s) {
			t.Errorf("the cassette holds the secret %.24q…", s)
		}
	}
	for _, b := range [][]byte{raw, jsonl} {
		for _, needle := range []string{"encryptedContent", "Testing client application reachability", "BEGIN CERTIFICATE"} {
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("the cassette holds %q", needle)
			}
		}
	}
	if strings.Contains(cs.log.String(), "--decrypt-key FILE") {
		t.Errorf("warned about a missing key although one was given:\n%s", cs.log)
	}

	sc := redact.NewScanner(pseudonyms)
	classes := map[string]int{}
	posts := map[uint64]*cassette.Event{}
	for _, e := range events {
		text, err := cassette.EventJSON(e)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range sc.Scan(fmt.Sprintf("event %d", e.Seq), text) {
			t.Errorf("scan: %s: %s %s", f.Where, f.Kind, f.Masked)
		}
		if e.Kind == cassette.KindGraph && e.Request.Method == http.MethodPost && strings.HasSuffix(e.Request.URL, "/subscriptions") {
			posts[e.Seq] = e
			for _, b := range [][]byte{e.Request.Body, e.Response.Body} {
				if v := gjson.GetBytes(b, "clientState").String(); v != changes.Redacted {
					t.Errorf("seq %d: stored clientState %q", e.Seq, v)
				}
				if c := gjson.GetBytes(b, "encryptionCertificate"); c.Exists() && c.Type != gjson.Null && c.String() != changes.Redacted {
					t.Errorf("seq %d: stored encryptionCertificate %.20q", e.Seq, c.String())
				}
			}
		}
		if e.Kind != cassette.KindNotification {
			continue
		}
		cl := timeline.ChangeClass(e.Request.Method, e.Request.URL, e.Request.Body)
		classes[cl]++
		switch cl {
		case timeline.ClassValidation:
			if !strings.Contains(e.Request.URL, "validationToken="+changes.Redacted) || string(e.Response.Body) != changes.Redacted {
				t.Errorf("seq %d: validation stored as %s → %q", e.Seq, e.Request.URL, e.Response.Body)
			}
		case "presence updated":
			it := gjson.GetBytes(e.Request.Body, "value.0")
			if it.Get(changes.DecryptedField+".activity").String() != "InACall0" {
				t.Errorf("seq %d: resource data not stored decrypted: %s", e.Seq, e.Request.Body)
			}
			if v := gjson.GetBytes(e.Request.Body, "validationTokens").Array(); len(v) != 1 || v[0].String() != changes.Redacted {
				t.Errorf("seq %d: validationTokens stored as %v", e.Seq, v)
			}
			c := gjson.GetBytes(e.Request.Body, changes.ClaimsField+".0")
			if c.Get("claims.aud").String() == "" || c.Get("claims.iss").String() == "" || c.Get("header.kid").String() == "" || c.Get("lifetime_ns").Int() <= 0 {
				t.Errorf("seq %d: validation token claims not kept: %s", e.Seq, c.Raw)
			}
			if !redact.IsPseudonym(c.Get("claims.aud").String()) {
				t.Errorf("seq %d: aud claim %q is not a pseudonym", e.Seq, c.Get("claims.aud").String())
			}
		}
		if cl != timeline.ClassValidation && cl != "" {
			if v := gjson.GetBytes(e.Request.Body, "value.0.clientState").String(); v != changes.Redacted {
				t.Errorf("seq %d: notification clientState stored as %q", e.Seq, v)
			}
		}
	}
	for cl, n := range map[string]int{timeline.ClassValidation: 4, "callRecord created": 1, "presence updated": 1, timeline.ClassReauthorizationRequired: 1} {
		if classes[cl] != n {
			t.Errorf("%d %q notifications recorded, want %d (all: %v)", classes[cl], cl, n, classes)
		}
	}
	// Each validation request is triggered by the POST /subscriptions it
	// belongs to: it arrived before that POST was answered.
	byPost := map[uint64]int{}
	for _, e := range events {
		if e.Kind != cassette.KindNotification || timeline.ChangeClass(e.Request.Method, e.Request.URL, e.Request.Body) != timeline.ClassValidation {
			continue
		}
		p := posts[e.Trigger]
		if p == nil {
			t.Errorf("validation seq %d: trigger %d is no POST /subscriptions", e.Seq, e.Trigger)
			continue
		}
		if e.Offset < p.Offset || e.Offset > p.Offset+p.Latency {
			t.Errorf("validation seq %d at %v: not within its POST's %v+%v", e.Seq, e.Offset, p.Offset, p.Latency)
		}
		byPost[e.Trigger]++
	}
	if len(byPost) != 2 {
		t.Errorf("validations by POST /subscriptions: %v, want 2 each of 2", byPost)
	}
	for seq, n := range byPost {
		if n != 2 {
			t.Errorf("POST seq %d triggered %d validations, want 2 (notification and lifecycle URLs)", seq, n)
		}
	}
}

// TestRecordRichWithoutKey: without the app's key, rich notifications are
// stored without their resource data, and the warning naming --decrypt-key
// is logged once however many there are.
func TestRecordRichWithoutKey(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cs := startChangeSession(t, key, nil)
	cs.runFlows(t, 2)
	if n := strings.Count(cs.log.String(), "--decrypt-key FILE"); n != 1 {
		t.Errorf("warning naming --decrypt-key logged %d times, want 1:\n%s", n, cs.log)
	}
	events, raw, _, _ := readCassette(t, cs.rec.Path)
	for _, s := range cs.secrets {
		if bytes.Contains(raw, s) {
			t.Errorf("the cassette holds the secret %.24q…", s)
		}
	}
	n := 0
	for _, e := range events {
		if timeline.ChangeClass(e.Request.Method, e.Request.URL, e.Request.Body) != "presence updated" {
			continue
		}
		n++
		it := gjson.GetBytes(e.Request.Body, "value.0")
		if it.Get("encryptedContent").Exists() || it.Get(changes.DecryptedField).Exists() {
			t.Errorf("seq %d: stored %s", e.Seq, e.Request.Body)
		}
	}
	if n != 2 {
		t.Errorf("%d presence notifications recorded, want 2", n)
	}
}

// TestRecordWrongEcho: an app that echoes the wrong token gets Graph's 400
// through the recorder at once (the validation request is not held behind
// the subscription it belongs to, in failure either), the recorder warns,
// and both are recorded, the validation triggered by the refused POST.
func TestRecordWrongEcho(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cs := startChangeSessionEcho(t, key, nil, func(w http.ResponseWriter, _ *http.Request, token string) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "not "+token)
	})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second) // well under the recorder's wait for a trigger
	defer cancel()
	if _, err := cs.sub.Subscribe(ctx, "/communications/callRecords", "created", false); err == nil || !strings.Contains(err.Error(), "status 400") {
		t.Fatalf("subscribe with a wrong echo: %v, want Graph's 400", err)
	}
	cs.close()
	if !strings.Contains(cs.log.String(), "not the echo Graph wants") {
		t.Errorf("no warning about the wrong echo:\n%s", cs.log)
	}
	events, raw, _, _ := readCassette(t, cs.rec.Path)
	if bytes.Contains(raw, []byte("Testing client application reachability")) {
		t.Error("the wrong echo, holding the token, is stored")
	}
	var post, validation *cassette.Event
	for _, e := range events {
		switch {
		case e.Kind == cassette.KindGraph && strings.HasSuffix(e.Request.URL, "/subscriptions"):
			post = e
		case e.Kind == cassette.KindNotification:
			validation = e
		}
	}
	if post == nil || validation == nil || post.Response.Status != http.StatusBadRequest || validation.Trigger != post.Seq {
		t.Fatalf("recorded POST %+v, validation %+v", post, validation)
	}
}
