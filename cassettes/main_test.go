package cassettes_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"go.uber.org/goleak"
)

// bin is the graphvcr binary, built once by TestMain: the README tests run
// it as a reader of the README would.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "graphvcr-cassettes-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(2)
	}
	bin = filepath.Join(dir, "graphvcr")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command(goTool(), "build", "-o", bin, "../cmd/graphvcr")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build graphvcr:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

// goTool finds the go command that is running these tests.
func goTool() string {
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "go"
}
