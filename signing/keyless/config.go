package keyless

import "path/filepath"

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
