package channels

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/wellcomecollection/pin/signing"
)

// wrongKeyKMS signs with another key than the public key it reports: an
// emulated KMS that produced bad signatures.
type wrongKeyKMS struct {
	signature.SignerVerifier
	other signature.SignerVerifier
}

func (w wrongKeyKMS) SignMessage(m io.Reader, opts ...signature.SignOption) ([]byte, error) {
	return w.other.SignMessage(m, opts...)
}

// TestCreateWithBadSignaturesPublishesNothing: a key whose signatures do
// not verify is noticed before anything is written, and is no trust error.
func TestCreateWithBadSignaturesPublishesNothing(t *testing.T) {
	load := func() signature.SignerVerifier {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		sv, err := signature.LoadECDSASignerVerifier(k, crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		return sv
	}
	s, err := signing.NewSigner(wrongKeyKMS{SignerVerifier: load(), other: load()})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pub := &Publisher{Store: NewDirStore(dir), Signer: s, Product: product, Now: func() time.Time { return t0 }}
	_, err = pub.Create(context.Background(), testRelease("1.0.0-edge.1", "a"), Edge, time.Hour)
	if !errors.Is(err, signing.ErrSelfCheck) || errors.Is(err, signing.ErrSignature) {
		t.Fatalf("create with a badly signing key: %v; want ErrSelfCheck, not a signature (trust) failure", err)
	}
	for _, sub := range []string{"releases", "channels"} {
		if entries, _ := os.ReadDir(dir + "/" + sub); len(entries) > 0 {
			t.Fatalf("%s written by a failed create: %v", sub, entries)
		}
	}
}
