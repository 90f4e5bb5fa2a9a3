package signing

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature"
)

// badKMS is a key service whose signatures do not match its public key, as
// an emulator that signed a different digest did.
type badKMS struct {
	signature.SignerVerifier
	corrupt bool
}

func (b badKMS) SignMessage(m io.Reader, opts ...signature.SignOption) ([]byte, error) {
	raw, err := b.SignerVerifier.SignMessage(m, opts...)
	if err == nil && b.corrupt {
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		osv, _ := signature.LoadECDSASignerVerifier(other, crypto.SHA256)
		data := []byte("something else")
		return osv.SignMessage(bytes.NewReader(data))
	}
	return raw, err
}

func TestSignBlobChecksItsOwnSignature(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		corrupt bool
	}{{"good key service", false}, {"key service signing badly", true}} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSigner(badKMS{SignerVerifier: sv, corrupt: tt.corrupt})
			if err != nil {
				t.Fatal(err)
			}
			sig, err := s.SignBlob(context.Background(), []byte("release bytes"))
			if tt.corrupt {
				if !errors.Is(err, ErrSelfCheck) || sig != nil {
					t.Fatalf("bad signature returned: %q, %v; want ErrSelfCheck", sig, err)
				}
				return
			}
			if err != nil || len(sig) == 0 {
				t.Fatalf("good signature refused: %v", err)
			}
		})
	}
}

// TestAWSKeyWithoutRegion: with no region anywhere, the SDK would say
// "endpoint rule error"; pin says what to set, as a key reference error.
func TestAWSKeyWithoutRegion(t *testing.T) {
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	_, err := LoadSigner(context.Background(), "awskms:///alias/storage-service-releases", KeyRefOptions{})
	if !errors.Is(err, ErrKeyRef) || !strings.Contains(err.Error(), "set AWS_REGION") {
		t.Fatalf("no region: %v; want a key reference error saying to set AWS_REGION", err)
	}
	for ref, want := range map[string]string{
		"awskms:///arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab": "eu-west-1",
		"awskms://localhost:4566/arn:aws-cn:kms:cn-north-1:111122223333:alias/x":                "cn-north-1",
		"awskms:///alias/storage-service-releases":                                              "",
	} {
		if got := arnRegion(ref); got != want {
			t.Errorf("arnRegion(%q) = %q, want %q", ref, got, want)
		}
	}
}
