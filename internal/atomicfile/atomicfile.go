// Package atomicfile writes files so that readers see the old bytes or the
// new, never a mix, and names the staged files it leaves beside a target so
// that they are never taken for the target itself: pin.yaml, pin.lock, keys,
// users' configs and directory stores all write through it.
package atomicfile

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// WriteFile writes data to a temporary file in the target's directory,
// syncs it and renames it over path, so readers see the old or the new bytes,
// never a mix.
func WriteFile(path string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := Stage(path, data, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return nil
}

// Stage writes data with mode to a new temporary file beside dst and
// syncs it, returning its name: renaming it over dst then replaces dst
// atomically. On failure nothing is left behind. The name is
// .<base>.pin-<digits> (IsStaged); one left by a killed process is
// never taken for a config. `pin update` stages with StageAs under names it
// records first, and removes only leftovers it recorded.
func Stage(dst string, data []byte, mode fs.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+stagedMark+"*")
	if err != nil {
		return "", err
	}
	if err := writeStaged(f, data, mode); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// StageAs is Stage under a name the caller chose (StagedName) and recorded
// before: it is created, never reused, so a file of that name that pin did
// not make is never overwritten.
func StageAs(tmp string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	return writeStaged(f, data, mode)
}

// StagedName returns a fresh name beside dst that IsStaged accepts, with a
// random part no other file is likely to have.
func StagedName(dst string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(dst), fmt.Sprintf(".%s%s%d", filepath.Base(dst), stagedMark, binary.BigEndian.Uint64(b[:]))), nil
}

// writeStaged writes, chmods, syncs and closes f; on failure it removes it.
func writeStaged(f *os.File, data []byte, mode fs.FileMode) error {
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	ok = true
	return nil
}

const stagedMark = ".pin-"

// IsStaged reports whether a file name is one Stage makes.
func IsStaged(name string) bool {
	i := strings.LastIndex(name, stagedMark)
	if len(name) < 2 || name[0] != '.' || i < 2 || i+len(stagedMark) == len(name) {
		return false
	}
	for _, c := range name[i+len(stagedMark):] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
