package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/wellcomecollection/pin/registry"
)

// Progress goes to stderr, and only when it is a terminal and --quiet was
// not given: a CI log or a pipe gets results and errors, never redraws.

// showProgress reports whether progress lines are wanted.
func (a *app) showProgress() bool { return a.ErrTTY && !a.Quiet }

// retryNotice returns the registry option that prints each retry on
// stderr, or nil when progress is off: two minutes of retries against a
// dead registry are not silent.
func retryNotice(a *app) registry.Option {
	if !a.showProgress() {
		return nil
	}
	var mu sync.Mutex
	return registry.WithRetryNotify(func(r registry.Retry) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(a.Err, "\r\033[Kpin: %s: %s; retrying in %s (attempt %d of %d)\n", r.Host, r.Cause, r.Wait.Round(time.Millisecond), r.Attempt+1, r.MaxAttempts)
	})
}

// slowNotice prints "what ..." on stderr if the work takes longer than a
// second (and progress is on); the returned stop clears it.
func slowNotice(a *app, what string) (stop func()) {
	if !a.showProgress() {
		return func() {}
	}
	var mu sync.Mutex
	shown, stopped := false, false
	t := time.AfterFunc(time.Second, func() {
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			fmt.Fprintf(a.Err, "%s ...", what)
			shown = true
		}
	})
	return func() {
		t.Stop()
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		if shown {
			fmt.Fprint(a.Err, "\r\033[K")
		}
	}
}
