package graphtest

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// testKey signs for every simulator in the tests: generating a 2048-bit
// key per test would dominate the run time.
var testKey *rsa.PrivateKey

func TestMain(m *testing.M) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		fmt.Fprintln(os.Stderr, "generate test key:", err)
		os.Exit(2)
	}
	testKey = k
	goleak.VerifyTestMain(m)
}
