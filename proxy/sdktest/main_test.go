package sdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// childEnv, set to "go-sdk", makes the test binary run the msgraph-sdk-go
// client instead of the tests. The client runs as a child process so that
// it reads HTTPS_PROXY and SSL_CERT_FILE from its own environment, as a bot
// does: Go caches both at first use, so one process cannot change them
// between subtests.
const childEnv = "GRAPHVCR_SDKTEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "go-sdk" {
		os.Exit(goClientMain())
	}
	goleak.VerifyTestMain(m)
}

// goClientMain runs the Go SDK client in the child process: the result as
// one JSON line on stdout, errors on stderr, exit status 1 on failure.
func goClientMain() int {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg, err := clientConfigFromEnv()
	if err == nil {
		var res *clientResult
		if res, err = runGoClient(ctx, cfg); err == nil {
			if err = json.NewEncoder(os.Stdout).Encode(res); err == nil {
				return 0
			}
		}
	}
	fmt.Fprintln(os.Stderr, "msgraph-sdk-go:", err)
	return 1
}
