// Package flock serialises processes that write one directory (a consumer
// project, a directory store) with an advisory, exclusive flock(2). The
// kernel drops the lock when its holder exits, kill -9 included, so a crash
// never leaves a stale lock behind.
package flock

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrTimeout is wrapped when the lock was still held when the wait ran out.
var ErrTimeout = errors.New("lock still held")

// Options tune Acquire.
type Options struct {
	// Wait is how long to wait for a holder before giving up; 0 fails at once.
	Wait time.Duration
	// Waiting is called once, when the lock is found held, with the holder's
	// process id (0 when the system does not say).
	Waiting func(pid int)
	// Poll is the interval between attempts (default 50 ms).
	Poll time.Duration
}

// Lock is a held lock.
type Lock struct {
	release func() error
	Path    string // what is locked: the directory, or the fallback file in it
}

// Release drops the lock. It is safe to call more than once.
func (l *Lock) Release() error {
	if l == nil || l.release == nil {
		return nil
	}
	r := l.release
	l.release = nil
	return r()
}

// Acquire takes the exclusive lock of directory dir, waiting up to o.Wait.
// It locks the directory itself, so nothing is left in it; where the file
// system cannot lock a directory (NFS emulates flock with write locks, which
// need a file open for writing) it locks the file fallback in dir instead,
// creating it (a dot-file, left in place: removing it would let two
// processes lock two different files).
func Acquire(ctx context.Context, dir, fallback string, o Options) (*Lock, error) {
	if o.Poll <= 0 {
		o.Poll = 50 * time.Millisecond
	}
	h, err := open(dir, fallback)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(o.Wait)
	told := false
	for {
		ok, err := h.try()
		if err != nil {
			h.close()
			return nil, fmt.Errorf("lock %s: %w", h.path, err)
		}
		if ok {
			return &Lock{release: h.close, Path: h.path}, nil
		}
		pid := h.holder()
		if !told && o.Waiting != nil && o.Wait > 0 {
			o.Waiting(pid)
			told = true
		}
		if !time.Now().Before(deadline) {
			h.close()
			who := "another process"
			if pid > 0 {
				who = fmt.Sprintf("process %d", pid)
			}
			return nil, fmt.Errorf("%s is locked by %s (waited %s): %w", h.path, who, o.Wait, ErrTimeout)
		}
		select {
		case <-ctx.Done():
			h.close()
			return nil, fmt.Errorf("waiting for the lock on %s: %w", h.path, ctx.Err())
		case <-time.After(min(o.Poll, time.Until(deadline))):
		}
	}
}

// sameDevIno compares "MAJ:MIN:INODE" fields, whose hex widths vary by kernel.
func sameDevIno(a, b string) bool {
	pa, pb := strings.Split(a, ":"), strings.Split(b, ":")
	if len(pa) != 3 || len(pb) != 3 {
		return false
	}
	for i := 0; i < 2; i++ {
		x, err1 := strconv.ParseUint(pa[i], 16, 32)
		y, err2 := strconv.ParseUint(pb[i], 16, 32)
		if err1 != nil || err2 != nil || x != y {
			return false
		}
	}
	return pa[2] == pb[2]
}
