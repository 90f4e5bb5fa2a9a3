package pin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
)

// A channel index that pin.lock remembers and the store no longer serves is a
// trust failure: a store that hides an index could hide yanks. But the common
// cause is mundane: the project moved (a relative source now points
// elsewhere) or pin.yaml's source was mistyped or edited. Those are told
// apart from a hidden index here, from what pin.yaml and pin.lock say.

// missingIndexError is fetchVerified's trust failure for a remembered index
// the store does not serve.
type missingIndexError struct {
	channel string
	err     error // classified as a trust error
}

func (e *missingIndexError) Error() string { return e.err.Error() }
func (e *missingIndexError) Unwrap() error { return e.err }

// explainSource turns a channel the store does not serve into the
// configuration error it most likely is (exit 2): a source that does not
// exist, or a source other than the one pin.lock was made from. A missing
// index from the very source pin.lock names stays a trust failure.
func explainSource(err error, cfg *Config, lock *Lock, store channels.Store) error {
	if err == nil || !channels.IsNotFound(err) {
		return err
	}
	written := cfg.SourceAsWritten
	if written == "" {
		written = cfg.Source
	}
	if dir, ok := store.(*channels.DirStore); ok {
		if _, statErr := os.Stat(dir.String()); errors.Is(statErr, os.ErrNotExist) {
			return exitcode.UsageError(fmt.Errorf("%s: source %s not found: %s does not exist (was the project moved, or the source mistyped?)", cfg.Path, written, dir.String()))
		}
	}
	var missing *missingIndexError
	if !errors.As(err, &missing) || lock == nil || lock.Source == "" {
		return err
	}
	if sameSource(lock.Source, written, cfg.Path) {
		return err
	}
	return exitcode.UsageError(fmt.Errorf("%s: source changed: pin.lock was made from %s, pin.yaml now names %s, which has no %s channel. Fix source in pin.yaml; if the store really moved, its channels must be there (pin.lock's history still applies)", cfg.Path, lock.Source, written, missing.channel))
}

// sameSource reports whether two sources, as pin.yaml wrote them, name the
// same store: equal, or directories that resolve (against pin.yaml's
// directory) to the same path.
func sameSource(a, b, configPath string) bool {
	if a == b {
		return true
	}
	if isURL(a) || isURL(b) {
		return false
	}
	base := filepath.Dir(configPath)
	abs := func(p string) string {
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		return filepath.Clean(p)
	}
	return abs(a) == abs(b)
}
