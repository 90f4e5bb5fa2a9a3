package signing_test

import (
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/signing"
)

// TestKMSSignerWithLocalKMS signs with an ECC_NIST_P256 key held by local-kms
// (an AWS KMS API emulator on loopback) through awskms:///alias/NAME, checks
// the signatures with the public key the KMS hands out, and checks that keys
// pin cannot use are refused before anything is signed.
func TestKMSSignerWithLocalKMS(t *testing.T) {
	endpoint := testenv.LocalKMS(t)
	testenv.SetAWSEnv(t, endpoint)
	ref := testenv.CreateKMSKey(t, "alias/pin-release", "ECC_NIST_P256")

	s, err := signing.LoadSigner(ctx, ref, signing.KeyRefOptions{
		Password: func() ([]byte, error) { t.Fatal("a KMS key asked for a password"); return nil, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := s.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, pub)
	sig, err := s.SignBlob(ctx, []byte("release 1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	if id, err := v.VerifyBlob(ctx, []byte("release 1.0.0"), sig); err != nil || id != s.KeyID() {
		t.Fatalf("verify KMS signature: id %q (want %s), %v", id, s.KeyID(), err)
	}
	if _, err := v.VerifyBlob(ctx, []byte("release 1.0.1"), sig); !errors.Is(err, signing.ErrSignature) {
		t.Fatalf("KMS signature verified over other bytes: %v", err)
	}
	// The same key by its endpoint-less alias loads the same public key again.
	again, err := signing.LoadSigner(ctx, ref, signing.KeyRefOptions{})
	if err != nil || again.KeyID() != s.KeyID() {
		t.Fatalf("reload %s: %v (key id %v, want %s)", ref, err, again, s.KeyID())
	}

	// awskms://HOST:PORT/alias/NAME speaks HTTPS to HOST:PORT, whatever
	// AWS_ENDPOINT_URL says: a TLS proxy in front of local-kms, its
	// certificate trusted through the SDK's AWS_CA_BUNDLE, stands in for a
	// KMS VPC endpoint.
	t.Run("endpoint in the reference", func(t *testing.T) {
		target, err := url.Parse(endpoint)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
		defer proxy.Close()
		ca := filepath.Join(t.TempDir(), "ca.pem")
		certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: proxy.Certificate().Raw})
		if err := os.WriteFile(ca, certPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv("AWS_CA_BUNDLE", ca)
		t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing listens: the reference must win
		viaProxy := "awskms://" + proxy.Listener.Addr().String() + "/alias/pin-release"
		s2, err := signing.LoadSigner(ctx, viaProxy, signing.KeyRefOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if s2.KeyID() != s.KeyID() {
			t.Fatalf("%s has key id %s, want %s", viaProxy, s2.KeyID(), s.KeyID())
		}
		sig, err := s2.SignBlob(ctx, []byte("via endpoint"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.VerifyBlob(ctx, []byte("via endpoint"), sig); err != nil {
			t.Fatal(err)
		}
	})

	testenv.CreateKMSKey(t, "alias/p384", "ECC_NIST_P384")
	tests := []struct {
		ref            string
		keyRef, kmsErr bool
		want           string
	}{
		{"awskms:///alias/p384", true, false, "this key is ECDSA P-384"},
		{"awskms:///alias/missing", false, true, "awskms:///alias/missing"},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			_, err := signing.LoadSigner(ctx, tc.ref, signing.KeyRefOptions{})
			if err == nil {
				t.Fatal("loaded")
			}
			if errors.Is(err, signing.ErrKeyRef) != tc.keyRef || errors.Is(err, signing.ErrKMS) != tc.kmsErr {
				t.Errorf("error class: ErrKeyRef %v (want %v), ErrKMS %v (want %v): %v",
					errors.Is(err, signing.ErrKeyRef), tc.keyRef, errors.Is(err, signing.ErrKMS), tc.kmsErr, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}
