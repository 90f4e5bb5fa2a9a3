package channels

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
)

// Reader fetches channel indexes and releases from a store and verifies them
// as DESIGN.md's trust model says, before anything acts on them.
type Reader struct {
	Store    Store
	Verifier *signing.Verifier
	// IndexVerifier, when set, gives the verifier of one channel's index (a
	// root of trust's index role for it); Verifier then checks releases only.
	IndexVerifier func(channel string) (*signing.Verifier, error)
	Product       string           // required product inside the signed bytes
	Now           func() time.Time // defaults to time.Now
	// AllowExpired returns an expired index (marked Expired) instead of
	// failing: for reports that list expiry as a finding.
	AllowExpired bool
}

// republishWait is how long a reader waits before reading an index again
// whose signature did not match (a publish may have been under way).
var republishWait = 300 * time.Millisecond

// ErrExpired is wrapped by the trust error for an expired channel index.
var ErrExpired = errors.New("channel index expired")

// VerifiedChannel is a channel index whose signature, product, channel and
// expiry have been checked.
type VerifiedChannel struct {
	Index  *manifest.Channel
	Doc    Document
	Digest string // sha256 of Doc.Bytes
	KeyID  string // the trusted key that signed it
	// Expired is set when the index has expired and the reader allowed it.
	Expired bool
}

// VerifiedRelease is a release manifest whose digest, signature, product and
// version have been checked.
type VerifiedRelease struct {
	Release *manifest.Release
	Doc     Document
	Digest  string
	KeyID   string
}

func (r *Reader) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Channel fetches and verifies a channel index. A missing channel wraps
// ErrNotFound; every verification failure is a trust error (exit 3).
func (r *Reader) Channel(ctx context.Context, channel string) (*VerifiedChannel, error) {
	doc, err := r.Store.GetChannel(ctx, channel)
	if err != nil {
		return nil, fmt.Errorf("fetch channel %s from %s: %w", channel, r.Store, err)
	}
	v := r.Verifier
	if r.IndexVerifier != nil {
		if v, err = r.IndexVerifier(channel); err != nil {
			return nil, exitcode.TrustError(fmt.Errorf("channel %s: %w", channel, err))
		}
	}
	vc, err := VerifyChannel(ctx, v, doc, manifest.Expect{Product: r.Product, Channel: channel}, r.now())
	if errors.Is(err, signing.ErrSignature) {
		// A directory store is written signature first: a read racing a
		// publish sees the new signature over the old bytes. Read once more.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(republishWait):
		}
		if again, gerr := r.Store.GetChannel(ctx, channel); gerr == nil {
			doc = again
			vc, err = VerifyChannel(ctx, v, doc, manifest.Expect{Product: r.Product, Channel: channel}, r.now())
		}
	}
	if errors.Is(err, ErrExpired) && r.AllowExpired {
		// Everything but the expiry verified; keep the index, marked.
		var ee *expiredError
		if errors.As(err, &ee) {
			vc, err = ee.vc, nil
			vc.Expired = true
		}
	}
	if err != nil {
		return nil, fmt.Errorf("channel %s from %s: %w", channel, r.Store, err)
	}
	return vc, nil
}

// VerifyChannel checks a channel document: signature by a trusted key, strict
// decoding, product and channel as expected, the versions the channel may
// hold, and not expired at now (a zero now skips the expiry check).
func VerifyChannel(ctx context.Context, v *signing.Verifier, doc Document, want manifest.Expect, now time.Time) (*VerifiedChannel, error) {
	keyIDs, err := v.VerifyBlobs(ctx, doc.Bytes, doc.Signatures())
	if err != nil {
		return nil, exitcode.TrustError(err)
	}
	keyID := keyIDs[0]
	idx, err := manifest.DecodeChannel(doc.Bytes, want)
	if err != nil {
		return nil, exitcode.TrustError(err)
	}
	// A signed but mis-built index must not hand prereleases to stable consumers.
	if ValidName(idx.Channel) == nil {
		for _, e := range idx.Releases {
			if _, err := CheckVersion(idx.Channel, e.Version); err != nil {
				return nil, exitcode.TrustError(fmt.Errorf("channel %s lists %s, which it may not hold: %w", idx.Channel, e.Version, err))
			}
		}
	}
	vc := &VerifiedChannel{Index: idx, Doc: doc, Digest: manifest.Digest(doc.Bytes), KeyID: keyID}
	if !now.IsZero() && !now.Before(idx.Expires) {
		return nil, exitcode.TrustError(&expiredError{vc: vc})
	}
	return vc, nil
}

// expiredError is an index that verified in every way but expiry; it keeps
// the index for readers that report expiry rather than refuse it.
type expiredError struct{ vc *VerifiedChannel }

func (e *expiredError) Error() string {
	return fmt.Sprintf("%v at %s (sequence %d): the publisher must run `pin channel refresh`", ErrExpired, e.vc.Index.Expires.Format(time.RFC3339), e.vc.Index.Sequence)
}

func (e *expiredError) Unwrap() error { return ErrExpired }

// Release fetches the release an index entry points to and verifies it.
func (r *Reader) Release(ctx context.Context, e manifest.Entry) (*VerifiedRelease, error) {
	doc, err := r.Store.GetRelease(ctx, e.Version)
	if err != nil {
		return nil, fmt.Errorf("fetch release %s from %s: %w", e.Version, r.Store, err)
	}
	vr, err := VerifyRelease(ctx, r.Verifier, doc, e.Digest, manifest.Expect{Product: r.Product, Version: e.Version})
	if err != nil {
		return nil, fmt.Errorf("release %s from %s: %w", e.Version, r.Store, err)
	}
	return vr, nil
}

// VerifyRelease checks a release document: its bytes hash to wantDigest (the
// digest the signed index lists; skipped when empty), the signature is by a
// trusted key, and it decodes strictly to the expected product and version.
func VerifyRelease(ctx context.Context, v *signing.Verifier, doc Document, wantDigest string, want manifest.Expect) (*VerifiedRelease, error) {
	got := manifest.Digest(doc.Bytes)
	if wantDigest != "" && got != wantDigest {
		return nil, exitcode.TrustError(fmt.Errorf("manifest digest %s does not match %s listed by the signed channel index", got, wantDigest))
	}
	keyIDs, err := v.VerifyBlobs(ctx, doc.Bytes, doc.Signatures())
	if err != nil {
		return nil, exitcode.TrustError(err)
	}
	keyID := keyIDs[0]
	rel, err := manifest.DecodeRelease(doc.Bytes, want)
	if err != nil {
		return nil, exitcode.TrustError(err)
	}
	return &VerifiedRelease{Release: rel, Doc: doc, Digest: got, KeyID: keyID}, nil
}

// CheckRollback compares a freshly verified index with the sequence and digest
// a consumer recorded last time: a lower sequence is a rollback, the same
// sequence with other bytes is a fork. Both are trust errors.
func CheckRollback(vc *VerifiedChannel, lockedSequence int64, lockedDigest string) error {
	seq := vc.Index.Sequence
	switch {
	case seq < lockedSequence:
		return exitcode.TrustError(fmt.Errorf("channel %s: sequence %d is below %d recorded in pin.lock (rollback attack or stale mirror)", vc.Index.Channel, seq, lockedSequence))
	case seq == lockedSequence && lockedDigest != "" && vc.Digest != lockedDigest:
		return exitcode.TrustError(fmt.Errorf("channel %s: sequence %d has different bytes (%s) from those recorded in pin.lock (%s)", vc.Index.Channel, seq, vc.Digest, lockedDigest))
	}
	return nil
}

// IsNotFound reports whether err says a store lacks the channel or release.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
