package keyless

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// TrustConfig locates Sigstore's trusted root (Fulcio CAs, Rekor logs,
// timestamp authorities), as pin.yaml and release.yaml write it under
// sigstore:. By default it comes from Sigstore's public-good TUF repository,
// cached for a day under the user cache directory (pin/sigstore-tuf).
type TrustConfig struct {
	// TrustedRoot is a trusted_root.json file: no TUF and no network, for
	// air-gapped consumers and private Sigstores.
	TrustedRoot string `yaml:"trustedRoot,omitempty"`
	// TUFMirror is another TUF repository (a private Sigstore's).
	TUFMirror string `yaml:"tufMirror,omitempty"`
	// TUFRoot is the initial root.json of TUFMirror.
	TUFRoot string `yaml:"tufRoot,omitempty"`
}

// SignerConfig is release.yaml's sigstore: section: where the producer's
// keyless signatures go, and the trusted root its identities are checked with.
type SignerConfig struct {
	FulcioURL   string `yaml:"fulcioURL,omitempty"`
	RekorURL    string `yaml:"rekorURL,omitempty"`
	TrustConfig `yaml:",inline"`
}

// Resolve makes the config's relative paths relative to dir (the directory
// of the file that names them).
func (c TrustConfig) Resolve(dir string) TrustConfig {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	c.TrustedRoot, c.TUFRoot = abs(c.TrustedRoot), abs(c.TUFRoot)
	return c
}

// Check reads a configured trusted_root.json, so a bad one is reported
// where it is configured rather than when a bundle is first verified.
func (c TrustConfig) Check() error {
	if c.TrustedRoot == "" {
		return nil
	}
	_, err := LoadTrustedRoot(c.TrustedRoot)
	return err
}

// Source returns the loader of the trusted root the config describes.
func (c TrustConfig) Source() TrustedRootSource {
	return func(ctx context.Context) (root.TrustedMaterial, error) {
		if c.TrustedRoot != "" {
			return LoadTrustedRoot(c.TrustedRoot)
		}
		o := TUFOptions{MirrorURL: c.TUFMirror}
		if dir, err := os.UserCacheDir(); err == nil {
			o.CacheDir = filepath.Join(dir, "pin", "sigstore-tuf")
		}
		if c.TUFRoot != "" {
			b, err := os.ReadFile(c.TUFRoot)
			if err != nil {
				return nil, fmt.Errorf("sigstore tufRoot: %w", err)
			}
			o.RootJSON = b
		}
		return FetchTrustedRoot(ctx, o)
	}
}
