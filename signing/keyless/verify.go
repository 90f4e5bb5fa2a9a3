//go:build !nokeyless

package keyless

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// LoadTrustedRoot reads a trusted_root.json (Sigstore's trusted root format, as
// `cosign trusted-root create` writes it or Sigstore's TUF repository serves
// it): the Fulcio CAs, Rekor logs, CT logs and timestamp authorities trusted.
func LoadTrustedRoot(path string) (*root.TrustedRoot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read trusted root: %w", err)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: %w", path, err)
	}
	return tr, nil
}

// TUFOptions says where Sigstore's trusted root comes from when no file is given.
type TUFOptions struct {
	// CacheDir keeps the TUF metadata and the trusted root between runs.
	CacheDir string
	// MirrorURL is the TUF repository; empty means Sigstore's public-good one.
	MirrorURL string
	// RootJSON is the TUF root to start from for a private mirror; empty means
	// the public-good root embedded in sigstore-go.
	RootJSON []byte
	// Offline uses the cache only, whatever its age.
	Offline bool
}

// FetchTrustedRoot gets the trusted root through Sigstore's TUF repository,
// which checks the metadata's signatures, versions and expiry. A cache younger
// than a day is used without a request.
func FetchTrustedRoot(ctx context.Context, o TUFOptions) (*root.TrustedRoot, error) {
	opts := tuf.DefaultOptions().WithContext(ctx).WithCacheValidity(1)
	if o.CacheDir != "" {
		opts = opts.WithCachePath(o.CacheDir)
	}
	if o.MirrorURL != "" {
		opts = opts.WithRepositoryBaseURL(o.MirrorURL)
	}
	if len(o.RootJSON) > 0 {
		opts = opts.WithRoot(o.RootJSON)
	}
	if o.Offline {
		opts = opts.WithForceCache()
	}
	tr, err := root.FetchTrustedRootWithOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("fetch Sigstore trusted root from TUF repository %s (cache %s): %w", opts.RepositoryBaseURL, opts.CachePath, err)
	}
	return tr, nil
}

// Verifier checks Sigstore bundles against a trusted root and a list of
// trusted identities; a bundle by any one identity is accepted.
type Verifier struct {
	v          *verify.Verifier
	identities []Identity
	policies   []verify.CertificateIdentity
}

// NewVerifier builds a verifier. Every bundle must carry a transparency-log
// entry with its inclusion proof, and a trusted time (the log's signed
// integration time or an RFC 3161 timestamp) at which the certificate was valid.
func NewVerifier(trusted root.TrustedMaterial, identities []Identity) (*Verifier, error) {
	if trusted == nil {
		return nil, errors.New("no Sigstore trusted root")
	}
	if len(identities) == 0 {
		return nil, errors.New("no trusted identities")
	}
	sv, err := verify.NewVerifier(trusted, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
	if err != nil {
		return nil, fmt.Errorf("sigstore verifier: %w", err)
	}
	v := &Verifier{v: sv}
	for i, id := range identities {
		p, err := id.certificateIdentity()
		if err != nil {
			return nil, fmt.Errorf("identities[%d]: %w", i, err)
		}
		v.identities = append(v.identities, id)
		v.policies = append(v.policies, p)
	}
	return v, nil
}

// IDs lists the signer ids of the trusted identities.
func (v *Verifier) IDs() []string { return identityIDs(v.identities) }

// identityIDs lists the signer ids of identities, in order.
func identityIDs(identities []Identity) []string {
	ids := make([]string, len(identities))
	for i, id := range identities {
		ids[i] = id.ID()
	}
	return ids
}

// VerifyBundle checks that bundleJSON is a Sigstore bundle over exactly data,
// made by one of the trusted identities, logged and timed as NewVerifier says,
// and returns the id of the identity. Failures wrap ErrVerify.
func (v *Verifier) VerifyBundle(_ context.Context, data, bundleJSON []byte) (string, error) {
	if len(bundleJSON) > MaxBundleSize {
		return "", fmt.Errorf("%w: bundle is %d bytes, over the %d-byte cap", ErrVerify, len(bundleJSON), MaxBundleSize)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return "", fmt.Errorf("%w: not a Sigstore bundle: %v", ErrVerify, err)
	}
	opts := make([]verify.PolicyOption, len(v.policies))
	for i, p := range v.policies {
		opts[i] = verify.WithCertificateIdentity(p)
	}
	res, err := v.v.Verify(&b, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(data)), opts...))
	if err != nil {
		return "", fmt.Errorf("%w: %v (trusted identities: %s)", ErrVerify, err, strings.Join(v.IDs(), ", "))
	}
	if res.Signature != nil && res.Signature.Certificate != nil {
		for i, p := range v.policies {
			if p.Verify(*res.Signature.Certificate) == nil {
				return v.identities[i].ID(), nil
			}
		}
	}
	// sigstore-go accepted the bundle under one of the policies, so one matches.
	return "", fmt.Errorf("%w: verified, but no identity matches the certificate", ErrVerify)
}

// TrustedRootSource loads the trusted root when a bundle first needs it.
type TrustedRootSource func(ctx context.Context) (root.TrustedMaterial, error)

// LazyVerifier is a Verifier whose trusted root is loaded (from a file, or
// through TUF: maybe the network) only when a bundle is verified, so a
// consumer whose documents carry key signatures pays nothing for trusting
// identities as well.
type LazyVerifier struct {
	identities []Identity
	load       TrustedRootSource
	mu         sync.Mutex
	v          *Verifier
}

// NewLazyVerifier validates identities now and loads the trusted root on first use.
func NewLazyVerifier(identities []Identity, load TrustedRootSource) (*LazyVerifier, error) {
	if len(identities) == 0 {
		return nil, errors.New("no trusted identities")
	}
	for i, id := range identities {
		if err := id.Validate(); err != nil {
			return nil, fmt.Errorf("identities[%d]: %w", i, err)
		}
	}
	return &LazyVerifier{identities: identities, load: load}, nil
}

// IDs lists the signer ids of the trusted identities.
func (l *LazyVerifier) IDs() []string { return identityIDs(l.identities) }

// VerifyBundle is Verifier.VerifyBundle, loading the trusted root first if
// need be. A trusted root that cannot be loaded is an operational error, not
// a verification failure (it does not wrap ErrVerify).
func (l *LazyVerifier) VerifyBundle(ctx context.Context, data, bundleJSON []byte) (string, error) {
	l.mu.Lock()
	if l.v == nil {
		tm, err := l.load(ctx)
		if err != nil {
			l.mu.Unlock()
			return "", err
		}
		if l.v, err = NewVerifier(tm, l.identities); err != nil {
			l.mu.Unlock()
			return "", err
		}
	}
	v := l.v
	l.mu.Unlock()
	return v.VerifyBundle(ctx, data, bundleJSON)
}

// certificateIdentity is the policy in sigstore-go's terms.
func (id Identity) certificateIdentity() (verify.CertificateIdentity, error) {
	if err := id.Validate(); err != nil {
		return verify.CertificateIdentity{}, err
	}
	san, err := verify.NewSANMatcher(id.Subject, id.SubjectRegexp)
	if err != nil {
		return verify.CertificateIdentity{}, err
	}
	iss, err := verify.NewIssuerMatcher(id.Issuer, "")
	if err != nil {
		return verify.CertificateIdentity{}, err
	}
	return verify.NewCertificateIdentity(san, iss, certificate.Extensions{
		SourceRepositoryURI: id.SourceRepository,
		SourceRepositoryRef: id.Ref,
		BuildTrigger:        id.Trigger,
	})
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

// Source returns the loader of the trusted root the config describes. The
// loader keeps the first root it loads, so every verifier built on one
// Source (one per role and document) reads the file, or asks TUF, once per
// run; a failed load is not kept, so a later document tries again.
func (c TrustConfig) Source() TrustedRootSource {
	var (
		mu     sync.Mutex
		loaded root.TrustedMaterial
	)
	load := c.load()
	return func(ctx context.Context) (root.TrustedMaterial, error) {
		mu.Lock()
		defer mu.Unlock()
		if loaded != nil {
			return loaded, nil
		}
		tm, err := load(ctx)
		if err == nil {
			loaded = tm
		}
		return tm, err
	}
}

// load is Source without the memory.
func (c TrustConfig) load() TrustedRootSource {
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
