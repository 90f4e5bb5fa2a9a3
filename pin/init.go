package pin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/atomicfile"
	"github.com/wellcomecollection/pin/internal/exitcode"
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
	pem, err := os.ReadFile(o.KeyFile)
	if err != nil {
		return nil, exitcode.UsageError(fmt.Errorf("read the trusted public key: %w", err))
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
	source := o.Source
	// A plain path is written relative to pin.yaml; a URL (file:// too) as given.
	if dir, local := channels.LocalDir(source); local && dir == source {
		abs, err := filepath.Abs(o.Path)
		if err != nil {
			return nil, err
		}
		if rel, err := filepath.Rel(filepath.Dir(abs), mustAbs(source)); err == nil {
			source = rel
		}
	}
	repos, err := initRepositories(ctx, rd, vc, o.Constraint)
	if err != nil {
		return nil, fmt.Errorf("check the source before writing pin.yaml: %w", err)
	}
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
