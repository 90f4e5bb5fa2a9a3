package channels

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
)

// Reader fetches channel indexes and releases from a store and hands them to
// its Trusted value, which decides whether they are trusted, before anything
// acts on them.
type Reader struct {
	Store ReadStore
	Trust *Trusted
}

// NewReader reads store with a new Trusted value over anchor.
func NewReader(store ReadStore, anchor SignatureVerifier, o TrustOptions) (*Reader, error) {
	t, err := NewTrusted(anchor, o)
	if err != nil {
		return nil, err
	}
	return &Reader{Store: store, Trust: t}, nil
}

// republishWait is how long a reader waits before reading an index again
// whose signature did not match (a publish may have been under way).
var republishWait = 300 * time.Millisecond

// Channel fetches and verifies a channel index. A missing channel wraps
// ErrNotFound (and is a trust error when the index was known before); every
// verification failure is a *TrustError (exit 3).
func (r *Reader) Channel(ctx context.Context, channel string) (*VerifiedChannel, error) {
	doc, err := r.Store.GetChannel(ctx, channel)
	if errors.Is(err, ErrNotFound) {
		if herr := r.Trust.ChannelMissing(channel, r.Store.String()); herr != nil {
			return nil, fmt.Errorf("%w (%w)", herr, err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("fetch channel %s from %s: %w", channel, r.Store, err)
	}
	vc, err := r.Trust.UpdateChannel(ctx, channel, doc)
	if errors.Is(err, signing.ErrSignature) {
		// A directory store is written signature first: a read racing a
		// publish sees the new signature over the old bytes. Read once more.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(republishWait):
		}
		if again, gerr := r.Store.GetChannel(ctx, channel); gerr == nil {
			vc, err = r.Trust.UpdateChannel(ctx, channel, again)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("channel %s from %s: %w", channel, r.Store, err)
	}
	return vc, nil
}

// Release fetches the release a trusted index entry points to and verifies it.
func (r *Reader) Release(ctx context.Context, e manifest.Entry) (*VerifiedRelease, error) {
	doc, err := r.Store.GetRelease(ctx, e.Version)
	if err != nil {
		return nil, fmt.Errorf("fetch release %s from %s: %w", e.Version, r.Store, err)
	}
	vr, err := r.Trust.UpdateRelease(ctx, e.Version, doc)
	if errors.Is(err, signing.ErrSignature) {
		// Read once more: a release's signatures change when it is re-signed
		// after a release-key rotation (pin release resign), and a read may
		// race that, or come from a cache that kept the old signatures (a
		// cache then answers a second read from the store).
		if again, gerr := r.Store.GetRelease(ctx, e.Version); gerr == nil {
			vr, err = r.Trust.UpdateRelease(ctx, e.Version, again)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("release %s from %s: %w", e.Version, r.Store, err)
	}
	return vr, nil
}
