package signing_test

// Interoperability with stock cosign (v2.6.5): what pin signs, cosign
// verifies, and what cosign signs, pin verifies. The tests skip when cosign or
// docker-registry is missing (and fail instead under PIN_INTEGRATION=1).

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/signing"
)

// Cosign's names for the parts of an image signature.
const (
	simpleSigningMediaType = types.MediaType("application/vnd.dev.cosign.simplesigning.v1+json")
	signatureAnnotation    = "dev.cosignproject.cosign/signature"
)

// offline are the flags stock cosign needs to verify a key-based signature
// without Rekor or the network.
var offline = []string{"--insecure-ignore-tlog=true", "--offline=true"}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// cosignVerifyBlob runs cosign verify-blob and reports whether it said Verified OK.
func cosignVerifyBlob(t *testing.T, pub, sig, file string) (bool, string) {
	t.Helper()
	args := append([]string{"verify-blob", "--key", pub, "--signature", sig}, offline...)
	stdout, stderr, err := testenv.RunCosign(t, append(args, file)...)
	out := stdout + stderr
	return err == nil && strings.Contains(out, "Verified OK"), out
}

// pinKeyFiles generates a key pair with pin, encrypted with the password
// RunCosign gives cosign, and writes it as cosign.key and cosign.pub.
func pinKeyFiles(t *testing.T) (s *signing.Signer, dir, keyPath, pubPath string) {
	t.Helper()
	priv, pub, err := signing.GenerateKeyPair([]byte(testenv.CosignPassword))
	if err != nil {
		t.Fatal(err)
	}
	s, err = signing.LoadPrivateKey(priv, []byte(testenv.CosignPassword))
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	return s, dir, writeFile(t, dir, "cosign.key", priv), writeFile(t, dir, "cosign.pub", pub)
}

// (a) pin's keys and blob signatures are what cosign verify-blob accepts, and
// cosign can sign with a key pin generated.
func TestCosignVerifiesPinBlobSignature(t *testing.T) {
	testenv.Cosign(t)
	s, dir, keyPath, pubPath := pinKeyFiles(t)
	doc := []byte(`{"channel":"stable","kind":"Channel","sequence":3}`)
	sig, err := s.SignBlob(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	docPath := writeFile(t, dir, "channel.json", doc)
	sigPath := writeFile(t, dir, "channel.json.sig", sig)

	if ok, out := cosignVerifyBlob(t, pubPath, sigPath, docPath); !ok {
		t.Fatalf("cosign verify-blob rejected pin's signature:\n%s", out)
	}

	tampered := writeFile(t, dir, "tampered.json", bytes.Replace(doc, []byte("3"), []byte("4"), 1))
	if ok, out := cosignVerifyBlob(t, pubPath, sigPath, tampered); ok {
		t.Errorf("cosign verify-blob accepted a tampered document:\n%s", out)
	}

	_, _, otherPub := keyPair(t, 1)
	if ok, out := cosignVerifyBlob(t, writeFile(t, dir, "other.pub", otherPub), sigPath, docPath); ok {
		t.Errorf("cosign verify-blob accepted the signature under another key:\n%s", out)
	}

	// cosign reads the private key pin wrote.
	cosignSig := filepath.Join(dir, "by-cosign.sig")
	if _, stderr, err := testenv.RunCosign(t, "sign-blob", "--key", keyPath, "--tlog-upload=false",
		"--output-signature", cosignSig, docPath); err != nil {
		t.Fatalf("cosign sign-blob with pin's key: %v\n%s", err, stderr)
	}
	b, err := os.ReadFile(cosignSig)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier(t, mustRead(t, pubPath)).VerifyBlob(ctx, doc, b); err != nil {
		t.Errorf("pin rejected cosign's signature made with pin's key: %v", err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cosignKeyPair runs cosign generate-key-pair and returns the key file paths.
func cosignKeyPair(t *testing.T) (keyPath, pubPath string) {
	t.Helper()
	dir := t.TempDir()
	_, stderr, err := testenv.RunCosign(t, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "cosign"))
	if err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, stderr)
	}
	return filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
}

// (b) A key cosign generated loads in pin (with COSIGN_PASSWORD's value), and
// what pin signs with it cosign verifies.
func TestPinSignsWithCosignGeneratedKey(t *testing.T) {
	testenv.Cosign(t)
	keyPath, pubPath := cosignKeyPair(t)
	if got := blockType(mustRead(t, keyPath)); got != "ENCRYPTED SIGSTORE PRIVATE KEY" {
		t.Errorf("cosign wrote a %s key, want the ENCRYPTED SIGSTORE PRIVATE KEY pin also writes", got)
	}
	asked := 0
	s, err := signing.LoadPrivateKeyFile(keyPath, func() ([]byte, error) {
		asked++
		return []byte(testenv.CosignPassword), nil
	})
	if err != nil {
		t.Fatalf("LoadPrivateKeyFile(cosign.key): %v", err)
	}
	if asked != 1 {
		t.Errorf("password asked %d times, want once", asked)
	}
	if _, err := signing.LoadPrivateKeyFile(keyPath, func() ([]byte, error) { return []byte("wrong"), nil }); err == nil {
		t.Error("cosign.key loaded with the wrong password")
	}
	pemOut, err := s.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(pemOut), bytes.TrimSpace(mustRead(t, pubPath))) {
		t.Errorf("public key of loaded cosign.key differs from cosign.pub:\n%s\n%s", pemOut, mustRead(t, pubPath))
	}

	dir := t.TempDir()
	doc := []byte(`{"kind":"Release","version":"1.5.0"}`)
	sig, err := s.SignBlob(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	docPath := writeFile(t, dir, "release.json", doc)
	sigPath := writeFile(t, dir, "release.json.sig", sig)
	if ok, out := cosignVerifyBlob(t, pubPath, sigPath, docPath); !ok {
		t.Fatalf("cosign verify-blob rejected pin's signature with cosign's key:\n%s", out)
	}
}

// (c) What cosign sign-blob writes, pin's Verifier accepts; tampering fails
// with ErrSignature.
func TestPinVerifiesCosignBlobSignature(t *testing.T) {
	testenv.Cosign(t)
	keyPath, pubPath := cosignKeyPair(t)
	dir := t.TempDir()
	doc := []byte("{\"kind\":\"Channel\",\"sequence\":12}\n")
	docPath := writeFile(t, dir, "edge.json", doc)
	sigPath := filepath.Join(dir, "edge.json.sig")
	if _, stderr, err := testenv.RunCosign(t, "sign-blob", "--key", keyPath, "--tlog-upload=false",
		"--output-signature", sigPath, docPath); err != nil {
		t.Fatalf("cosign sign-blob: %v\n%s", err, stderr)
	}
	sig := mustRead(t, sigPath)
	v, err := signing.LoadVerifierFiles(pubPath)
	if err != nil {
		t.Fatalf("load cosign.pub: %v", err)
	}
	if _, err := v.VerifyBlob(ctx, doc, sig); err != nil {
		t.Fatalf("pin rejected cosign's signature: %v", err)
	}
	if _, err := v.VerifyBlob(ctx, flip(doc, 3), sig); !errors.Is(err, signing.ErrSignature) {
		t.Errorf("tampered document: err = %v, want ErrSignature", err)
	}
	_, _, otherPub := keyPair(t, 0)
	if _, err := verifier(t, otherPub).VerifyBlob(ctx, doc, sig); !errors.Is(err, signing.ErrSignature) {
		t.Errorf("untrusted key: err = %v, want ErrSignature", err)
	}
}

// signatureTag is where cosign looks for the signatures of digest d.
func signatureTag(d name.Digest) name.Tag {
	return d.Context().Tag(strings.Replace(d.DigestStr(), ":", "-", 1) + ".sig")
}

// pushSignatures writes a cosign signature manifest for d by hand: one
// simple-signing layer per signature, each with its base64 signature in the
// dev.cosignproject.cosign/signature annotation, tagged sha256-<hex>.sig in
// d's repository. It proves the layout independently of pin's registry code.
func pushSignatures(t *testing.T, d name.Digest, signers ...*signing.Signer) {
	t.Helper()
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, s := range signers {
		payload, sig, err := s.SignImage(ctx, d)
		if err != nil {
			t.Fatalf("SignImage(%s): %v", d, err)
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:       static.NewLayer(payload, simpleSigningMediaType),
			Annotations: map[string]string{signatureAnnotation: string(sig)},
		})
		if err != nil {
			t.Fatalf("append signature layer: %v", err)
		}
	}
	if err := remote.Write(signatureTag(d), img); err != nil {
		t.Fatalf("push signature of %s: %v", d, err)
	}
}

func cosignVerifyImage(t *testing.T, pubPath string, d name.Digest) (bool, string) {
	t.Helper()
	args := append([]string{"verify", "--key", pubPath}, offline...)
	stdout, stderr, err := testenv.RunCosign(t, append(args, d.String())...)
	return err == nil, stdout + stderr
}

func pushedDigest(t *testing.T, repo string, h v1.Hash) name.Digest {
	t.Helper()
	d, err := name.NewDigest(repo + "@" + h.String())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// (d) An image signature built from signer.SignImage in cosign's layout
// passes stock `cosign verify --key`, for a single image and an index, and
// with two signatures (key rotation) under either key.
func TestCosignVerifiesPinImageSignature(t *testing.T) {
	testenv.Cosign(t)
	reg := testenv.Registry(t)
	oldKey, _, oldPub := keyPair(t, 0)
	newKey, _, newPub := keyPair(t, 1)
	_, _, strangerPub := keyPair(t, 2)
	dir := t.TempDir()
	oldPubPath := writeFile(t, dir, "old.pub", oldPub)
	newPubPath := writeFile(t, dir, "new.pub", newPub)
	strangerPath := writeFile(t, dir, "stranger.pub", strangerPub)

	repo := reg + "/storage/bags_api"
	single := pushedDigest(t, repo, testenv.PushRandomImage(t, repo+":latest", 1))
	pushSignatures(t, single, oldKey)
	if ok, out := cosignVerifyImage(t, oldPubPath, single); !ok {
		t.Fatalf("cosign verify rejected pin's image signature on %s:\n%s", single, out)
	}
	if ok, out := cosignVerifyImage(t, strangerPath, single); ok {
		t.Errorf("cosign verify accepted %s under an untrusted key:\n%s", single, out)
	}

	index := pushedDigest(t, repo, testenv.PushRandomImage(t, repo+":multi", 2))
	pushSignatures(t, index, oldKey, newKey)
	for _, p := range []string{oldPubPath, newPubPath} {
		if ok, out := cosignVerifyImage(t, p, index); !ok {
			t.Errorf("cosign verify --key %s rejected the index %s:\n%s", filepath.Base(p), index, out)
		}
	}

	unsigned := pushedDigest(t, repo, testenv.PushRandomImage(t, repo+":unsigned", 1))
	if ok, out := cosignVerifyImage(t, oldPubPath, unsigned); ok {
		t.Errorf("cosign verify accepted unsigned %s:\n%s", unsigned, out)
	}

	// A signature for one image copied onto another must not verify.
	other := pushedDigest(t, repo, testenv.PushRandomImage(t, repo+":other", 1))
	sigImg, err := remote.Image(signatureTag(single))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(signatureTag(other), sigImg); err != nil {
		t.Fatal(err)
	}
	if ok, out := cosignVerifyImage(t, oldPubPath, other); ok {
		t.Errorf("cosign verify accepted %s with the signature of %s:\n%s", other, single, out)
	}
}

// (e) The signature `cosign sign --key` pushes for an image, pin's
// VerifyImage accepts: the layout is the one pushSignatures writes.
func TestPinVerifiesCosignImageSignature(t *testing.T) {
	testenv.Cosign(t)
	reg := testenv.Registry(t)
	keyPath, pubPath := cosignKeyPair(t)
	repo := reg + "/storage/ingests_api"
	d := pushedDigest(t, repo, testenv.PushRandomImage(t, repo+":latest", 1))
	if _, stderr, err := testenv.RunCosign(t, "sign", "--key", keyPath, "--tlog-upload=false", d.String()); err != nil {
		t.Fatalf("cosign sign %s: %v\n%s", d, err, stderr)
	}
	img, err := remote.Image(signatureTag(d))
	if err != nil {
		t.Fatalf("cosign left no %s: %v", signatureTag(d), err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 1 {
		t.Fatalf("cosign's signature manifest has %d layers, want 1", len(m.Layers))
	}
	l := m.Layers[0]
	if l.MediaType != simpleSigningMediaType {
		t.Errorf("layer media type %s, want %s", l.MediaType, simpleSigningMediaType)
	}
	sig := l.Annotations[signatureAnnotation]
	if _, err := base64.StdEncoding.DecodeString(sig); err != nil || sig == "" {
		t.Fatalf("annotation %s = %q, want base64", signatureAnnotation, sig)
	}
	layer, err := img.LayerByDigest(l.Digest)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := layer.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var payload bytes.Buffer
	if _, err := payload.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}

	v, err := signing.LoadVerifierFiles(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifyImage(ctx, payload.Bytes(), []byte(sig), d); err != nil {
		t.Fatalf("pin rejected cosign's image signature: %v\npayload: %s", err, payload.Bytes())
	}
	wrong := pushedDigest(t, repo, testenv.PushRandomImage(t, repo+":other", 1))
	if err := v.VerifyImage(ctx, payload.Bytes(), []byte(sig), wrong); !errors.Is(err, signing.ErrSignature) {
		t.Errorf("signature of %s accepted for %s: err = %v", d, wrong, err)
	}
}
