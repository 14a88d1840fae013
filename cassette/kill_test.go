package cassette

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// killChildEnv names the cassette a re-executed test binary appends to
// until it is killed (see TestMain).
const killChildEnv = "GRAPHVCR_CASSETTE_KILL_CHILD"

// runKillChild appends events from 8 goroutines forever, printing each seq
// once its Append has returned.
func runKillChild(path string) int {
	w, err := Create(path, CreateOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var mu sync.Mutex // keeps lines whole
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				ev := sampleEvent(g*1_000_000+i, 512)
				if err := w.Append(context.Background(), ev); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Println(ev.Seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return 0
}

func TestAppendSurvivesSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "killed.bolt")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const killAfter = 300
	var printed []uint64
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		seq, err := strconv.ParseUint(sc.Text(), 10, 64)
		if err != nil {
			t.Fatalf("child printed %q", sc.Text())
		}
		printed = append(printed, seq)
		if len(printed) == killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v", err)
	}
	if len(printed) < killAfter {
		t.Fatalf("child printed only %d seqs", len(printed))
	}

	r := openReader(t, path)
	for _, seq := range printed {
		ev, err := r.Event(seq)
		if err != nil {
			t.Fatalf("seq %d was acknowledged but is lost: %v", seq, err)
		}
		if ev.Response.Status != 200 || len(ev.Response.Body) != 512 {
			t.Fatalf("seq %d is damaged: %+v", seq, ev.Response)
		}
	}
	// Whatever was committed is dense, with nothing half-written.
	var n uint64
	if err := r.EachHead(func(e *Event) error {
		n++
		if e.Seq != n {
			return fmt.Errorf("seq %d at position %d", e.Seq, n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != uint64(r.Len()) || n < uint64(len(printed)) {
		t.Fatalf("%d events, Len %d, %d acknowledged", n, r.Len(), len(printed))
	}
	t.Logf("killed after %d acknowledged appends; %d events in the file", len(printed), n)
}
