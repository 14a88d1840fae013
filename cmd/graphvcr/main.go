// Command graphvcr records and replays the traffic between a Microsoft Graph
// calling bot and Graph: requests, responses and webhook notifications, with
// their timing, redacted into a bbolt cassette.
//
// Usage, exit codes and environment variables are described by
// "graphvcr help" and in the repository's README.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is the graphvcr version, written into every cassette recorded.
// Release builds set it with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
