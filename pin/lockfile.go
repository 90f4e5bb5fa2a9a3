package pin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/wellcomecollection/pin/internal/atomicfile"
	"github.com/wellcomecollection/pin/internal/flock"
	"github.com/wellcomecollection/pin/internal/projectfiles"
	"github.com/wellcomecollection/pin/internal/regular"
)

// Names of pin's bookkeeping files in a project (see projectfiles).
const (
	// PendingLockName is the journal of an update in progress.
	PendingLockName = projectfiles.PendingLockName
	// StagedRecordName lists the staged files an update is about to create.
	StagedRecordName = projectfiles.StagedRecordName
)

// recordedStaged splits the files under the project that look staged into
// those a killed update recorded (pin's to remove) and the others (left
// alone, and warned about).
func recordedStaged(cfg *Config, candidates []string) (recorded, foreign []string) {
	listed := map[string]bool{}
	if b, err := regular.ReadFile(filepath.Join(cfg.Dir(), StagedRecordName), regular.MaxConfig); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if l != "" {
				listed[l] = true
			}
		}
	}
	for _, c := range candidates {
		if listed[c] || ownStaged(cfg, c) {
			recorded = append(recorded, c)
		} else {
			foreign = append(foreign, c)
		}
	}
	return recorded, foreign
}

// ownStaged reports whether path is a staged copy of one of pin's own files
// in the project's directory (pin.lock, the journal, the staged record): a
// kill while pin wrote one of those leaves it, and nobody else writes under
// pin's reserved names, so it is pin's to remove although no record lists
// it (the record cannot list the staging of its own journal or itself).
func ownStaged(cfg *Config, path string) bool {
	dir, base := filepath.Split(path)
	if filepath.Clean(dir) != filepath.Clean(cfg.Dir()) || !atomicfile.IsStaged(base) {
		return false
	}
	for _, own := range []string{projectfiles.LockName, PendingLockName, StagedRecordName} {
		if rest, ok := strings.CutPrefix(base, "."+own+".pin-"); ok && rest != "" {
			return true
		}
	}
	return false
}

// recordStaged makes the list of staged files durable before any is created.
func recordStaged(cfg *Config, names []string) error {
	p := filepath.Join(cfg.Dir(), StagedRecordName)
	if err := atomicfile.WriteFile(p, []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// LockOptions tune LockProject.
type LockOptions struct {
	Wait    time.Duration // how long to wait for another writer
	Waiting func(pid int) // called once when another process holds the lock (0: unknown pid)
}

// LockProject takes the project's exclusive lock (the directory holding
// pin.yaml) so that only one pin process writes its files and pin.lock at a
// time. Every command that writes the project holds it from before it reads
// pin.lock until it has written it. The kernel drops it when the process
// dies, so a crash never leaves the project locked. A directory that does
// not exist yet (pin init creates it) has nothing to lock.
func LockProject(ctx context.Context, configPath string, o LockOptions) (release func() error, err error) {
	dir := filepath.Dir(configPath)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return func() error { return nil }, nil
	}
	l, err := flock.Acquire(ctx, dir, projectfiles.LockFallbackName, flock.Options{Wait: o.Wait, Waiting: o.Waiting})
	if errors.Is(err, flock.ErrTimeout) {
		return nil, fmt.Errorf("another pin process is writing %s: %w; retry when it has finished", dir, err)
	}
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}

// loadPending reads the journal an interrupted update left, or nil.
func loadPending(cfg *Config) *Lock {
	p := filepath.Join(cfg.Dir(), PendingLockName)
	if _, err := os.Stat(p); err != nil {
		return nil
	}
	l, err := LoadLock(p)
	if err != nil || l == nil || l.Product != cfg.Product {
		// Unreadable (killed while it was written) or another product's: it
		// has nothing to offer, and the next Apply removes it.
		return &Lock{}
	}
	return l
}

// syncDirs makes renames in dirs durable (fsync on each directory), so that
// pin.lock, renamed after them, never survives a power loss they do not.
func syncDirs(dirs map[string]bool) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync there
	}
	for d := range dirs {
		f, err := os.Open(d)
		if err != nil {
			return fmt.Errorf("sync %s: %w", d, err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("sync %s: %w", d, err)
		}
	}
	return nil
}

// removeStale removes the staged files a killed update recorded and left
// behind. One that cannot be removed stays for the next run: it is never
// read as a config.
func removeStale(paths []string) {
	for _, p := range paths {
		if info, err := os.Lstat(p); err == nil && info.Mode().IsRegular() && atomicfile.IsStaged(filepath.Base(p)) {
			_ = os.Remove(p)
		}
	}
}
