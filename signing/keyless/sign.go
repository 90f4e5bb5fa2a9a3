//go:build !nokeyless

package keyless

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"
)

// SignerOptions configures a Signer; zero values mean public-good Sigstore.
type SignerOptions struct {
	FulcioURL string
	RekorURL  string
	// Token returns the CI job's OIDC identity token (audience "sigstore").
	Token TokenSource
	// Transport carries the Fulcio requests; nil means http.DefaultTransport.
	// (The Rekor client makes its own, from RekorURL.)
	Transport http.RoundTripper
	// Timeout bounds each Fulcio and Rekor request; zero means 30 s.
	Timeout time.Duration
	// Trusted, when set, checks every bundle made against it before it is
	// returned, so a misconfigured Fulcio or Rekor fails the release, not the
	// consumers.
	Trusted root.TrustedMaterial
}

// Signer makes Sigstore bundles. One certificate is fetched for the Signer's
// first bundle and reused while it is valid (Fulcio's are valid for ten
// minutes), so a release and its channel index share one key and identity.
type Signer struct {
	o       SignerOptions
	keypair *sign.EphemeralKeypair
	cert    *cachedCert
}

// NewSigner returns a Signer with a fresh ephemeral key that is never written anywhere.
func NewSigner(o SignerOptions) (*Signer, error) {
	if o.Token == nil {
		return nil, fmt.Errorf("%w: no identity token source", ErrSign)
	}
	if o.FulcioURL == "" {
		o.FulcioURL = PublicFulcioURL
	}
	if o.RekorURL == "" {
		o.RekorURL = PublicRekorURL
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: ephemeral key: %w", ErrSign, err)
	}
	return &Signer{o: o, keypair: kp}, nil
}

// SignBundle signs data and returns the Sigstore bundle (protobuf JSON) with
// the certificate and the Rekor entry.
func (s *Signer) SignBundle(ctx context.Context, data []byte) ([]byte, error) {
	certs, err := s.certificate(ctx)
	if err != nil {
		return nil, err
	}
	pb, err := sign.Bundle(&sign.PlainData{Data: data}, s.keypair, sign.BundleOptions{
		Context:             ctx,
		CertificateProvider: certs,
		TransparencyLogs: []sign.Transparency{sign.NewRekor(&sign.RekorOptions{
			BaseURL: s.o.RekorURL, Timeout: s.o.Timeout, Retries: 1,
		})},
		TrustedRoot: s.o.Trusted,
	})
	if err != nil {
		return nil, fmt.Errorf("%w (Fulcio %s, Rekor %s): %w", ErrSign, s.o.FulcioURL, s.o.RekorURL, err)
	}
	out, err := protojson.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("%w: encode bundle: %w", ErrSign, err)
	}
	return out, nil
}

// certificate returns a provider that hands out the one certificate of this
// signer's key, asking Fulcio when there is none or it is about to expire.
func (s *Signer) certificate(ctx context.Context) (sign.CertificateProvider, error) {
	if s.cert != nil && time.Until(s.cert.notAfter) > time.Minute {
		return s.cert, nil
	}
	tok, err := s.o.Token.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: identity token: %w", ErrSign, err)
	}
	f := sign.NewFulcio(&sign.FulcioOptions{BaseURL: s.o.FulcioURL, Timeout: s.o.Timeout, Retries: 1, Transport: s.o.Transport})
	der, err := f.GetCertificate(ctx, s.keypair, &sign.CertificateProviderOptions{IDToken: tok})
	if err != nil {
		return nil, fmt.Errorf("%w: certificate from Fulcio %s: %w", ErrSign, s.o.FulcioURL, err)
	}
	c, err := newCachedCert(der)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate from Fulcio %s: %w", ErrSign, s.o.FulcioURL, err)
	}
	s.cert = c
	return c, nil
}

// Cosign's layer annotations of a keyless image signature (the
// sha256-<hex>.sig tag's layers), which `cosign verify --certificate-identity`
// reads.
const (
	cosignSignatureAnnotation   = "dev.cosignproject.cosign/signature"
	cosignCertificateAnnotation = "dev.sigstore.cosign/certificate"
	cosignBundleAnnotation      = "dev.sigstore.cosign/bundle"
)

// SignCosignImage signs a cosign simple-signing payload keylessly and returns
// the layer annotations of a cosign image signature: the signature, the
// Fulcio certificate and the Rekor entry (its signed entry timestamp and
// body), taken from the Sigstore bundle so both forms record one log entry.
func (s *Signer) SignCosignImage(ctx context.Context, payload []byte) (map[string]string, error) {
	b, err := s.SignBundle(ctx, payload)
	if err != nil {
		return nil, err
	}
	return cosignAnnotations(b)
}

func cosignAnnotations(bundleJSON []byte) (map[string]string, error) {
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(bundleJSON, &pb); err != nil {
		return nil, fmt.Errorf("%w: bundle: %w", ErrSign, err)
	}
	ms := pb.GetMessageSignature()
	cert := pb.GetVerificationMaterial().GetCertificate()
	entries := pb.GetVerificationMaterial().GetTlogEntries()
	if ms == nil || cert == nil || len(entries) == 0 || entries[0].GetInclusionPromise() == nil {
		return nil, fmt.Errorf("%w: bundle lacks a signature, certificate or log entry with its promise", ErrSign)
	}
	e := entries[0]
	rekorBundle, err := json.Marshal(map[string]any{
		"SignedEntryTimestamp": e.GetInclusionPromise().GetSignedEntryTimestamp(),
		"Payload": map[string]any{
			"body":           e.GetCanonicalizedBody(),
			"integratedTime": e.GetIntegratedTime(),
			"logIndex":       e.GetLogIndex(),
			"logID":          hex.EncodeToString(e.GetLogId().GetKeyId()),
		},
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{
		cosignSignatureAnnotation:   base64.StdEncoding.EncodeToString(ms.GetSignature()),
		cosignCertificateAnnotation: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.GetRawBytes()})),
		cosignBundleAnnotation:      string(rekorBundle),
	}, nil
}
