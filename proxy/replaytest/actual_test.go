package replaytest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/replaytest"
)

// loggingTB is a fakeTB that keeps what is logged and says it failed once
// it recorded a failure.
type loggingTB struct {
	*fakeTB
	logs []string
}

func (l *loggingTB) Logf(format string, args ...any) {
	l.fakeTB.mu.Lock()
	defer l.fakeTB.mu.Unlock()
	l.logs = append(l.logs, fmt.Sprintf(format, args...))
}

func (l *loggingTB) Failed() bool {
	l.fakeTB.mu.Lock()
	defer l.fakeTB.mu.Unlock()
	return len(l.failures) > 0
}

func TestRecordActual(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	path := writeCassette(t)
	bot, _ := startBot(t)
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprint("strict=", strict), func(t *testing.T) {
			l := &loggingTB{fakeTB: &fakeTB{TB: t}}
			var actual string
			runAs(l, func(tb testing.TB) {
				actual = replayUnrecorded(t, tb, path, bot.URL, strict, replaytest.WithRecordActual()).ActualPath
			})
			l.cleanup()
			logged := strings.Join(l.logs, "\n")
			if strict != strings.Contains(logged, "what the bot actually did is in "+actual+"; compare: graphvcr diff "+path+" "+actual) {
				t.Errorf("test failed = %v; logged %q; want the actual cassette's path logged only on failure", strict, logged)
			}
			r, err := cassette.Open(actual)
			if err != nil {
				t.Fatalf("the actual cassette: %v", err)
			}
			defer r.Close()
			var got []string
			err = r.Each(func(ev *cassette.Event) error {
				got = append(got, fmt.Sprintf("%s %s %s %d", ev.Kind, ev.Request.Method, ev.Request.URL, ev.Response.Status))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !strings.HasSuffix(got[0], "/participants/invite 501") || !strings.HasPrefix(got[0], "graph POST https://graph.microsoft.com/v1.0/communications/calls/") {
				t.Errorf("actual events %q, want the unmatched invite answered 501", got)
			}
			if strings.Contains(strings.Join(got, " "), liveTenant) {
				t.Errorf("a live id was stored: %q", got)
			}
		})
	}
}
