// Package projectfiles knows which files in a project are pin's own and
// walks a project's tree with one set of skip rules, so that `pin update`,
// `pin check` and `pin audit` see the same files.
package projectfiles

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/wellcomecollection/pin/internal/atomicfile"
)

// Names of pin's files in a project directory. None is ever managed,
// checked or audited.
const (
	// ConfigName is the consumer configuration.
	ConfigName = "pin.yaml"
	// LockName is what `pin update` verified and wrote.
	LockName = "pin.lock"
	// PendingLockName is the journal of an update in progress: the pin.lock
	// it will write, synced before the first file is replaced and renamed to
	// pin.lock after the last. Found at the start of an update, it means the
	// previous one was killed between the two.
	PendingLockName = ".pin.lock.next"
	// LockFallbackName is locked instead of the directory where the file
	// system cannot flock a directory.
	LockFallbackName = ".pin.lck"
	// StagedRecordName lists (one absolute path a line) the staged files an
	// update is about to create: it is synced before the first is created
	// and removed once none is left. Only files it lists are ever removed
	// as leftovers: a user's file that merely looks staged is left alone.
	StagedRecordName = ".pin.staged"
)

// SkippedDir reports the directories that pin never walks into: version
// control, Terraform's provider cache and node modules.
func SkippedDir(name string) bool {
	return name == ".git" || name == ".terraform" || name == "node_modules"
}

// Own reports pin's own files (by base name): the configuration, the lock,
// and the bookkeeping an update leaves while it works.
func Own(name string) bool {
	return name == ConfigName || name == LockName || Bookkeeping(name)
}

// Bookkeeping reports the files pin leaves in a project while it works: the
// update journal, the lock fallback, the record of staged files and staged
// files (atomicfile.Stage).
func Bookkeeping(name string) bool {
	return name == PendingLockName || name == LockFallbackName || name == StagedRecordName || atomicfile.IsStaged(name)
}

// Entry is a regular file found by Walk, or a symlinked directory (Dir).
type Entry struct {
	Rel  string      // slash-separated path relative to the root
	Path string      // the path to read (a symlink resolved to its target)
	Mode fs.FileMode // permission bits of a symlink's target; 0 for a plain file (not stat'ed: a tenth of a large tree's scan)
	// Dir marks a symlink to a directory, which Walk does not enter: the
	// caller decides whether files it could want lie behind it (pin update
	// refuses such a link rather than skip references without a word).
	Dir bool
	// TargetRel is a symlinked directory's target relative to the root
	// (slash-separated), "" when the target lies outside the root.
	TargetRel string
}

// Walked is what Walk found besides the files it visited.
type Walked struct {
	// Escaped lists symlinks (relative paths) whose target lies outside the root.
	Escaped []string
	// Staged lists staged files a killed process left (absolute paths).
	Staged []string
}

// Walk visits every regular file under root, in lexical order, skipping
// SkippedDir directories and Own files. A symlink is followed when its target
// is a regular file inside root and reported in Escaped when outside; a
// dangling one holds nothing. A symlink to a directory (inside root or not)
// is handed to visit as an Entry with Dir set and never entered: WalkDir
// does not follow it, and whether that hides files is the caller's call.
// visit returning an error stops the walk.
func Walk(root string, visit func(Entry) error) (*Walked, error) {
	root, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	out := &Walked{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && SkippedDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if Own(d.Name()) {
			if d.Type().IsRegular() && atomicfile.IsStaged(d.Name()) {
				out.Staged = append(out.Staged, p)
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.Type()&fs.ModeSymlink == 0 {
			if !d.Type().IsRegular() {
				return nil
			}
			return visit(Entry{Rel: rel, Path: p})
		}
		t, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil // a dangling link holds nothing
		}
		r, err := filepath.Rel(root, t)
		in := err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator))
		if info, err := os.Stat(t); err == nil && info.IsDir() {
			e := Entry{Rel: rel, Path: t, Dir: true}
			if in {
				e.TargetRel = filepath.ToSlash(r)
			}
			return visit(e)
		}
		if !in {
			out.Escaped = append(out.Escaped, rel)
			return nil
		}
		info, err := os.Stat(t)
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		return visit(Entry{Rel: rel, Path: t, Mode: info.Mode().Perm()})
	})
	return out, err
}
