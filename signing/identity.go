package signing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// BundleSigner makes a Sigstore bundle over a document: keyless signing (an
// ephemeral key, a Fulcio certificate, a Rekor entry; see signing/keyless).
type BundleSigner interface {
	SignBundle(ctx context.Context, data []byte) ([]byte, error)
}

// BundleVerifier checks a Sigstore bundle over a document against trusted
// identities and returns the id of the identity that signed it. Errors that
// wrap ErrSignature are verification failures; any other error means the
// bundle could not be checked (its trusted root could not be loaded). It is the seam
// by which a root of trust counts identity signers as it counts keys: a
// signer's id is stable, so a threshold counts each identity once.
type BundleVerifier interface {
	VerifyBundle(ctx context.Context, data, bundleJSON []byte) (signerID string, err error)
	IDs() []string
}

// NewKeylessSigner returns a Signer that signs documents with Sigstore
// bundles instead of a key. It has no public key, and does not sign images
// cosign-style (SignImage fails).
func NewKeylessSigner(b BundleSigner) *Signer { return &Signer{bundler: b} }

// Keyless reports whether the signer makes Sigstore bundles rather than key signatures.
func (s *Signer) Keyless() bool { return s.bundler != nil }

// SignDocument signs a document: a key signer returns the base64 signature (a
// .sig file's content), a keyless one the Sigstore bundle.
func (s *Signer) SignDocument(ctx context.Context, data []byte) (sigB64, bundleJSON []byte, err error) {
	if s.bundler != nil {
		b, err := s.bundler.SignBundle(ctx, data)
		return nil, b, err
	}
	sig, err := s.SignBlob(ctx, data)
	return sig, nil, err
}

// NewVerifierWithIdentities builds a verifier that accepts a document signed
// by any of keys (PEM, by source name; may be empty) or by any identity of
// identities (may be nil); at least one of the two must trust something.
func NewVerifierWithIdentities(keys map[string][]byte, identities BundleVerifier) (*Verifier, error) {
	v := &Verifier{identities: identities}
	for source, pemBytes := range keys {
		if err := v.add(source, pemBytes); err != nil {
			return nil, err
		}
	}
	if len(v.keys) == 0 && identities == nil {
		return nil, errors.New("no trusted public keys or identities")
	}
	return v, nil
}

// WithIdentities returns a copy of v that also trusts identities.
func (v *Verifier) WithIdentities(identities BundleVerifier) *Verifier {
	c := *v
	c.identities = identities
	return &c
}

// VerifyDocument checks a document's signature (base64, by a trusted key) or
// its Sigstore bundle (by a trusted identity), whichever it has and the
// verifier trusts, and returns the signer's id. Failures wrap ErrSignature.
func (v *Verifier) VerifyDocument(ctx context.Context, data, sigB64, bundleJSON []byte) (string, error) {
	var errs []string
	if len(bundleJSON) > 0 {
		if v.identities == nil {
			errs = append(errs, "the document has a Sigstore bundle, but no identities are trusted")
		} else {
			id, err := v.identities.VerifyBundle(ctx, data, bundleJSON)
			if err == nil {
				return id, nil
			}
			if !errors.Is(err, ErrSignature) && len(sigB64) == 0 {
				return "", err // not checked, rather than refused: an operational failure
			}
			errs = append(errs, strings.TrimPrefix(err.Error(), ErrSignature.Error()+": "))
		}
	}
	if len(strings.TrimSpace(string(sigB64))) > 0 {
		if len(v.keys) == 0 {
			errs = append(errs, "the document has a key signature, but no keys are trusted")
		} else {
			id, err := v.VerifyBlob(ctx, data, sigB64)
			if err == nil {
				return id, nil
			}
			errs = append(errs, strings.TrimPrefix(err.Error(), ErrSignature.Error()+": "))
		}
	}
	if len(errs) == 0 {
		return "", fmt.Errorf("%w: the document has neither a signature nor a Sigstore bundle", ErrSignature)
	}
	return "", fmt.Errorf("%w: %s", ErrSignature, strings.Join(errs, "; "))
}

// SignerIDs lists the ids of the trusted keys and identities.
func (v *Verifier) SignerIDs() []string {
	ids := v.KeyIDs()
	if v.identities != nil {
		ids = append(ids, v.identities.IDs()...)
	}
	return ids
}

// cosignImageSigner is a BundleSigner that also makes cosign's keyless image
// signatures (keyless.Signer).
type cosignImageSigner interface {
	SignCosignImage(ctx context.Context, payload []byte) (map[string]string, error)
}

// CosignSignatureAnnotation is the layer annotation of a cosign image
// signature that holds the base64 signature.
const CosignSignatureAnnotation = "dev.cosignproject.cosign/signature"

// SignImageAnnotated signs the image digest ref cosign-style and returns the
// simple-signing payload and the annotations of its signature layer: the
// signature alone for a key, and also the certificate and Rekor entry for a
// keyless signer, which is how `cosign verify --certificate-identity` reads them.
func (s *Signer) SignImageAnnotated(ctx context.Context, ref name.Digest) ([]byte, map[string]string, error) {
	if s.bundler == nil {
		payloadJSON, sig, err := s.SignImage(ctx, ref)
		if err != nil {
			return nil, nil, err
		}
		return payloadJSON, map[string]string{CosignSignatureAnnotation: string(sig)}, nil
	}
	c, ok := s.bundler.(cosignImageSigner)
	if !ok {
		return nil, nil, fmt.Errorf("sign %s: this keyless signer makes no cosign image signatures", ref)
	}
	payloadJSON, err := payload.Cosign{Image: ref}.MarshalJSON()
	if err != nil {
		return nil, nil, fmt.Errorf("build signature payload for %s: %w", ref, err)
	}
	ann, err := c.SignCosignImage(ctx, payloadJSON)
	if err != nil {
		return nil, nil, fmt.Errorf("sign %s: %w", ref, err)
	}
	return payloadJSON, ann, nil
}
