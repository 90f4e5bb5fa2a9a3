package pin

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
)

// A channel index that pin.lock remembers and the store no longer serves
// (channels.ErrHidden) is a trust failure: a store that hides an index could hide yanks. But the common
// cause is mundane: the project moved (a relative source now points
// elsewhere) or pin.yaml's source was mistyped or edited. Those are told
// apart from a hidden index here, from what pin.yaml and pin.lock say.

// explainSource turns a channel the store does not serve into the
// configuration error it most likely is (exit 2): a source that does not
// exist, or a source other than the one pin.lock was made from. A missing
// index from the very source pin.lock names stays a trust failure.
func explainSource(err error, cfg *Config, lock *Lock, store channels.ReadStore) error {
	hidden := errors.Is(err, channels.ErrHidden)
	if err == nil || !(hidden || channels.IsNotFound(err)) {
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
	if !hidden || lock == nil || lock.Source == "" {
		return err
	}
	if sameSource(lock.Source, written, cfg.Path) {
		return err
	}
	return exitcode.UsageError(fmt.Errorf("%s: source changed: pin.lock was made from %s, pin.yaml now names %s, which lacks a channel pin.lock remembers (%s). Fix source in pin.yaml; if the store really moved, its channels must be there (pin.lock's history still applies)", cfg.Path, lock.Source, written, cfg.Channel))
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
