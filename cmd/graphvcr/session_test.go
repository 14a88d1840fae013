package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
)

// proc is a graphvcr process running in the background (record, replay).
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string   // stdout, line by line; closed at EOF
	seen   []string      // lines taken from lines so far
	stderr *bytes.Buffer // read after exit only
	exited chan struct{} // closed once Wait returned
	code   int
}

// start runs graphvcr args in the background; the process is killed at the
// end of the test if it is still running.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, lines: make(chan string, 1000), stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var reading sync.WaitGroup
	reading.Add(1)
	go func() {
		defer reading.Done()
		defer close(p.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		io.Copy(io.Discard, out)
	}()
	go func() {
		reading.Wait() // Wait closes the pipe: read it to the end first
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			p.code = ee.ExitCode()
		} else if err != nil {
			p.code = -1
		}
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// waitMatch returns the first submatch of re in the first stdout line
// matching it, failing the test after a deadline or at EOF.
func (p *proc) waitMatch(re *regexp.Regexp) string {
	p.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("graphvcr ended without printing %s; stdout:\n%s\nstderr:\n%s", re, strings.Join(p.seen, "\n"), p.stderr)
			}
			p.seen = append(p.seen, l)
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1]
			}
		case <-deadline:
			p.t.Fatalf("graphvcr did not print %s in time; stdout so far:\n%s", re, strings.Join(p.seen, "\n"))
		}
	}
}

// wait waits for the process to exit by itself and returns its result.
func (p *proc) wait() result {
	p.t.Helper()
	for l := range p.lines {
		p.seen = append(p.seen, l)
	}
	select {
	case <-p.exited:
	case <-time.After(time.Minute):
		p.t.Fatal("graphvcr did not exit")
	}
	return result{stdout: strings.Join(p.seen, "\n") + "\n", stderr: p.stderr.String(), code: p.code}
}

// interrupt sends SIGINT, as Ctrl-C does, and waits for the exit.
func (p *proc) interrupt() result {
	p.t.Helper()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		p.t.Fatal(err)
	}
	return p.wait()
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GRAPHVCR_") {
			env = append(env, kv)
		}
	}
	return append(env, "NO_COLOR=1", "GRAPHVCR_CA_DIR="+testCADir)
}

// testCADir is the CA directory of every run of the binary, set by TestMain.
var testCADir string

var (
	graphListener  = regexp.MustCompile(`graph listener:\s+(\S+)`)
	notifyListener = regexp.MustCompile(`notification listener:\s+(\S+)`)
	replayListener = regexp.MustCompile(`^replaying .* on (\S+);`)
)

// TestRecordThenReplay drives the real binary as a developer and CI would:
// record the sample bot against the simulator, stop with Ctrl-C, then
// replay the cassette to a fresh bot, strictly, until done.
func TestRecordThenReplay(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "session.bolt")
	caDir := filepath.Join(dir, "ca")

	g, bot, rec := recordSampleBot(t, graphtest.GraphOptions{Seed: 7, DelayScale: 0.1}, 7,
		[]string{"GRAPHVCR_CA_DIR=" + caDir}, "--cassette", path)
	res := runBot(t, bot, graphtest.SingleInvite)
	if err := res.Err(); err != nil {
		t.Fatalf("the bot's checks failed through the recorder: %v", err)
	}
	r := rec.interrupt()
	wantSuccess(t, r)
	if !strings.Contains(r.stdout, "recorded ") {
		t.Errorf("no summary after Ctrl-C:\n%s", r.stdout)
	}
	c, err := cassette.Open(path)
	if err != nil {
		t.Fatalf("cassette not closed cleanly: %v", err)
	}
	events := c.Len()
	c.Close()
	if events < len(res.Requests)+len(res.Received) {
		t.Errorf("cassette holds %d events, want at least %d requests + %d notifications", events, len(res.Requests), len(res.Received))
	}
	if s := graphvcr(t, nil, "scan", path); s.code != 0 {
		t.Errorf("scan of the recording: exit %d\n%s%s", s.code, s.stdout, s.stderr)
	}

	t.Run("replay strict until done", func(t *testing.T) {
		toGraph := &graphtest.LateDialer{}
		bot2, err := graphtest.StartBot(demoBotOptions(g.TenantID(), g.ClientID(), 8, toGraph, nil))
		if err != nil {
			t.Fatal(err)
		}
		defer bot2.Close()
		rep := start(t, []string{"GRAPHVCR_SPEED=0", "GRAPHVCR_STRICT=true"},
			"replay", "--cassette", path, "--listen", "127.0.0.1:0", "--bot", bot2.URL, "--exit-when-done")
		toGraph.Set(rep.waitMatch(replayListener))
		if err := runBot(t, bot2, graphtest.SingleInvite).Err(); err != nil {
			t.Errorf("the bot's checks failed in replay: %v", err)
		}
		r := rep.wait()
		wantSuccess(t, r)
		if !strings.Contains(r.stdout, " 0 unmatched requests") || !strings.Contains(r.stdout, "0 pending") {
			t.Errorf("report does not say all matched and delivered:\n%s", r.stdout)
		}
	})

	t.Run("replay strict diverges", func(t *testing.T) {
		rep := start(t, nil, "replay", "--cassette", path, "--listen", "127.0.0.1:0", "--bot", "http://127.0.0.1:1", "--speed", "0", "--strict")
		base := rep.waitMatch(replayListener)
		req, err := http.NewRequestWithContext(t.Context(), "GET", base+"/v1.0/communications/calls/unknown/nothing", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		http.DefaultClient.CloseIdleConnections()
		r := rep.interrupt()
		wantFailure(t, r, 1, "replay: the bot diverged from "+path, "1 unmatched request")
		if !strings.Contains(r.stdout, "unmatched: GET /v1.0/communications/calls/unknown/nothing") {
			t.Errorf("report does not list the unmatched request:\n%s", r.stdout)
		}
	})

	t.Run("record refuses an existing cassette", func(t *testing.T) {
		r := graphvcr(t, nil, "record", "--ca-dir", caDir, "--cassette", path, "--bot", bot.URL,
			"--listen", "127.0.0.1:0", "--notify-listen", "127.0.0.1:0")
		wantFailure(t, r, 2, "create "+path+": file exists; pass --append")
	})
}

// recordSampleBot starts a Graph simulator with gopts, the sample bot
// (seeded botSeed) of its tenant, and "graphvcr record" with env and args
// (the cassette, and the CA directory unless env names it) between them:
// the bot's Graph requests and the simulator's notifications go through
// the recorder's listeners. The simulator and the bot are closed when the
// test ends.
func recordSampleBot(t *testing.T, gopts graphtest.GraphOptions, botSeed int64, env []string, args ...string) (*graphtest.Graph, *graphtest.Bot, *proc) {
	t.Helper()
	toNotify, toGraph := &graphtest.LateDialer{}, &graphtest.LateDialer{}
	t.Cleanup(toNotify.CloseIdleConnections)
	t.Cleanup(toGraph.CloseIdleConnections)
	gopts.NotifyClient = toNotify.Client(demoHTTPTimeout)
	g, err := graphtest.StartGraph(gopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	bot, err := graphtest.StartBot(demoBotOptions(g.TenantID(), g.ClientID(), botSeed, toGraph, nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bot.Close)
	rec := start(t, env, append(append([]string{"record"}, args...), "--listen", "127.0.0.1:0", "--notify-listen", "127.0.0.1:0",
		"--upstream", g.URL, "--token-upstream", g.URL, "--bot", bot.URL)...)
	toGraph.Set(rec.waitMatch(graphListener))
	toNotify.Set(rec.waitMatch(notifyListener))
	return g, bot, rec
}

// runBot runs scenario s with bot and returns what the bot saw, stopping
// the test when the scenario could not run at all; whether the bot's own
// checks passed (res.Err()) is for the caller to judge.
func runBot(t *testing.T, bot *graphtest.Bot, s graphtest.Scenario) *graphtest.Result {
	t.Helper()
	res, err := bot.Run(t.Context(), s)
	if err != nil {
		t.Fatalf("run %s: %v", s, err)
	}
	return res
}

func TestCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	first := graphvcr(t, nil, "ca", "--ca-dir", dir)
	wantSuccess(t, first)
	if want := filepath.Join(dir, "ca.pem") + "\n"; first.stdout != want {
		t.Fatalf("stdout %q, want the certificate path alone: %q", first.stdout, want)
	}
	pem1, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil || !bytes.Contains(pem1, []byte("BEGIN CERTIFICATE")) {
		t.Fatalf("no certificate at the printed path: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, "ca-key.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ca-key.pem: %v, mode %v; want mode 0600", err, fi.Mode().Perm())
	}
	again := graphvcr(t, []string{"GRAPHVCR_CA_DIR=" + dir}, "ca")
	wantSuccess(t, again)
	pem2, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if again.stdout != first.stdout || !bytes.Equal(pem1, pem2) {
		t.Errorf("second run printed %q or replaced the CA", again.stdout)
	}
}
