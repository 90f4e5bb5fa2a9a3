package pin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/atomicfile"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/regular"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
)

// InitOptions are the answers `pin init` needs.
type InitOptions struct {
	Path       string // where to write pin.yaml
	Source     string
	Channel    string
	KeyFile    string
	Constraint string
	Files      []string
	Style      string
	Force      bool
	Now        func() time.Time
	Store      channels.ReadStore // overrides Source when set (tests, the demo)
	Open       channels.OpenOptions
}

// Init verifies that the source serves a channel signed by the key, then
// writes a commented pin.yaml. It refuses to overwrite one without Force.
func Init(ctx context.Context, o InitOptions) (*Config, error) {
	if _, err := os.Stat(o.Path); err == nil && !o.Force {
		return nil, exitcode.UsageError(fmt.Errorf("%s already exists: pass --force to overwrite it", o.Path))
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := channels.ValidName(o.Channel); err != nil {
		return nil, exitcode.UsageError(err)
	}
	if _, err := channels.ParseConstraint(o.Constraint); err != nil {
		return nil, exitcode.UsageError(err)
	}
	pem, err := regular.ReadFile(o.KeyFile, regular.MaxConfig)
	if err != nil {
		return nil, exitcode.UsageError(fmt.Errorf("read --key-file: %w", err))
	}
	v, err := signing.NewVerifier(map[string][]byte{o.KeyFile: pem})
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	store, err := openStore(o.Store, o.Source, o.Open)
	if err != nil {
		return nil, err
	}
	// The product is whatever the verified index says: it goes into pin.yaml.
	rd, err := newReader(store, v, "", nil, channels.Enforce, o.Now)
	if err != nil {
		return nil, err
	}
	vc, err := rd.Channel(ctx, o.Channel)
	if err != nil {
		return nil, fmt.Errorf("check the source before writing pin.yaml: %w", err)
	}
	if err := checkConstraintSatisfiable(ctx, rd, vc, o.Channel, o.Constraint); err != nil {
		return nil, err
	}
	repos, err := initRepositories(ctx, rd, vc, o.Constraint)
	if err != nil {
		return nil, fmt.Errorf("check the source before writing pin.yaml: %w", err)
	}
	source := sourceForConfig(o.Source, o.Path)
	cfg := &Config{
		Source: source, Product: vc.Index.Product, Channel: o.Channel, Constraint: o.Constraint,
		Keys: []string{string(pem)}, Files: o.Files, Style: o.Style, Repositories: repos,
	}
	if len(cfg.Files) == 0 {
		cfg.Files = DefaultFiles
	}
	if cfg.Style == "" {
		cfg.Style = StyleDigest
	}
	b := cfg.Encode()
	// Parse what we are about to write, so init never writes a pin.yaml that update rejects.
	if _, err := ParseConfig(o.Path, b); err != nil {
		return nil, exitcode.UsageError(err)
	}
	if err := atomicfile.WriteFile(o.Path, b, 0o644); err != nil {
		return nil, err
	}
	return LoadConfig(o.Path)
}

// checkConstraintSatisfiable refuses a --constraint that no release the
// channel offers satisfies: pin.yaml would be written, and every update
// would then fail.
func checkConstraintSatisfiable(ctx context.Context, rd *channels.Reader, vc *channels.VerifiedChannel, channel, constraint string) error {
	if constraint == "" {
		return nil
	}
	cs, err := channels.ParseConstraint(constraint)
	if err != nil {
		return exitcode.UsageError(err)
	}
	idx := map[string]*manifest.Channel{channel: vc.Index}
	if channel == channels.Edge {
		if st, err := rd.Channel(ctx, channels.Stable); err == nil {
			idx[channels.Stable] = st.Index
		} else if !channels.IsNotFound(err) {
			return err
		}
	}
	cands := channels.Visible(channel, idx)
	if _, ok := channels.Select(cands, cs); ok {
		return nil
	}
	var listed []string
	for _, c := range cands {
		if !c.Yanked {
			listed = append(listed, c.Version)
		}
	}
	have := "none"
	if len(listed) > 0 {
		have = strings.Join(listed, ", ")
	}
	return exitcode.UsageError(fmt.Errorf("--constraint %q: no release on %s satisfies it (releases not yanked: %s)", constraint, channel, have))
}

// isURL reports whether a source is written as a URL (file:// included),
// not a plain path.
func isURL(s string) bool {
	dir, local := channels.LocalDir(s)
	return !local || dir != s
}

// sourceForConfig returns the source as pin.yaml should say it: as the user
// typed it (an absolute path stays absolute; ./releases stays ./releases),
// except that a relative directory is rebased when pin.yaml is written in
// another directory than the current one, since pin.yaml's paths are
// relative to pin.yaml.
func sourceForConfig(typed, configPath string) string {
	if isURL(typed) || filepath.IsAbs(typed) {
		return typed
	}
	cfgDir := filepath.Dir(mustAbs(configPath))
	if cfgDir == mustAbs(".") {
		return typed
	}
	if rel, err := filepath.Rel(cfgDir, mustAbs(typed)); err == nil {
		return rel
	}
	return typed
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// initRepositories verifies the release pin update would select first (the
// newest allowed, unyanked one on the channel) and returns its components'
// namespaces, which pin init records as pin.yaml's repositories. A channel
// with nothing to select records none (CheckRepositories then bounds by the
// release pin.lock pins).
func initRepositories(ctx context.Context, rd *channels.Reader, vc *channels.VerifiedChannel, constraint string) ([]string, error) {
	cs, err := channels.ParseConstraint(constraint)
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	sel, ok := channels.Select(channels.Visible(vc.Index.Channel, map[string]*manifest.Channel{vc.Index.Channel: vc.Index}), cs)
	if !ok {
		return nil, nil
	}
	vr, err := rd.Release(ctx, sel.Entry)
	if err != nil {
		return nil, err
	}
	return ReleaseNamespaces(vr.Release), nil
}
