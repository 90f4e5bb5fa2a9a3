// Package testenv starts the real parts that pin's integration tests talk to:
// a local Docker Distribution registry (Debian's docker-registry) and stock
// cosign. It is imported only by _test.go files and the benchmark harness
// (bench/).
//
// When a tool is missing the test is skipped with a one-line reason, unless
// PIN_INTEGRATION=1 is set (make test and CI set it): then a missing tool is a
// test failure, so CI never passes by skipping.
package testenv

import (
	"os"
	"testing"
)

// IntegrationEnv names the environment variable that turns a missing tool
// from a skip into a failure.
const IntegrationEnv = "PIN_INTEGRATION"

// required reports whether missing tools must fail the test rather than skip it.
func required() bool { return os.Getenv(IntegrationEnv) == "1" }

// missing skips t with reason, or fails it when integration tests are required.
func missing(t testing.TB, reason string) {
	t.Helper()
	if required() {
		t.Fatalf("%s (%s=1 is set, so this is a failure, not a skip)", reason, IntegrationEnv)
	}
	t.Skip(reason)
}
