package channels

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/signing"
)

// trustWorld is a store with edge 1.5.0-edge.1 (listed) and 1.6.0-edge.1
// (published but never listed), signed by one key, and another key.
type trustWorld struct {
	pub    *Publisher
	keys   SignatureVerifier
	other  SignatureVerifier
	clk    *clock
	edge   Document
	listed Document
	orphan Document
}

func newTrustWorld(t *testing.T) *trustWorld {
	t.Helper()
	ctx := context.Background()
	pub, _, clk := newPublisher(t)
	if _, err := pub.Create(ctx, testRelease("1.5.0-edge.1", "a"), Edge, time.Hour); err != nil {
		t.Fatal(err)
	}
	// A release published but not listed, as a create that failed half-way leaves it.
	orphan := testRelease("1.6.0-edge.1", "b")
	orphan.Created = t0
	b, err := orphan.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := pub.Signer.SignBlob(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Store.(*DirStore).PutRelease(ctx, "1.6.0-edge.1", Document{Bytes: b, Signature: sig}); err != nil {
		t.Fatal(err)
	}
	_, otherV := newKey(t)
	w := &trustWorld{pub: pub, keys: Keys(mustVerifier(t, pub.Signer)), other: Keys(otherV), clk: clk}
	if w.edge, err = pub.Store.GetChannel(ctx, Edge); err != nil {
		t.Fatal(err)
	}
	if w.listed, err = pub.Store.GetRelease(ctx, "1.5.0-edge.1"); err != nil {
		t.Fatal(err)
	}
	w.orphan = Document{Bytes: b, Signature: sig}
	return w
}

// TestTrustedModes: each mode relaxes exactly what it says, and every
// refusal is a typed *TrustError with exit code 3.
func TestTrustedModes(t *testing.T) {
	w := newTrustWorld(t)
	expired := func() time.Time { return t0.Add(2 * time.Hour) }
	fresh := func() time.Time { return t0 }
	tests := []struct {
		name    string
		anchor  func(w *trustWorld) SignatureVerifier
		o       TrustOptions
		release string // read after edge; "" reads none
		pinned  string // a digest to check the release against instead of the index
		wantErr error  // nil: accepted
		check   func(t *testing.T, vc *VerifiedChannel, vr *VerifiedRelease)
	}{
		{name: "enforce accepts a fresh index and its release", o: TrustOptions{Product: product, Now: fresh}, release: "1.5.0-edge.1",
			check: func(t *testing.T, vc *VerifiedChannel, vr *VerifiedRelease) {
				if vc.Expired || vc.Unverified || len(vc.Signer) != 1 || vr.Channel != Edge || vr.Unlisted {
					t.Errorf("index %+v release channel %q unlisted %v", vc, vr.Channel, vr.Unlisted)
				}
			}},
		{name: "enforce refuses an expired index", o: TrustOptions{Product: product, Now: expired}, wantErr: ErrExpired},
		{name: "report-expired keeps it, marked", o: TrustOptions{Product: product, Now: expired, Mode: ReportExpired},
			check: func(t *testing.T, vc *VerifiedChannel, _ *VerifiedRelease) {
				if !vc.Expired {
					t.Error("expired index not marked Expired")
				}
			}},
		{name: "another key is refused", anchor: func(w *trustWorld) SignatureVerifier { return w.other }, o: TrustOptions{Product: product, Now: fresh}, wantErr: signing.ErrSignature},
		{name: "another product is refused", o: TrustOptions{Product: "other-product", Now: fresh}, wantErr: ErrInvalid},
		{name: "no product: the index names it", o: TrustOptions{Now: fresh}, release: "1.5.0-edge.1"},
		{name: "rollback below a known sequence", o: TrustOptions{Product: product, Now: fresh, Known: map[string]KnownIndex{Edge: {Sequence: 2}}}, wantErr: ErrRollback},
		{name: "fork at a known sequence", o: TrustOptions{Product: product, Now: fresh, Known: map[string]KnownIndex{Edge: {Sequence: 1, Digest: digestOf("x")}}}, wantErr: ErrFork},
		{name: "enforce refuses an unlisted release", o: TrustOptions{Product: product, Now: fresh}, release: "1.6.0-edge.1", wantErr: ErrUnlisted},
		{name: "report-expired refuses an unlisted release too", o: TrustOptions{Product: product, Now: fresh, Mode: ReportExpired}, release: "1.6.0-edge.1", wantErr: ErrUnlisted},
		{name: "inspect shows an unlisted release, marked", o: TrustOptions{Product: product, Now: fresh, Mode: Inspect}, release: "1.6.0-edge.1",
			check: func(t *testing.T, _ *VerifiedChannel, vr *VerifiedRelease) {
				if !vr.Unlisted || vr.Channel != "" {
					t.Errorf("unlisted release: %+v", vr)
				}
			}},
		{name: "inspect still checks the release signature", anchor: func(w *trustWorld) SignatureVerifier { return w.other }, o: TrustOptions{Product: product, Now: fresh, Mode: Inspect}, wantErr: signing.ErrSignature},
		{name: "unverified checks no signature", anchor: func(*trustWorld) SignatureVerifier { return nil }, o: TrustOptions{Now: fresh, Mode: Unverified}, release: "1.5.0-edge.1",
			check: func(t *testing.T, vc *VerifiedChannel, vr *VerifiedRelease) {
				if !vc.Unverified || !vr.Unverified || vc.Signer != nil {
					t.Errorf("unverified read not marked: %+v %+v", vc, vr)
				}
			}},
		{name: "a pinned digest the index contradicts", o: TrustOptions{Product: product, Now: fresh}, release: "1.5.0-edge.1", pinned: digestOf("other"), wantErr: ErrDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			anchor := w.keys
			if tt.anchor != nil {
				anchor = tt.anchor(w)
			}
			tr, err := NewTrusted(anchor, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			vc, err := tr.UpdateChannel(ctx, Edge, w.edge)
			var vr *VerifiedRelease
			if err == nil && tt.release != "" {
				doc := w.listed
				if tt.release != "1.5.0-edge.1" {
					doc = w.orphan
				}
				if tt.pinned != "" {
					vr, err = tr.UpdatePinnedRelease(ctx, tt.release, tt.pinned, doc)
				} else {
					vr, err = tr.UpdateRelease(ctx, tt.release, doc)
				}
			}
			if tt.wantErr != nil {
				var te *TrustError
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &te) || exitcode.Of(err) != exitcode.Trust {
					t.Fatalf("got %v (exit %d), want a trust error wrapping %v", err, exitcode.Of(err), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr.Product() != product {
				t.Errorf("product %q after reading, want %q", tr.Product(), product)
			}
			if tt.check != nil {
				tt.check(t, vc, vr)
			}
		})
	}
}

// TestTrustedHidden: a store without an index the consumer knew is refused;
// one it never knew is not.
func TestTrustedHidden(t *testing.T) {
	tr, err := NewTrusted(Keys(mustVerifier(t, newTrustWorld(t).pub.Signer)), TrustOptions{Known: map[string]KnownIndex{Stable: {Sequence: 3}}, KnownSource: "pin.lock"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.ChannelMissing(Stable, "./store"); !errors.Is(err, ErrHidden) || exitcode.Of(err) != exitcode.Trust {
		t.Fatalf("hidden stable: %v", err)
	}
	if err := tr.ChannelMissing(Edge, "./store"); err != nil {
		t.Fatalf("edge was never known: %v", err)
	}
	if _, err := NewTrusted(nil, TrustOptions{}); exitcode.Of(err) != exitcode.Usage {
		t.Fatalf("no anchor outside Unverified: %v", err)
	}
}

// TestTrustedReadsInOrder: a Trusted value never goes back: an index with
// a lower sequence than one it trusted this run is a rollback.
func TestTrustedReadsInOrder(t *testing.T) {
	ctx := context.Background()
	w := newTrustWorld(t)
	tr, err := NewTrusted(w.keys, TrustOptions{Product: product, Now: w.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.pub.Refresh(ctx, Edge, time.Hour); err != nil {
		t.Fatal(err)
	}
	newer, err := w.pub.Store.GetChannel(ctx, Edge)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.UpdateChannel(ctx, Edge, newer); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.UpdateChannel(ctx, Edge, w.edge); !errors.Is(err, ErrRollback) {
		t.Fatalf("older index after a newer one: %v", err)
	}
}
