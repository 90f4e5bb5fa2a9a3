package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestInterruptExits130: a run whose context is cancelled (Ctrl-C) exits 130
// with one line, whatever operation it cut short.
func TestInterruptExits130(t *testing.T) {
	t.Parallel()
	host := memRegistry(t)
	seed(t, host, []string{"bags_api"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	a := &app{In: strings.NewReader(""), Out: &out, Err: &errb, Now: time.Now}
	code := run(ctx, a, []string{"resolve", serviceRepo(host, "bags_api") + ":latest"})
	if code != 130 || errb.String() != "pin: interrupted\n" {
		t.Fatalf("cancelled resolve: exit %d, stderr %q; want 130 and one line", code, errb.String())
	}
	// A failure that is not an interruption keeps its own code and message.
	errb.Reset()
	if code := run(context.Background(), a, []string{"resolve", "127.0.0.1:1/none:latest"}); code == 130 || strings.Contains(errb.String(), "interrupted") {
		t.Fatalf("unreachable registry reported as an interruption: exit %d %s", code, errb.String())
	}
}
