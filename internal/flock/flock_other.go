//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package flock

import "os"

// Without flock(2) the lock is a no-op: concurrent writers are not
// serialised on this platform (documented in docs/design.md).
type handle struct{ path string }

func open(dir, _ string) (*handle, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, err
	}
	return &handle{path: dir}, nil
}

func (h *handle) try() (bool, error) { return true, nil }
func (h *handle) close() error       { return nil }
func (h *handle) holder() int        { return 0 }
