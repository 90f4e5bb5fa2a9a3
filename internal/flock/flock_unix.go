//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package flock

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

type handle struct {
	f    *os.File
	path string
}

// open opens dir for locking, or the fallback file in it when the file
// system cannot flock a directory.
func open(dir, fallback string) (*handle, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	h := &handle{f: f, path: dir}
	if _, err := h.try(); err == nil || fallback == "" {
		if err == nil {
			// Probed by taking it: drop it again, Acquire takes it for real.
			syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		}
		return h, nil
	}
	f.Close()
	p := filepath.Join(dir, fallback)
	f, err = os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	return &handle{f: f, path: p}, nil
}

// try takes the lock without blocking; false means another holds it.
func (h *handle) try() (bool, error) {
	for {
		err := syscall.Flock(int(h.f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return false, nil
		}
		return false, err
	}
}

func (h *handle) close() error { return h.f.Close() } // closing the last descriptor drops the flock

// holder finds the process holding a flock on the handle's file in
// /proc/locks (Linux); 0 when it cannot tell.
func (h *handle) holder() int {
	st, err := h.f.Stat()
	if err != nil {
		return 0
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return 0
	}
	lf, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer lf.Close()
	dev := uint64(sys.Dev)
	major := (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor := dev&0xff | (dev>>12)&^0xff
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, sys.Ino)
	sc := bufio.NewScanner(lf)
	for sc.Scan() {
		// 1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF
		f := strings.Fields(sc.Text())
		if len(f) >= 6 && f[1] == "FLOCK" && f[3] == "WRITE" && sameDevIno(f[5], want) {
			if pid, err := strconv.Atoi(f[4]); err == nil {
				return pid
			}
		}
	}
	return 0
}
