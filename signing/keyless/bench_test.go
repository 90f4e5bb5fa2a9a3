//go:build !nokeyless

package keyless_test

import (
	"context"
	"testing"

	"github.com/wellcomecollection/pin/signing"
	"github.com/wellcomecollection/pin/signing/keyless"
	"github.com/wellcomecollection/pin/signing/keyless/keylesstest"
)

// BenchmarkVerifyBundle is the consumer's added cost per document: one
// bundle checked (certificate chain, identity, Rekor entry and its inclusion
// proof, signature). BenchmarkVerifyKeySignature is what a key costs instead.
func BenchmarkVerifyBundle(b *testing.B) {
	ss := keylesstest.New(b)
	doc := []byte(`{"kind":"Channel","sequence":1}`)
	s, err := keyless.NewSigner(ss.SignerOptions(keylesstest.GitHubActions(repo, workflow, main, "push")))
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := s.SignBundle(context.Background(), doc)
	if err != nil {
		b.Fatal(err)
	}
	v, err := keyless.NewVerifier(ss.TrustedRoot(), []keyless.Identity{releaseWorkflow})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.VerifyBundle(context.Background(), doc, bundle); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyKeySignature(b *testing.B) {
	s, err := signing.NewEphemeralSigner()
	if err != nil {
		b.Fatal(err)
	}
	doc := []byte(`{"kind":"Channel","sequence":1}`)
	sig, err := s.SignBlob(context.Background(), doc)
	if err != nil {
		b.Fatal(err)
	}
	pub, _ := s.PublicKeyPEM()
	v, err := signing.NewVerifier(map[string][]byte{"k": pub})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.VerifyBlob(context.Background(), doc, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadTrustedRoot is the once-per-run cost of reading trusted_root.json.
func BenchmarkLoadTrustedRoot(b *testing.B) {
	ss := keylesstest.New(b)
	p := ss.WriteTrustedRoot(b, b.TempDir())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := keyless.LoadTrustedRoot(p); err != nil {
			b.Fatal(err)
		}
	}
}
