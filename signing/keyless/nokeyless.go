//go:build nokeyless

package keyless

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// This file stands in for sigstore-go when pin is built with -tags nokeyless,
// which leaves keyless signing and identity verification out of the binary
// (5.2 MB stripped; BENCHMARKS.md). Every entry point says so.

var errNotBuilt = errors.New("this pin is built without keyless (Sigstore) support (-tags nokeyless): sign and trust with keys, or use a build without that tag")

// TrustedRootSource loads the trusted root; in this build it never can.
type TrustedRootSource func(ctx context.Context) (any, error)

// Check accepts an empty config only.
func (c TrustConfig) Check() error {
	if c == (TrustConfig{}) {
		return nil
	}
	return errNotBuilt
}

// Source returns a loader that fails.
func (c TrustConfig) Source() TrustedRootSource {
	return func(context.Context) (any, error) { return nil, errNotBuilt }
}

// LazyVerifier is not built.
type LazyVerifier struct{}

// NewLazyVerifier fails: identities cannot be verified in this build.
func NewLazyVerifier([]Identity, TrustedRootSource) (*LazyVerifier, error) { return nil, errNotBuilt }

// IDs lists nothing.
func (*LazyVerifier) IDs() []string { return nil }

// VerifyBundle fails.
func (*LazyVerifier) VerifyBundle(context.Context, []byte, []byte) (string, error) {
	return "", errNotBuilt
}

// SignerOptions mirrors the full build's, without its trusted root.
type SignerOptions struct {
	FulcioURL string
	RekorURL  string
	Token     TokenSource
	Transport http.RoundTripper
	Timeout   time.Duration
}

// Signer is not built.
type Signer struct{}

// NewSigner fails: keyless signing is not in this build.
func NewSigner(SignerOptions) (*Signer, error) { return nil, errNotBuilt }

// SignBundle fails.
func (*Signer) SignBundle(context.Context, []byte) ([]byte, error) { return nil, errNotBuilt }
