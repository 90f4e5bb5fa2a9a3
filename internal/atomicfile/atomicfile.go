// Package atomicfile writes files so that readers see the old bytes or the
// new, never a mix, and names the staged files it leaves beside a target so
// that they are never taken for the target itself: pin.yaml, pin.lock, keys,
// users' configs and directory stores all write through it.
package atomicfile

import (
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
// never taken for a config, and `pin update` removes it.
func Stage(dst string, data []byte, mode fs.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+stagedMark+"*")
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return "", err
	}
	if err := f.Chmod(mode); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	ok = true
	return f.Name(), nil
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
