package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sample is one timed run of a command.
type sample struct {
	wall   time.Duration
	counts counts
	cpu    time.Duration // user + system time of the process and its waited-for children
}

// result is a case measured several times.
type result struct {
	Tool    string // pin, crane loop, ...
	Refs    int
	Command string // as a user would type it
	Samples []sample
	RSS     int64 // peak RSS in bytes, from one run under /usr/bin/time; 0 when not measured
}

func (r result) median() time.Duration {
	return r.medianOf(func(s sample) time.Duration { return s.wall })
}

func (r result) medianCPU() time.Duration {
	return r.medianOf(func(s sample) time.Duration { return s.cpu })
}

// medianOf returns the median of f over the samples.
func (r result) medianOf(f func(sample) time.Duration) time.Duration {
	w := make([]time.Duration, len(r.Samples))
	for i, s := range r.Samples {
		w[i] = f(s)
	}
	slices.Sort(w)
	return w[len(w)/2]
}

func (r result) spread() (lo, hi time.Duration) {
	lo, hi = r.Samples[0].wall, r.Samples[0].wall
	for _, s := range r.Samples {
		lo, hi = min(lo, s.wall), max(hi, s.wall)
	}
	return lo, hi
}

// last returns the counts of the last run (every run makes the same requests).
func (r result) last() counts { return r.Samples[len(r.Samples)-1].counts }

// invocation is one command to time: argv run directly (no shell), with stdin.
type invocation struct {
	argv  []string
	stdin string
	// check inspects stdout; a run whose output is wrong fails the harness.
	check func(stdout string) error
	// env is added to the environment the command runs with.
	env []string
	// dir is the working directory ("": the harness's).
	dir string
}

// measure runs inv runs times (after one unmeasured warm-up run, which also
// loads the binary into the page cache) against e's proxy, resetting the
// proxy's counters before each.
func measure(ctx context.Context, e *env, runs int, inv invocation) ([]sample, error) {
	var out []sample
	for i := -1; i < runs; i++ {
		e.Proxy.reset()
		s, err := runOnce(ctx, e.Env(), inv)
		if err != nil {
			return nil, err
		}
		s.counts = e.Proxy.counts()
		if i >= 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

func runOnce(ctx context.Context, environ []string, inv invocation) (sample, error) {
	cmd := exec.CommandContext(ctx, inv.argv[0], inv.argv[1:]...)
	cmd.Env = append(slices.Clip(environ), inv.env...)
	cmd.Stdin = strings.NewReader(inv.stdin)
	cmd.Dir = inv.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%s: %w\n%s", display(inv.argv), err, tail(stderr.String()))
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if inv.check != nil {
		if err := inv.check(stdout.String()); err != nil {
			return sample{}, fmt.Errorf("%s: wrong output: %w", display(inv.argv), err)
		}
	}
	return sample{wall: wall, cpu: cpu}, nil
}

// timeBinary is GNU time, which reports a child's peak RSS.
const timeBinary = "/usr/bin/time"

// peakRSS runs inv once under GNU time and returns the peak RSS of the
// command in bytes. (The rusage of a child started by the harness itself
// is no use: Go starts children with CLONE_VM, so their maximum RSS counts
// the harness's own memory until exec.) It returns 0 without GNU time.
func peakRSS(ctx context.Context, environ []string, inv invocation) (int64, error) {
	if _, err := os.Stat(timeBinary); err != nil {
		return 0, nil
	}
	f, err := os.CreateTemp("", "pin-bench-rss-")
	if err != nil {
		return 0, err
	}
	f.Close()
	defer os.Remove(f.Name())
	inv.argv = append([]string{timeBinary, "-f", "%M", "-o", f.Name()}, inv.argv...)
	if _, err := runOnce(ctx, environ, inv); err != nil {
		return 0, err
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		return 0, err
	}
	kib, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: peak RSS %q: %w", timeBinary, b, err)
	}
	return kib * 1024, nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}

// display shortens a long argv for messages.
func display(argv []string) string {
	if len(argv) > 6 {
		return strings.Join(argv[:5], " ") + fmt.Sprintf(" ... (%d arguments)", len(argv)-1)
	}
	return strings.Join(argv, " ")
}

// buildPin builds cmd/pin as `make build` does (CGO off, -trimpath, the
// grpcnotrace tag, -s -w)
// into dir and returns the binary's path.
func buildPin(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "pin")
	ldflags := "-s -w -X main.version=bench -X main.commit=" + gitCommit(root)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "grpcnotrace", "-ldflags", ldflags, "-o", bin, "./cmd/pin")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/pin: %w\n%s", err, out)
	}
	return bin, nil
}

func gitCommit(root string) string {
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "none"
	}
	return strings.TrimSpace(string(out))
}

// checkLines expects one "REF DIGEST" line per ref, in order.
func checkPinOutput(e *env, refs []string) func(string) error {
	return func(out string) error {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != len(refs) {
			return fmt.Errorf("%d lines for %d references", len(lines), len(refs))
		}
		for i, l := range lines {
			f := strings.Fields(l)
			if len(f) != 2 || f[0] != refs[i] {
				return fmt.Errorf("line %d: %q, want %s and its digest", i+1, l, refs[i])
			}
			if err := e.checkDigest(refs[i], f[1]); err != nil {
				return err
			}
		}
		return nil
	}
}

// checkDigests expects one digest per line, the digests of refs (in any
// order when ordered is false: xargs -P finishes in any order).
func checkDigests(e *env, refs []string, ordered bool) func(string) error {
	return func(out string) error {
		got := strings.Fields(out)
		if len(got) != len(refs) {
			return fmt.Errorf("%d digests for %d references", len(got), len(refs))
		}
		want := make([]string, len(refs))
		for i, r := range refs {
			want[i] = e.Digests[r]
		}
		if !ordered {
			got, want = slices.Clone(got), slices.Clone(want)
			slices.Sort(got)
			slices.Sort(want)
		}
		for i := range want {
			if got[i] != want[i] {
				return fmt.Errorf("digest %d is %s, want %s", i+1, got[i], want[i])
			}
		}
		return nil
	}
}
