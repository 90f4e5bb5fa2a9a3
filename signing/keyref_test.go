package signing_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/signing"
)

// TestLoadSignerEnvAndFile loads the same encrypted key from a file and from
// env://VAR and checks both sign what the public key verifies.
func TestLoadSignerEnvAndFile(t *testing.T) {
	want, priv, pub := keyPair(t, 0)
	path := filepath.Join(t.TempDir(), "release.key")
	if err := os.WriteFile(path, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	envs := map[string]string{"PIN_KEY": string(priv)}
	asked := 0
	o := signing.KeyRefOptions{
		Password:  func() ([]byte, error) { asked++; return []byte(fixturePassword), nil },
		LookupEnv: func(k string) (string, bool) { v, ok := envs[k]; return v, ok },
	}
	v := verifier(t, pub)
	for _, ref := range []string{path, "env://PIN_KEY"} {
		t.Run(ref, func(t *testing.T) {
			asked = 0
			s, err := signing.LoadSigner(ctx, ref, o)
			if err != nil {
				t.Fatal(err)
			}
			if asked != 1 {
				t.Errorf("password asked %d times, want 1", asked)
			}
			if s.KeyID() != want.KeyID() {
				t.Errorf("key id %s, want %s", s.KeyID(), want.KeyID())
			}
			sig, err := s.SignBlob(ctx, []byte("release"))
			if err != nil {
				t.Fatal(err)
			}
			if id, err := v.VerifyBlob(ctx, []byte("release"), sig); err != nil || id != want.KeyID() {
				t.Fatalf("verify: id %q, %v", id, err)
			}
		})
	}
}

// TestLoadSignerBadReferences: what is wrong with the reference itself is an
// ErrKeyRef naming the problem, and never echoes a secret.
func TestLoadSignerBadReferences(t *testing.T) {
	_, priv, _ := keyPair(t, 1)
	const secret = "hunter2-not-the-password"
	envs := map[string]string{
		"EMPTY":   "  \n",
		"NOT_PEM": "-----BEGIN NOTHING-----\n" + secret + "\n-----END NOTHING-----\n",
		"KEY":     string(priv),
	}
	o := signing.KeyRefOptions{
		Password:  func() ([]byte, error) { return []byte(secret), nil },
		LookupEnv: func(k string) (string, bool) { v, ok := envs[k]; return v, ok },
	}
	tests := []struct {
		ref     string
		keyRef  bool // wraps ErrKeyRef
		wantMsg string
	}{
		{"env://UNSET", true, "environment variable UNSET is not set"},
		{"env://EMPTY", true, "environment variable EMPTY is empty"},
		{"env://", true, `"" is not an environment variable name`},
		{"env://A-B", true, `"A-B" is not an environment variable name`},
		{"env://NOT_PEM", false, "env://NOT_PEM"},
		{"env://KEY", false, "env://KEY: decrypt private key (wrong password?)"},
		{"gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", true, "gcpkms:// keys are not built into pin"},
		{"azurekms://vault.example/key", true, "azurekms:// keys are not built into pin"},
		{"hashivault://transit-key", true, "hashivault:// keys are not built into pin"},
		{"k8s://ns/secret", true, "k8s:// keys are not built into pin"},
		{"pkcs11:token=x;object=y", true, "pkcs11: keys are not built into pin"},
		{"awskms:///", true, "awskms://[ENDPOINT]/[ID/ALIAS/ARN]"},
		{"awskms://not-a-key", true, "awskms://[ENDPOINT]/[ID/ALIAS/ARN]"},
		{"s3://bucket/release.key", true, `unknown key reference scheme "s3://"`},
		{"", true, "empty key reference"},
		{filepath.Join(t.TempDir(), "missing.key"), false, "read private key"},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			_, err := signing.LoadSigner(ctx, tc.ref, o)
			if err == nil {
				t.Fatal("loaded")
			}
			if got := errors.Is(err, signing.ErrKeyRef); got != tc.keyRef {
				t.Errorf("errors.Is(err, ErrKeyRef) = %v, want %v: %v", got, tc.keyRef, err)
			}
			if errors.Is(err, signing.ErrKMS) {
				t.Errorf("no KMS was asked, yet the error wraps ErrKMS: %v", err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not say %q", err, tc.wantMsg)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "PRIVATE KEY-----") {
				t.Errorf("error leaks a secret: %q", err)
			}
		})
	}
}

func TestIsKMSRef(t *testing.T) {
	for ref, want := range map[string]bool{
		"awskms:///alias/pin":         true,
		"awskms://localhost:4566/k":   true,
		"gcpkms://projects/p":         true,
		"hashivault://k":              true,
		"env://PIN_KEY":               false,
		"release.key":                 false,
		"/keys/awskms/release.key":    false,
		"./awskms:///alias/something": false,
	} {
		if got := signing.IsKMSRef(ref); got != want {
			t.Errorf("IsKMSRef(%q) = %v, want %v", ref, got, want)
		}
	}
	if got := strings.Join(signing.BuiltInKMSSchemes(), ","); got != "awskms://" {
		t.Errorf("built-in KMS schemes %q, want awskms://", got)
	}
}
