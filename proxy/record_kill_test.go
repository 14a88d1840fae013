package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/redact"
)

// Environment of the child recorder (the test binary re-executed).
const (
	childEnv         = "GRAPHVCR_TEST_CHILD_RECORDER" // cassette path
	childUpstreamEnv = "GRAPHVCR_TEST_CHILD_UPSTREAM"
)

// runChildRecorder records to the cassette named by childEnv, prints its
// URL on stdout and serves until killed (or stdin closes).
func runChildRecorder() int {
	path := os.Getenv(childEnv)
	red := redact.New(nil)
	up := os.Getenv(childUpstreamEnv)
	w, err := cassette.Create(path, cassette.CreateOptions{Meta: proxy.RecordMeta(up, up, red)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rec, err := proxy.StartRecorder(context.Background(), proxy.RecordConfig{
		Upstream: up, TokenUpstream: up, Bot: "http://127.0.0.1:9", Cassette: w, Redactor: red,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(rec.URL())
	io.Copy(io.Discard, os.Stdin) // the parent kills us first
	return 0
}

// TestKillLosesOnlyInFlight kills a recorder under concurrent load with
// SIGKILL and checks that every exchange whose answer reached a client is
// in the cassette: each one was durable before it was relayed.
func TestKillLosesOnlyInFlight(t *testing.T) {
	up := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"echo":%q}`, r.URL.Query().Get("n"))
	}))
	path := filepath.Join(t.TempDir(), "killed.bolt")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path, childUpstreamEnv+"="+up)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child recorder did not start: %v", err)
	}
	base := strings.TrimSpace(line)

	const workers, maxPerWorker, killAfter = 32, 200, 300
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var answered sync.Map // n -> true, for answers received
	var count atomic.Int64
	killed := make(chan struct{})
	var killOnce sync.Once
	kill := func() {
		killOnce.Do(func() {
			cmd.Process.Signal(syscall.SIGKILL)
			close(killed)
		})
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range maxPerWorker {
				select {
				case <-killed:
					return
				default:
				}
				n := fmt.Sprintf("w%02d-%04d", w, i)
				// An id shared by the workers' i-th requests: its pseudonym is
				// issued by whichever redaction meets it first, in flight or not.
				id := fmt.Sprintf("5a1e0000-1b2c-4d3e-8f40-%012d", i)
				resp, err := client.Get(base + "/v1.0/load?n=" + n + "&id=" + id)
				if err != nil {
					continue // in flight when killed
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(b), n) {
					continue
				}
				answered.Store(n, true)
				if count.Add(1) >= killAfter {
					kill()
				}
			}
		}()
	}
	wg.Wait()
	kill()
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", err)
	}
	if count.Load() < killAfter {
		t.Fatalf("only %d answers before the kill", count.Load())
	}

	recorded := map[string]bool{}
	evs := readEvents(t, path)
	for _, e := range evs {
		q := e.Request.URL[strings.Index(e.Request.URL, "n=")+2:]
		q, _, _ = strings.Cut(q, "&")
		recorded[q] = true
	}
	checkPseudonymSet(t, path, evs)
	missing := 0
	answered.Range(func(k, _ any) bool {
		if !recorded[k.(string)] {
			missing++
			if missing < 5 {
				t.Errorf("answered exchange %s is not in the cassette", k)
			}
		}
		return true
	})
	if missing > 0 {
		t.Errorf("%d of %d answered exchanges lost", missing, count.Load())
	}
	t.Logf("%d answered, %d recorded", count.Load(), len(recorded))
}

// checkPseudonymSet checks that every GUID pseudonym the events use is in
// the cassette's set of pseudonyms, as it must be even after a crash.
func checkPseudonymSet(t *testing.T, path string, evs []*cassette.Event) {
	t.Helper()
	set := pseudonymSet(t, path)
	for _, e := range evs {
		for _, sp := range redact.FindIDs(e.Request.URL) {
			if p := e.Request.URL[sp.Start:sp.End]; sp.Form.IsGUID() && redact.IsPseudonym(p) && !set[sp.Key] {
				t.Errorf("seq %d uses pseudonym %s, missing from the cassette's set", e.Seq, p)
			}
		}
	}
}

// testJWT returns a signed JWT shaped like a Graph notification token.
func testJWT(t *testing.T) string {
	t.Helper()
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": "https://graph.microsoft.com", "aud": "0b2c4d6e-8f10-4a2b-9c3d-4e5f60718293",
		"tid": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = "test-kid"
	s, err := tok.SignedString([]byte("test signing key of enough length"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readFileString(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}
