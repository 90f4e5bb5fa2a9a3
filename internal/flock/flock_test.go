package flock

import (
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestAcquireExcludesAndWaits(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no flock(2) on " + runtime.GOOS + ": the lock is a no-op there")
	}
	ctx := context.Background()
	dir := t.TempDir()
	first, err := Acquire(ctx, dir, ".lck", Options{})
	if err != nil {
		t.Fatal(err)
	}
	// flock belongs to an open file description: a second open in this
	// process is refused like another process would be.
	var seen atomic.Int64
	_, err = Acquire(ctx, dir, ".lck", Options{Wait: 120 * time.Millisecond, Poll: 10 * time.Millisecond, Waiting: func(pid int) { seen.Store(int64(pid)) }})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("second Acquire while held: err = %v, want ErrTimeout", err)
	}
	if runtime.GOOS == "linux" {
		pid := strconv.Itoa(os.Getpid())
		if seen.Load() != int64(os.Getpid()) || !strings.Contains(err.Error(), "process "+pid) {
			t.Errorf("holder reported as %d, error %q; want pid %s", seen.Load(), err, pid)
		}
	}

	done := make(chan error, 1)
	start := time.Now()
	go func() {
		l, err := Acquire(ctx, dir, ".lck", Options{Wait: 5 * time.Second, Poll: 10 * time.Millisecond})
		if err == nil {
			err = l.Release()
		}
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("waiter after release: %v", err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("waiter got the lock after %s, before the holder released it", waited)
	}
	if err := first.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if _, err := os.Stat(dir + "/.lck"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory lock left a file behind (%v)", err)
	}
}

func TestAcquireHonoursContext(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no flock(2) on " + runtime.GOOS)
	}
	dir := t.TempDir()
	l, err := Acquire(context.Background(), dir, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = Acquire(ctx, dir, "", Options{Wait: time.Minute})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's deadline", err)
	}
}

func TestSameDevIno(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"08:01:1234", "08:01:1234", true},
		{"fd:00:77", "fd:0:77", true},
		{"00:2d:77", "00:2d:78", false},
		{"00:2d", "00:2d:78", false},
	} {
		if got := sameDevIno(c.a, c.b); got != c.want {
			t.Errorf("sameDevIno(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
