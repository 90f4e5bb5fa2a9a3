package channels

import (
	"context"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/signing"
)

// TestResignWithoutRoot: a store without a root, its release key rotated the
// pre-root way (previousKeys). Resign signs with the new key first and keeps
// the old key's signature; a consumer listing only the old key, and one
// listing only the new key, both verify the release; the bytes never
// change; a rerun writes nothing; without previousKeys the old release is
// not vouched for (exit 3).
func TestResignWithoutRoot(t *testing.T) {
	ctx := context.Background()
	pub, _, clk := newPublisher(t)
	if _, err := pub.Create(ctx, testRelease("1.0.0", "a"), Stable, time.Hour); err != nil {
		t.Fatal(err)
	}
	before, err := pub.Store.GetRelease(ctx, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	oldPEM, _ := pub.Signer.PublicKeyPEM()
	newSigner, newVerifier := newKey(t)

	cases := []struct {
		name      string
		alsoTrust map[string][]byte
		wantCode  int
		unchanged bool
	}{
		{"without previousKeys the old signatures vouch for nothing", nil, exitcode.Trust, false},
		{"with previousKeys", map[string][]byte{"old": oldPEM}, 0, false},
		{"a rerun changes nothing", map[string][]byte{"old": oldPEM}, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &Publisher{Store: pub.Store, Signer: newSigner, Product: product, Now: clk.Now, AlsoTrust: tc.alsoTrust}
			out, err := p.Resign(ctx, nil)
			if got := exitcode.Of(err); got != tc.wantCode {
				t.Fatalf("exit %d, want %d: %v", got, tc.wantCode, err)
			}
			if err != nil {
				if after, _ := pub.Store.GetRelease(ctx, "1.0.0"); !SameSignatures(after, before) {
					t.Fatal("a refused resign changed the signatures")
				}
				return
			}
			if len(out) != 1 || out[0].Version != "1.0.0" || out[0].Unchanged != tc.unchanged {
				t.Fatalf("resign: %+v", out)
			}
			doc, err := pub.Store.GetRelease(ctx, "1.0.0")
			if err != nil || string(doc.Bytes) != string(before.Bytes) {
				t.Fatalf("bytes changed or unreadable: %v", err)
			}
			if string(doc.More[0].Sig) != string(before.Signature) {
				t.Fatalf("the old key's signature was not kept: %+v", doc.More)
			}
			// A keys: consumer trusting only one of the two keys verifies it:
			// any of a document's signatures may be the listed key's.
			oldV := newVerifierFromPEM(t, oldPEM)
			for name, v := range map[string]SignatureVerifier{"old key only": Keys(oldV), "new key only": Keys(newVerifier)} {
				tr, err := NewTrusted(v, TrustOptions{Product: product})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tr.UpdatePinnedRelease(ctx, "1.0.0", out[0].Digest, doc); err != nil {
					t.Fatalf("a consumer trusting the %s: %v", name, err)
				}
			}
		})
	}
}

func newVerifierFromPEM(t *testing.T, pem []byte) *signing.Verifier {
	t.Helper()
	v, err := signing.NewVerifier(map[string][]byte{"k": pem})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
