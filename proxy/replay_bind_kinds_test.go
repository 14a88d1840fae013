package proxy_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/recordtest"
	"github.com/graphvcr/graphvcr/proxy/replaytest"
)

// The join-meeting session of TestReplayBindsThreadPhoneAndMeetingID: what
// the recorded bot sent, and what the live bot sends in its place.
const (
	recThread  = "19:meeting_MjQ5NmUyZTktNTU5Ni00ZDA4LWI1ZTAtZjc3MDA1NWM0OTRl@thread.v2"
	liveThread = "19:meeting_OTk5OWFhYWEtYmJiYi00Y2NjLWRkZGQtZWVlZWZmZmYwMDAw@thread.v2"
	recPhone   = "+1 425-555-0142"
	livePhone  = "+1 206-555-0199"
	recMeeting = "7362859470"
	liveMeetID = "4815162342"
	joinCallID = "7b1d2c3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
)

// joinBody is the bot's join-meeting request.
func joinBody(thread, phone, meetingID string) string {
	return `{"@odata.type":"#microsoft.graph.call","callbackUri":"https://bot.example.com/api/calls",` +
		`"chatInfo":{"@odata.type":"#microsoft.graph.chatInfo","threadId":"` + thread + `","messageId":"0"},` +
		`"meetingInfo":{"@odata.type":"#microsoft.graph.joinMeetingIdMeetingInfo","joinMeetingId":"` + meetingID + `"},` +
		`"targets":[{"identity":{"phone":{"id":"` + phone + `"}}}],"requestedModalities":["audio"]}`
}

// joinAnswer is Graph's answer: the thread id plain and percent-encoded in
// the joinWebUrl, the phone number, the meeting id in a dial string.
func joinAnswer(thread, phone, meetingID string) string {
	enc := strings.NewReplacer(":", "%3a", "@", "%40").Replace(thread)
	return `{"id":"` + joinCallID + `","state":"establishing",` +
		`"chatInfo":{"threadId":"` + thread + `","messageId":"0"},` +
		`"meetingInfo":{"joinWebUrl":"https://teams.microsoft.com/l/meetup-join/` + enc + `/0?context=%7b%7d","joinMeetingId":"` + meetingID + `"},` +
		`"targets":[{"identity":{"phone":{"id":"` + phone + `"}}}]}`
}

// joinNotification is the roster update Graph sends after the join.
func joinNotification(thread, phone string) string {
	return `{"value":[{"changeType":"updated","resource":"/communications/calls/` + joinCallID + `/participants",` +
		`"resourceData":[{"info":{"identity":{"phone":{"id":"` + phone + `"}}},"chatInfo":{"threadId":"` + thread + `"}}]}]}`
}

// TestReplayBindsThreadPhoneAndMeetingID records a join-meeting call (a
// thread id, a written phone number, a meeting id) through the Recorder,
// then replays it to a bot that joins another meeting with another phone:
// the request matches, the recorded pseudonyms bind to the live values, and
// those come back in the answer, in a later answer and in the notification,
// in every form the recording had them (plain, percent-encoded).
func TestReplayBindsThreadPhoneAndMeetingID(t *testing.T) {
	path := recordJoinSession(t)

	// The cassette holds pseudonyms only.
	rd, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var stored bytes.Buffer
	err = rd.Each(func(e *cassette.Event) error {
		stored.Write(e.Request.Body)
		stored.Write(e.Response.Body)
		return nil
	})
	rd.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, orig := range []string{recThread, recPhone, recMeeting, "MjQ5NmUyZTktNTU5Ni00ZDA4"} {
		if bytes.Contains(stored.Bytes(), []byte(orig)) {
			t.Fatalf("recorded %q survives in the cassette", orig)
		}
	}

	var mu sync.Mutex
	var notified []string
	got := make(chan struct{}, 1)
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		notified = append(notified, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		select {
		case got <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(bot.Close) // after the replayer's own cleanup
	rep := replaytest.Start(t, path, bot.URL)

	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	join := post(t, client, rep.URL+"/v1.0/communications/calls", joinBody(liveThread, livePhone, liveMeetID))
	liveEnc := strings.NewReplacer(":", "%3a", "@", "%40").Replace(liveThread)
	liveDigits := "+12065550199"
	for _, want := range []string{`"threadId":"` + liveThread + `"`, "/meetup-join/" + liveEnc + "/0", liveDigits, `"joinMeetingId":"` + liveMeetID + `"`} {
		if !strings.Contains(join, want) {
			t.Errorf("join answer lacks the live %q:\n%s", want, join)
		}
	}
	callID := between(join, `"id":"`, `"`)
	if callID == "" {
		t.Fatalf("join answer has no call id: %s", join)
	}
	later := get(t, client, rep.URL+"/v1.0/communications/calls/"+callID)
	for _, want := range []string{liveThread, liveEnc, liveDigits} {
		if !strings.Contains(later, want) {
			t.Errorf("later answer lacks the live %q:\n%s", want, later)
		}
	}

	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the recorded notification never reached the bot")
	}
	mu.Lock()
	n := strings.Join(notified, "\n")
	mu.Unlock()
	for _, want := range []string{liveThread, liveDigits} {
		if !strings.Contains(n, want) {
			t.Errorf("notification lacks the live %q:\n%s", want, n)
		}
	}
	for _, leftover := range []string{"c0ffee1@thread.v2", "5550000", "555-000"} {
		if strings.Contains(join+later+n, leftover) {
			t.Errorf("a bound pseudonym %q reached the bot:\n%s\n%s\n%s", leftover, join, later, n)
		}
	}
	if r := rep.Report(); len(r.Unmatched) > 0 {
		t.Errorf("unmatched requests: %+v", r.Unmatched)
	}
}

// recordJoinSession records the join, a GET of the call and the roster
// notification through a Recorder and returns the cassette's path.
func recordJoinSession(t *testing.T) string {
	t.Helper()
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1.0/communications/calls":
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodGet && r.URL.Path == "/v1.0/communications/calls/"+joinCallID:
		default:
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, joinAnswer(recThread, recPhone, recMeeting))
	}))
	defer graph.Close()
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer bot.Close()
	rec := recordtest.Start(t, filepath.Join(t.TempDir(), "join.bolt"), proxy.RecordConfig{Upstream: graph.URL, TokenUpstream: graph.URL, Bot: bot.URL})
	client := &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	post(t, client, rec.URL()+"/v1.0/communications/calls", joinBody(recThread, recPhone, recMeeting))
	get(t, client, rec.URL()+"/v1.0/communications/calls/"+joinCallID)
	post(t, client, rec.NotifyURL()+"/api/calls", joinNotification(recThread, recPhone))
	client.CloseIdleConnections() // an idle connection would hold the recorder's shutdown
	rec.Close()
	return rec.Path
}

func post(t *testing.T, c *http.Client, url, body string) string {
	t.Helper()
	return do(t, c, http.MethodPost, url, body)
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	return do(t, c, http.MethodGet, url, "")
}

func do(t *testing.T, c *http.Client, method, url, body string) string {
	t.Helper()
	resp, b := roundTrip(t, c, mustRequest(t, method, url, body))
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return string(b)
}

// between returns what s holds between the first from and the next to.
func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	j := strings.Index(s, to)
	if j < 0 {
		return ""
	}
	return s[:j]
}
