package signing_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wellcomecollection/pin/signing"
)

var ctx = context.Background()

// fixtureKey is a generated key pair, loaded back as a signer. Encrypting
// and decrypting keys runs scrypt, which is slow under -race, so tests share a
// few keys made once.
type fixtureKey struct {
	signer    *signing.Signer
	priv, pub []byte
}

const fixturePassword = "pw"

var (
	fixtureOnce sync.Once
	fixtures    [3]fixtureKey
	fixtureErr  error
)

// keyPair returns shared key number i (0, 1 or 2), encrypted with fixturePassword.
func keyPair(t *testing.T, i int) (*signing.Signer, []byte, []byte) {
	t.Helper()
	fixtureOnce.Do(func() {
		for n := range fixtures {
			priv, pub, err := signing.GenerateKeyPair([]byte(fixturePassword))
			if err != nil {
				fixtureErr = err
				return
			}
			s, err := signing.LoadPrivateKey(priv, []byte(fixturePassword))
			if err != nil {
				fixtureErr = err
				return
			}
			fixtures[n] = fixtureKey{signer: s, priv: priv, pub: pub}
		}
	})
	if fixtureErr != nil {
		t.Fatalf("generate and load test keys: %v", fixtureErr)
	}
	k := fixtures[i]
	return k.signer, k.priv, k.pub
}

func verifier(t *testing.T, pubs ...[]byte) *signing.Verifier {
	t.Helper()
	keys := map[string][]byte{}
	for i, p := range pubs {
		keys["key"+string(rune('A'+i))+".pub"] = p
	}
	v, err := signing.NewVerifier(keys)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func mustDigest(t *testing.T, s string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return d
}

func TestGenerateKeyPairFormat(t *testing.T) {
	t.Parallel()
	_, priv, pub := keyPair(t, 0)
	if b, _ := pem.Decode(priv); b == nil || b.Type != "ENCRYPTED SIGSTORE PRIVATE KEY" {
		t.Errorf("private key PEM block = %v, want ENCRYPTED SIGSTORE PRIVATE KEY (what cosign writes)", blockType(priv))
	}
	b, _ := pem.Decode(pub)
	if b == nil || b.Type != "PUBLIC KEY" {
		t.Fatalf("public key PEM block = %v, want PUBLIC KEY", blockType(pub))
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		t.Fatalf("public key is not PKIX: %v", err)
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		t.Errorf("public key is %T, want ECDSA P-256", k)
	}
	if bytes.Contains(priv, pub) {
		t.Error("private key PEM contains the public key PEM")
	}
}

func blockType(b []byte) string {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return "<no PEM>"
	}
	return blk.Type
}

func TestLoadPrivateKeyPasswords(t *testing.T) {
	t.Parallel()
	_, priv, _ := keyPair(t, 0)
	if _, err := signing.LoadPrivateKey(priv, []byte(fixturePassword)); err != nil {
		t.Errorf("right password: %v", err)
	}
	for _, pw := range [][]byte{[]byte("wrong"), []byte("pw "), []byte(""), nil} {
		_, err := signing.LoadPrivateKey(priv, pw)
		if err == nil {
			t.Errorf("password %q: loaded, want an error", pw)
			continue
		}
		if !strings.Contains(err.Error(), "wrong password") {
			t.Errorf("password %q: error %q does not suggest a wrong password", pw, err)
		}
	}
	if _, err := signing.LoadPrivateKey([]byte("not a key"), []byte(fixturePassword)); err == nil {
		t.Error("garbage loaded as a private key")
	}
}

func TestNilAndEmptyPassword(t *testing.T) {
	t.Parallel()
	priv, pub, err := signing.GenerateKeyPair(nil)
	if err != nil {
		t.Fatalf("GenerateKeyPair(nil): %v", err)
	}
	// cosign refuses unencrypted keys, so nil must still encrypt (with "").
	if blockType(priv) != "ENCRYPTED SIGSTORE PRIVATE KEY" {
		t.Fatalf("GenerateKeyPair(nil) wrote a %s block, want an encrypted key", blockType(priv))
	}
	for _, pw := range [][]byte{nil, {}} {
		s, err := signing.LoadPrivateKey(priv, pw)
		if err != nil {
			t.Fatalf("load key made with nil password using %q: %v", pw, err)
		}
		sig, err := s.SignBlob(ctx, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verifier(t, pub).VerifyBlob(ctx, []byte("x"), sig); err != nil {
			t.Errorf("verify: %v", err)
		}
	}
	if _, err := signing.LoadPrivateKey(priv, []byte("something")); err == nil {
		t.Error("key made with an empty password loaded with a non-empty one")
	}
}

func TestSignVerifyBlob(t *testing.T) {
	t.Parallel()
	s, _, pub := keyPair(t, 0)
	v := verifier(t, pub)
	data := []byte(`{"kind":"Channel","sequence":7}`)
	sig, err := s.SignBlob(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := base64.StdEncoding.DecodeString(string(sig)); err != nil {
		t.Fatalf("signature is not standard base64: %v", err)
	}
	id, err := v.VerifyBlob(ctx, data, sig)
	if err != nil {
		t.Fatalf("VerifyBlob: %v", err)
	}
	if id != s.KeyID() {
		t.Errorf("VerifyBlob says key %s, signer is %s", id, s.KeyID())
	}
	// A .sig file edited by hand may end in a newline.
	if _, err := v.VerifyBlob(ctx, data, append(append([]byte{}, sig...), '\n')); err != nil {
		t.Errorf("signature with trailing newline: %v", err)
	}
	// Signatures are over exactly the bytes given: empty data signs too.
	esig, err := s.SignBlob(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyBlob(ctx, []byte{}, esig); err != nil {
		t.Errorf("empty document: %v", err)
	}
}

func TestVerifyBlobRejects(t *testing.T) {
	t.Parallel()
	s, _, pub := keyPair(t, 0)
	other, _, _ := keyPair(t, 1)
	v := verifier(t, pub)
	data := []byte(`{"kind":"Release","version":"1.5.0"}`)
	sig, err := s.SignBlob(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	otherSig, err := other.SignBlob(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(string(sig))
	raw[len(raw)/2] ^= 0x01
	flippedSig := []byte(base64.StdEncoding.EncodeToString(raw))

	tests := []struct {
		name      string
		data, sig []byte
		msg       string
	}{
		{"tampered document", flip(data, 10), sig, "no trusted key"},
		{"appended byte", append(append([]byte{}, data...), ' '), sig, "no trusted key"},
		{"truncated document", data[:len(data)-1], sig, "no trusted key"},
		{"tampered signature", data, flippedSig, ""},
		{"wrong key", data, otherSig, "no trusted key"},
		{"not base64", data, []byte("!!not base64!!"), "not base64"},
		{"empty signature", data, nil, ""},
		{"oversize signature", data, bytes.Repeat([]byte("A"), 8<<10+1), "cap"},
		{"oversize valid prefix", data, append(append([]byte{}, sig...), bytes.Repeat([]byte(" "), 8<<10)...), "cap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.VerifyBlob(ctx, tt.data, tt.sig)
			if err == nil {
				t.Fatalf("verified (key %s), want ErrSignature", id)
			}
			if !errors.Is(err, signing.ErrSignature) {
				t.Errorf("error %q does not wrap ErrSignature", err)
			}
			if id != "" {
				t.Errorf("failed verification returned key id %q", id)
			}
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i] ^= 0x20
	return c
}

func TestKeyRotation(t *testing.T) {
	t.Parallel()
	oldKey, _, oldPub := keyPair(t, 0)
	newKey, _, newPub := keyPair(t, 1)
	stranger, _, _ := keyPair(t, 2)
	v := verifier(t, oldPub, newPub)
	if got := len(v.KeyIDs()); got != 2 {
		t.Fatalf("verifier trusts %d keys, want 2", got)
	}
	data := []byte("channel index")
	for _, s := range []*signing.Signer{oldKey, newKey} {
		sig, err := s.SignBlob(ctx, data)
		if err != nil {
			t.Fatal(err)
		}
		id, err := v.VerifyBlob(ctx, data, sig)
		if err != nil {
			t.Errorf("key %s: %v", s.KeyID(), err)
		}
		if id != s.KeyID() {
			t.Errorf("signature by %s attributed to %s", s.KeyID(), id)
		}
	}
	sig, err := stranger.SignBlob(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyBlob(ctx, data, sig)
	if !errors.Is(err, signing.ErrSignature) {
		t.Fatalf("untrusted key: err = %v, want ErrSignature", err)
	}
	for _, id := range []string{oldKey.KeyID(), newKey.KeyID()} {
		if !strings.Contains(err.Error(), id) {
			t.Errorf("error %q does not list trusted key %s", err, id)
		}
	}
	if oldKey.KeyID() == newKey.KeyID() {
		t.Error("two keys share a KeyID")
	}
}

func TestKeyIDStable(t *testing.T) {
	t.Parallel()
	s, priv, pub := keyPair(t, 0)
	again, err := signing.LoadPrivateKey(priv, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID() != again.KeyID() {
		t.Errorf("KeyID changed between loads: %s, %s", s.KeyID(), again.KeyID())
	}
	ids := verifier(t, pub).KeyIDs()
	if len(ids) != 1 || ids[0] != s.KeyID() {
		t.Errorf("verifier key ids %v, signer %s", ids, s.KeyID())
	}
	if len(s.KeyID()) != 16 {
		t.Errorf("KeyID %q is not 16 hex characters", s.KeyID())
	}
	pemOut, err := s.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pemOut, pub) {
		t.Errorf("PublicKeyPEM differs from the generated public key:\n%s\n%s", pemOut, pub)
	}
}

func TestOlderAndUnencryptedKeys(t *testing.T) {
	t.Parallel()
	_, priv, pub := keyPair(t, 0)
	blk, _ := pem.Decode(priv)
	older := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED COSIGN PRIVATE KEY", Bytes: blk.Bytes})

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	ecPub, _ := x509.MarshalPKIXPublicKey(ec.Public())
	ecPubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecPub})

	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, _ := x509.MarshalPKIXPublicKey(rk.Public())

	tests := []struct {
		name      string
		priv, pub []byte
		password  []byte
	}{
		{"older ENCRYPTED COSIGN PRIVATE KEY", older, pub, []byte("pw")},
		{"unencrypted PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), ecPubPEM, nil},
		{"unencrypted SEC1 EC", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), ecPubPEM, nil},
		{"unencrypted PKCS#1 RSA", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}),
			pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPub}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := signing.LoadPrivateKey(tt.priv, tt.password)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			sig, err := s.SignBlob(ctx, []byte("doc"))
			if err != nil {
				t.Fatal(err)
			}
			v := verifier(t, tt.pub)
			if _, err := v.VerifyBlob(ctx, []byte("doc"), sig); err != nil {
				t.Errorf("verify: %v", err)
			}
			if _, err := v.VerifyBlob(ctx, []byte("dog"), sig); !errors.Is(err, signing.ErrSignature) {
				t.Errorf("tampered: err = %v, want ErrSignature", err)
			}
		})
	}
	if _, err := signing.LoadPrivateKey(older, []byte("nope")); err == nil {
		t.Error("older-format key loaded with the wrong password")
	}
	if _, err := signing.LoadPrivateKey(pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte{1}}), nil); err == nil {
		t.Error("unknown PEM type loaded")
	}
}

func TestLoadPrivateKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, priv, pub := keyPair(t, 0)
	path := filepath.Join(dir, "cosign.key")
	if err := os.WriteFile(path, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	calls := 0
	pw := func(b string) func() ([]byte, error) {
		return func() ([]byte, error) { calls++; return []byte(b), nil }
	}

	s, err := signing.LoadPrivateKeyFile(path, pw("pw"))
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	if calls != 1 {
		t.Errorf("password asked %d times, want once", calls)
	}
	sig, _ := s.SignBlob(ctx, []byte("a"))
	if _, err := verifier(t, pub).VerifyBlob(ctx, []byte("a"), sig); err != nil {
		t.Errorf("verify: %v", err)
	}

	_, err = signing.LoadPrivateKeyFile(path, pw("bad"))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("wrong password: err = %v, want an error naming %s", err, path)
	}

	boom := errors.New("no terminal")
	_, err = signing.LoadPrivateKeyFile(path, func() ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Errorf("password func error: got %v, want it wrapped", err)
	}

	calls = 0
	missingPath := filepath.Join(dir, "missing.key")
	if _, err := signing.LoadPrivateKeyFile(missingPath, pw("pw")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v, want ErrNotExist", err)
	}
	if calls != 0 {
		t.Error("password asked for a file that cannot be read")
	}

	// An unencrypted key needs no password: none is asked.
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(ec)
	plain := filepath.Join(dir, "plain.key")
	if err := os.WriteFile(plain, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := signing.LoadPrivateKeyFile(plain, pw("pw")); err != nil {
		t.Errorf("unencrypted key file: %v", err)
	}
	if calls != 0 {
		t.Errorf("password asked %d times for an unencrypted key", calls)
	}
}

func TestVerifierConstruction(t *testing.T) {
	t.Parallel()
	if _, err := signing.NewVerifier(nil); err == nil {
		t.Error("NewVerifier with no keys succeeded")
	}
	if _, err := signing.LoadVerifierFiles(); err == nil {
		t.Error("LoadVerifierFiles with no files succeeded")
	}
	_, err := signing.NewVerifier(map[string][]byte{"keys/bad.pub": []byte("-----BEGIN NONSENSE-----\n")})
	if err == nil || !strings.Contains(err.Error(), "keys/bad.pub") {
		t.Errorf("bad key: err = %v, want one naming keys/bad.pub", err)
	}

	dir := t.TempDir()
	s, _, pub := keyPair(t, 0)
	p := filepath.Join(dir, "k.pub")
	if err := os.WriteFile(p, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := signing.LoadVerifierFiles(p)
	if err != nil {
		t.Fatalf("LoadVerifierFiles: %v", err)
	}
	sig, _ := s.SignBlob(ctx, []byte("z"))
	if _, err := v.VerifyBlob(ctx, []byte("z"), sig); err != nil {
		t.Errorf("verify with file key: %v", err)
	}
	if _, err := signing.LoadVerifierFiles(p, filepath.Join(dir, "nope.pub")); err == nil {
		t.Error("LoadVerifierFiles with a missing file succeeded")
	}
	// A private key is not a public key.
	_, priv, _ := keyPair(t, 0)
	if _, err := signing.NewVerifier(map[string][]byte{"cosign.key": priv}); err == nil {
		t.Error("a private key PEM was accepted as a trusted public key")
	}
}

func TestSignVerifyImage(t *testing.T) {
	t.Parallel()
	s, _, pub := keyPair(t, 0)
	other, _, _ := keyPair(t, 1)
	v := verifier(t, pub)
	const repo = "127.0.0.1:5000/storage/bags_api"
	const hexA = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
	const hexB = "b3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"
	want := mustDigest(t, repo+"@sha256:"+hexA)

	payload, sig, err := s.SignImage(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Critical struct {
			Identity struct {
				DockerReference string `json:"docker-reference"`
			} `json:"identity"`
			Image struct {
				DockerManifestDigest string `json:"docker-manifest-digest"`
			} `json:"image"`
			Type string `json:"type"`
		} `json:"critical"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatalf("payload is not JSON: %v\n%s", err, payload)
	}
	if p.Critical.Type != "cosign container image signature" ||
		p.Critical.Image.DockerManifestDigest != "sha256:"+hexA ||
		p.Critical.Identity.DockerReference != repo {
		t.Errorf("payload is not cosign simple-signing for %s:\n%s", want, payload)
	}
	if err := v.VerifyImage(ctx, payload, sig, want); err != nil {
		t.Fatalf("VerifyImage: %v", err)
	}

	otherPayload, otherSig, err := other.SignImage(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	garbageSig, _ := s.SignBlob(ctx, []byte("not json"))
	tests := []struct {
		name         string
		payload, sig []byte
		want         name.Digest
	}{
		{"wrong digest", payload, sig, mustDigest(t, repo+"@sha256:"+hexB)},
		{"wrong repository", payload, sig, mustDigest(t, "127.0.0.1:5000/storage/ingests_api@sha256:"+hexA)},
		{"wrong registry", payload, sig, mustDigest(t, "127.0.0.1:5001/storage/bags_api@sha256:"+hexA)},
		{"untrusted key", otherPayload, otherSig, want},
		{"tampered payload", bytes.Replace(payload, []byte(hexA), []byte(hexB), 1), sig, mustDigest(t, repo+"@sha256:"+hexB)},
		{"signed garbage payload", []byte("not json"), garbageSig, want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.VerifyImage(ctx, tt.payload, tt.sig, tt.want)
			if !errors.Is(err, signing.ErrSignature) {
				t.Errorf("err = %v, want ErrSignature", err)
			}
		})
	}
}
