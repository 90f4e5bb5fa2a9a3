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
	"github.com/wellcomecollection/pin/signing/keyless"
	"github.com/wellcomecollection/pin/trustroot"
)

// InitOptions are the answers `pin init` needs.
type InitOptions struct {
	Path string // where to write pin.yaml
	// Dir is the working directory the relative paths here were typed in:
	// a typed source directory is rebased from it to Path's directory.
	Dir     string
	Source  string
	Channel string
	KeyFile string
	// RootSHA256 is the fingerprint (hex sha256) of the producer's root of
	// trust, given out of band: pin.yaml then holds that root, found in the
	// store, instead of a key.
	RootSHA256 string
	Constraint string
	Files      []string
	Style      string
	Force      bool
	Now        func() time.Time
	// SigstoreTrustedRoot is a trusted_root.json (relative to Dir) for the CI identities the root lists; empty: Sigstore's TUF.
	SigstoreTrustedRoot string
	Store               channels.ReadStore // overrides Source when set (tests, the demo)
	Open                channels.OpenOptions
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
	if (o.KeyFile == "") == (o.RootSHA256 == "") {
		return nil, exitcode.UsageError(errors.New("give --key-file or --root-sha256 (one of them)"))
	}
	src := o.Source
	if src != "" && !isURL(src) {
		src = inDir(o.Dir, src)
	}
	store, err := openStore(o.Store, src, o.Open)
	if err != nil {
		return nil, err
	}
	var pem []byte
	var rootDoc string
	// The product is whatever the verified index says: it goes into pin.yaml.
	var rd *channels.Reader
	if o.RootSHA256 != "" {
		trusted, err := rootByFingerprint(ctx, store, o.RootSHA256)
		if err != nil {
			return nil, err
		}
		sigstore := &Config{Sigstore: keyless.TrustConfig{TrustedRoot: o.SigstoreTrustedRoot}}
		trusted.Identities = sigstore.IdentityVerifier()
		now := time.Now()
		if o.Now != nil {
			now = o.Now()
		}
		rs, _ := store.(channels.RootReader)
		chain, err := trustroot.Update(ctx, trusted, channels.RootFetcher(rs), now)
		if err != nil {
			return nil, fmt.Errorf("root of trust from %s: %w", store, err)
		}
		rt := &rootTrust{chain: chain, recorded: trusted}
		if rd, err = rt.reader(store, trusted.Root.Product, nil, channels.Enforce, o.Now); err != nil {
			return nil, err
		}
		rootDoc = string(trusted.Signed.Bytes)
	} else {
		if pem, err = regular.ReadFile(o.KeyFile, regular.MaxConfig); err != nil {
			return nil, exitcode.UsageError(fmt.Errorf("read the trusted public key: %w", err))
		}
		v, err := signing.NewVerifier(map[string][]byte{o.KeyFile: pem})
		if err != nil {
			return nil, exitcode.UsageError(err)
		}
		if rd, err = newReader(store, v, "", nil, channels.Enforce, o.Now); err != nil {
			return nil, err
		}
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
	source := sourceForConfig(o.Source, o.Path, o.Dir)
	cfg := &Config{
		Source: source, Product: vc.Index.Product, Channel: o.Channel, Constraint: o.Constraint,
		Files: o.Files, Style: o.Style, Root: rootDoc, Repositories: repos,
	}
	if o.SigstoreTrustedRoot != "" {
		cfg.Sigstore.TrustedRoot = inDir(o.Dir, o.SigstoreTrustedRoot)
		if rel, err := filepath.Rel(filepath.Dir(inDir(o.Dir, o.Path)), cfg.Sigstore.TrustedRoot); err == nil && !strings.HasPrefix(rel, "..") {
			cfg.Sigstore.TrustedRoot = rel
		}
	}
	if pem != nil {
		cfg.Keys = []string{string(pem)}
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
// another directory than the working one (wd), since pin.yaml's paths are
// relative to pin.yaml.
func sourceForConfig(typed, configPath, wd string) string {
	if isURL(typed) || filepath.IsAbs(typed) {
		return typed
	}
	cfgDir := filepath.Dir(inDir(wd, configPath))
	if cfgDir == filepath.Clean(wd) {
		return typed
	}
	if rel, err := filepath.Rel(cfgDir, inDir(wd, typed)); err == nil {
		return rel
	}
	return typed
}

// maxRootScan bounds the versions `pin init --root-sha256` reads looking for
// the fingerprinted root.
const maxRootScan = 1024

// rootByFingerprint finds the root whose bytes hash to fingerprint, reading
// root 1, 2, ... from the store, and checks it is signed by its own root keys.
func rootByFingerprint(ctx context.Context, store channels.ReadStore, fingerprint string) (*trustroot.Trusted, error) {
	want := "sha256:" + strings.ToLower(strings.TrimPrefix(fingerprint, "sha256:"))
	if !manifest.ValidDigest(want) {
		return nil, exitcode.UsageError(fmt.Errorf("--root-sha256 %q is not 64 hex digits", fingerprint))
	}
	rs, err := channels.Roots(store)
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	for v := int64(1); v <= maxRootScan; v++ {
		s, err := rs.GetRoot(ctx, v)
		if errors.Is(err, trustroot.ErrNotFound) {
			return nil, exitcode.TrustError(fmt.Errorf("%s publishes %d roots of trust and none has sha256 %s: check the fingerprint with the producer", store, v-1, strings.TrimPrefix(want, "sha256:")))
		}
		if err != nil {
			return nil, fmt.Errorf("root of trust from %s: %w", store, err)
		}
		if manifest.Digest(s.Bytes) != want {
			continue
		}
		return trustroot.VerifySelf(ctx, s, "")
	}
	return nil, exitcode.TrustError(fmt.Errorf("no root of trust with sha256 %s among the first %d in %s", strings.TrimPrefix(want, "sha256:"), maxRootScan, store))
}

// inDir is p, typed in the working directory wd, as a path from wd ("":
// the process's own, and p stays relative).
func inDir(wd, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(wd, p)
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
