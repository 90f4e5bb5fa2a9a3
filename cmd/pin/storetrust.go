package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/regular"
	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/signing"
	"github.com/wellcomecollection/pin/signing/keyless"
	"github.com/wellcomecollection/pin/trustroot"
)

// sourceConfig is what a --config file gives the read-only commands: a
// producer's release.yaml (its store and product) or a consumer's pin.yaml
// (its source, product, and the root or keys it trusts).
type sourceConfig struct {
	store, product string
	release        *releaseconfig.Config
	consumer       *pin.Config
}

// loadSourceConfig reads path as a release.yaml, or as a pin.yaml when it
// names a source and no store. An empty path is no config.
func loadSourceConfig(path string) (sourceConfig, error) {
	if path == "" {
		return sourceConfig{}, nil
	}
	if isConsumerConfig(path) {
		cfg, err := pin.LoadConfig(path)
		if err != nil {
			return sourceConfig{}, err
		}
		return sourceConfig{store: cfg.Source, product: cfg.Product, consumer: cfg}, nil
	}
	cfg, err := releaseconfig.Load(path)
	if err != nil {
		return sourceConfig{}, err
	}
	return sourceConfig{store: cfg.Store, product: cfg.Product, release: cfg}, nil
}

// isConsumerConfig reports whether a config file is a pin.yaml: its top
// level has source: but no store: (a release.yaml has both). A file that
// cannot be read or parsed is left to releaseconfig to report.
func isConsumerConfig(path string) bool {
	b, err := regular.ReadFile(path, regular.MaxConfig)
	if err != nil {
		return false
	}
	var top map[string]yaml.Node
	if yaml.Unmarshal(b, &top) != nil {
		return false
	}
	_, source := top["source"]
	_, store := top["store"]
	return source && !store
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// trust decides what verifies the store's documents, and the product they
// must name: --key-file (any one listed key signs anything, as before
// roots), --root or --root-sha256 (the root's role keys and thresholds,
// after following the store's newer roots), else a pin.yaml's root (with
// the roots its pin.lock followed) or keys. Nil: nothing to verify with.
func (f *sourceFlags) trust(ctx context.Context, a *app, st channels.ReadStore, cfg sourceConfig) (channels.SignatureVerifier, string, error) {
	given := 0
	for _, s := range []string{f.Root, f.RootSHA256} {
		if s != "" {
			given++
		}
	}
	if len(f.KeyFile) > 0 {
		given++
	}
	if given > 1 {
		return nil, "", exitcode.UsageError(errors.New("give one of --key-file, --root and --root-sha256"))
	}
	if len(f.KeyFile) > 0 {
		v, err := signing.LoadVerifierFiles(f.KeyFile...)
		if err != nil {
			return nil, "", exitcode.UsageError(err)
		}
		return channels.Keys(v), cfg.product, nil
	}
	it := pin.InspectTrust{RootFile: f.Root, RootSHA256: f.RootSHA256, Product: cfg.product}
	switch {
	case given == 1 && cfg.release != nil:
		// The roles' CI identities are checked with release.yaml's sigstore: trusted root.
		src := cfg.release.Sigstore.Source()
		it.Identities = func(ids []keyless.Identity) (signing.BundleVerifier, error) {
			return keyless.NewLazyVerifier(ids, src)
		}
	case given == 0 && cfg.consumer != nil:
		it = pin.InspectTrust{Config: cfg.consumer}
	case given == 0:
		return nil, cfg.product, nil
	}
	in, err := pin.Inspect(ctx, st, it, a.now())
	if err != nil {
		return nil, "", err
	}
	for _, n := range in.Notes {
		fmt.Fprintf(a.Err, "pin: note: %s\n", cliText(n))
	}
	if in.Root != nil {
		fmt.Fprintf(a.Err, "pin: verifying with root of trust version %d (sha256 %s)\n", in.Root.Root.Version, rootFingerprint(in.Root))
	}
	return in.Anchor, in.Product, nil
}

// rootFingerprint is the hex sha256 of a root's bytes, as pin root publish
// prints it and pin init --root-sha256 takes it.
func rootFingerprint(t *trustroot.Trusted) string {
	d := t.Digest()
	if len(d) > len("sha256:") {
		return d[len("sha256:"):]
	}
	return d
}
