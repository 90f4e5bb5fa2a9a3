// Package signing makes and checks cosign-compatible keys and signatures
// without cosign's own Go packages (which bring Kubernetes clients and ~40 MB
// into the binary). It builds on sigstore/sigstore and its cryptoutils:
//
//   - keys: the encrypted "SIGSTORE PRIVATE KEY" PEM that `cosign generate-key-pair`
//     writes (older "ENCRYPTED COSIGN PRIVATE KEY" files load too) and PKIX public keys;
//   - blob signatures: base64 of an ECDSA-P256/SHA-256 signature over the bytes, the
//     content of a .sig file that `cosign verify-blob --signature` reads;
//   - image signatures: the simple-signing payload that `cosign verify --key` checks.
//
// Reading passwords from the environment or a terminal is the caller's business.
package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/wellcomecollection/pin/internal/regular"
)

// ErrSignature is wrapped by every signature verification failure.
var ErrSignature = errors.New("signature verification failed")

// maxSignatureSize caps a signature file: a base64 ECDSA or RSA-4096 signature is far smaller.
const maxSignatureSize = 8 << 10

// GenerateKeyPair returns a new ECDSA P-256 key pair: the private key encrypted
// with password in cosign's PEM format, and the PEM public key. An empty
// password is allowed (cosign accepts it); a nil one is treated as empty,
// because cryptoutils would otherwise write an unencrypted key cosign refuses.
func GenerateKeyPair(password []byte) (privPEM, pubPEM []byte, err error) {
	if password == nil {
		password = []byte{}
	}
	return cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc(password))
}

// Signer signs documents and image digests with one private key.
type Signer struct {
	sv  signature.SignerVerifier
	pub crypto.PublicKey
	// bundler, when set, makes the signer keyless (NewKeylessSigner).
	bundler BundleSigner
}

// NewSigner wraps an existing signer-verifier (a loaded key, or later a KMS key).
func NewSigner(sv signature.SignerVerifier) (*Signer, error) {
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("read public key of signer: %w", err)
	}
	return &Signer{sv: sv, pub: pub}, nil
}

// LoadPrivateKey decrypts a cosign-format PEM private key with password.
func LoadPrivateKey(pemBytes, password []byte) (*Signer, error) {
	if password == nil {
		password = []byte{}
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(pemBytes, cryptoutils.StaticPasswordFunc(password))
	if err != nil {
		if strings.Contains(err.Error(), "decrypt") {
			return nil, fmt.Errorf("decrypt private key (wrong password?): %w", err)
		}
		return nil, fmt.Errorf("load private key: %w", err)
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("load private key: %w", err)
	}
	return NewSigner(sv)
}

// LoadPrivateKeyFile reads and decrypts a private key file. The password is
// only asked for (by calling password) once the file is known to be readable.
func LoadPrivateKeyFile(path string, password func() ([]byte, error)) (*Signer, error) {
	b, err := regular.ReadFile(path, regular.MaxConfig)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	return loadPEMKey(path, b, password)
}

// loadPEMKey decrypts a PEM private key read from source (a file, an
// environment variable), asking for the password only if it is encrypted.
func loadPEMKey(source string, b []byte, password func() ([]byte, error)) (*Signer, error) {
	var pw []byte
	var err error
	if password != nil && bytes.Contains(b, []byte("ENCRYPTED")) {
		if pw, err = password(); err != nil {
			return nil, fmt.Errorf("password for %s: %w", source, err)
		}
	}
	s, err := LoadPrivateKey(b, pw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return s, nil
}

// PublicKey returns the signer's public key.
func (s *Signer) PublicKey() crypto.PublicKey { return s.pub }

// PublicKeyPEM returns the signer's public key as PEM.
func (s *Signer) PublicKeyPEM() ([]byte, error) {
	if s.sv == nil {
		return nil, errKeyless
	}
	return cryptoutils.MarshalPublicKeyToPEM(s.pub)
}

// errKeyless is returned by the key operations of a keyless signer.
var errKeyless = errors.New("a keyless signer has no key: it signs documents with Sigstore bundles only")

// KeyID returns a short, stable identifier of the signer's public key.
func (s *Signer) KeyID() string {
	if s.sv == nil {
		return "keyless"
	}
	return keyID(s.pub)
}

// ErrSelfCheck is wrapped when a key returns a signature that its own public
// key does not verify (a misbehaving KMS or emulator): nothing signed so is
// ever published, so consumers never meet a store nobody can verify.
var ErrSelfCheck = errors.New("the key's signature does not verify with its own public key")

// SignBlob signs payload and returns the base64 signature, as stored in a .sig
// file. The signature is verified with the signer's public key before it is
// returned (ErrSelfCheck): a few microseconds locally, and the only way to
// notice a KMS that signs badly before its signatures are published.
func (s *Signer) SignBlob(ctx context.Context, data []byte) ([]byte, error) {
	if s.sv == nil {
		return nil, errKeyless
	}
	raw, err := s.sv.SignMessage(bytes.NewReader(data), options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	v, err := signature.LoadVerifier(s.pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign: load the public key to check the signature: %w", err)
	}
	if err := v.VerifySignature(bytes.NewReader(raw), bytes.NewReader(data), options.WithContext(ctx)); err != nil {
		return nil, fmt.Errorf("sign with key %s: %w (%v): the key service signs badly, so the signature is not used", s.KeyID(), ErrSelfCheck, err)
	}
	return []byte(base64.StdEncoding.EncodeToString(raw)), nil
}

// SignImage signs the image digest ref (repository@sha256:...) cosign-style
// and returns the simple-signing payload and its base64 signature.
func (s *Signer) SignImage(ctx context.Context, ref name.Digest) (payloadJSON, sigB64 []byte, err error) {
	payloadJSON, err = payload.Cosign{Image: ref}.MarshalJSON()
	if err != nil {
		return nil, nil, fmt.Errorf("build signature payload for %s: %w", ref, err)
	}
	sigB64, err = s.SignBlob(ctx, payloadJSON)
	if err != nil {
		return nil, nil, fmt.Errorf("sign %s: %w", ref, err)
	}
	return payloadJSON, sigB64, nil
}

// Verifier checks signatures against a set of trusted public keys. By
// default a signature by any one of them is accepted, so keys can be rotated
// by trusting old and new; a root of trust's role sets a threshold of
// distinct keys instead (NewThresholdVerifier).
type Verifier struct {
	keys      []trustedKey
	threshold int // distinct keys that must sign; 0 means 1
	// identities, when set, checks documents' Sigstore bundles (VerifyDocument).
	identities BundleVerifier
}

type trustedKey struct {
	id     string
	source string
	der    string // PKIX DER: a key listed twice (under two names) counts once
	v      signature.Verifier
}

// ErrThreshold is wrapped (with ErrSignature) when valid signatures were
// found, but by fewer distinct trusted keys than the threshold.
var ErrThreshold = errors.New("too few distinct keys signed")

// NewThresholdVerifier builds a verifier that accepts a document only when
// at least threshold distinct keys among keys signed it.
func NewThresholdVerifier(keys map[string][]byte, threshold int) (*Verifier, error) {
	v, err := NewVerifier(keys)
	if err != nil {
		return nil, err
	}
	if threshold < 1 || threshold > len(v.keys) {
		return nil, fmt.Errorf("threshold %d: must be 1 to the %d keys given", threshold, len(v.keys))
	}
	v.threshold = threshold
	return v, nil
}

// Threshold is how many distinct keys must sign.
func (v *Verifier) Threshold() int { return max(v.threshold, 1) }

// NewVerifier builds a verifier from PEM public keys; source names each key
// (a file path, say) in errors.
func NewVerifier(keys map[string][]byte) (*Verifier, error) {
	v := &Verifier{}
	for source, pemBytes := range keys {
		if err := v.add(source, pemBytes); err != nil {
			return nil, err
		}
	}
	if len(v.keys) == 0 {
		return nil, errors.New("no trusted public keys")
	}
	return v, nil
}

// LoadVerifierFiles reads PEM public keys from files.
func LoadVerifierFiles(paths ...string) (*Verifier, error) {
	v := &Verifier{}
	for _, p := range paths {
		b, err := regular.ReadFile(p, regular.MaxConfig)
		if err != nil {
			return nil, fmt.Errorf("read public key: %w", err)
		}
		if err := v.add(p, b); err != nil {
			return nil, err
		}
	}
	if len(v.keys) == 0 {
		return nil, errors.New("no trusted public keys")
	}
	return v, nil
}

func (v *Verifier) add(source string, pemBytes []byte) error {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		// The parser's own message is an ASN.1 structure dump; say what is wrong instead.
		return fmt.Errorf("public key %s is not a PEM public key (-----BEGIN PUBLIC KEY-----, as cosign and pin keys generate write)", source)
	}
	sv, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return fmt.Errorf("public key %s: %w", source, err)
	}
	der, err := cryptoutils.MarshalPublicKeyToDER(pub)
	if err != nil {
		return fmt.Errorf("public key %s: %w", source, err)
	}
	for _, k := range v.keys {
		if k.der == string(der) {
			return nil // the same key under another name: it counts once
		}
	}
	v.keys = append(v.keys, trustedKey{id: keyID(pub), source: source, der: string(der), v: sv})
	return nil
}

// KeyIDs lists the identifiers of the trusted keys.
func (v *Verifier) KeyIDs() []string {
	ids := make([]string, len(v.keys))
	for i, k := range v.keys {
		ids[i] = k.id
	}
	return ids
}

// VerifyBlob checks a base64 signature over data and returns the id of the key
// that made it. Failures wrap ErrSignature; a verifier whose threshold is
// over one always fails here (one signature cannot meet it).
func (v *Verifier) VerifyBlob(ctx context.Context, data, sigB64 []byte) (string, error) {
	ids, err := v.VerifyBlobs(ctx, data, [][]byte{sigB64})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// VerifyBlobs checks base64 signatures over data and returns the ids of the
// distinct trusted keys that made them, in the order found. It succeeds when
// at least the threshold of distinct keys signed: a key that signed twice,
// or is listed twice, counts once; signatures by unknown keys, or that do not
// check, are ignored unless too few remain. Failures wrap ErrSignature.
func (v *Verifier) VerifyBlobs(ctx context.Context, data []byte, sigsB64 [][]byte) ([]string, error) {
	signed := make([]bool, len(v.keys))
	var ids []string
	var bad []string
	for i, sigB64 := range sigsB64 {
		if len(sigB64) > maxSignatureSize {
			bad = append(bad, fmt.Sprintf("signature %d is %d bytes, over the %d-byte cap", i+1, len(sigB64), maxSignatureSize))
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sigB64)))
		if err != nil {
			bad = append(bad, fmt.Sprintf("signature %d is not base64: %v", i+1, err))
			continue
		}
		for j, k := range v.keys {
			if signed[j] {
				continue
			}
			if k.v.VerifySignature(bytes.NewReader(raw), bytes.NewReader(data), options.WithContext(ctx)) == nil {
				signed[j] = true
				ids = append(ids, k.id)
				break
			}
		}
	}
	if len(ids) >= v.Threshold() {
		return ids, nil
	}
	why := strings.Join(bad, "; ")
	if why != "" {
		why = " (" + why + ")"
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no trusted key (%s) made this signature%s", ErrSignature, strings.Join(v.KeyIDs(), ", "), why)
	}
	return nil, fmt.Errorf("%w: %w: %d of the %d required (signed by %s; trusted: %s)%s", ErrSignature, ErrThreshold, len(ids), v.Threshold(), strings.Join(ids, ", "), strings.Join(v.KeyIDs(), ", "), why)
}

// VerifyImage checks a simple-signing payload and its signature, and that the
// payload names want (repository@digest).
func (v *Verifier) VerifyImage(ctx context.Context, payloadJSON, sigB64 []byte, want name.Digest) error {
	if _, err := v.VerifyBlob(ctx, payloadJSON, sigB64); err != nil {
		return err
	}
	var p payload.Cosign
	if err := p.UnmarshalJSON(payloadJSON); err != nil {
		return fmt.Errorf("%w: payload: %v", ErrSignature, err)
	}
	if p.Image.DigestStr() != want.DigestStr() || p.Image.Context().Name() != want.Context().Name() {
		return fmt.Errorf("%w: payload names %s, expected %s", ErrSignature, p.Image.Name(), want.Name())
	}
	return nil
}

func keyID(pub crypto.PublicKey) string {
	der, err := cryptoutils.MarshalPublicKeyToDER(pub)
	if err != nil {
		return "unknown"
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:8])
}

// NewEphemeralSigner returns a signer for a fresh in-memory ECDSA P-256 key
// that is never written anywhere: for tests and throwaway stores. It skips
// the scrypt key encryption that makes real key files slow to make and load.
func NewEphemeralSigner() (*Signer, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return NewSigner(sv)
}
