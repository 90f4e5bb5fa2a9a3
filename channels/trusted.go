package channels

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
)

// This file is the one place that decides whether a document from a store is
// trusted, in the spirit of go-tuf v2's trustedmetadata: a Trusted value
// starts from a trust anchor (who may sign what) and accepts documents in one
// order, channel indexes before the releases they list, each checked against
// what it already trusts. Every reader (update, check, audit, mirror, init,
// the inspection commands) and the publisher go through it; no other code
// calls a signature verifier on a store's document.

// Role names what a signature vouches for. The trust anchor may require
// different signers (and, with a root document, thresholds) per role.
type Role string

const (
	// RoleIndex signs channel indexes (the online key a scheduled refresh uses).
	RoleIndex Role = "index"
	// RoleRelease signs release manifests.
	RoleRelease Role = "release"
)

// Signed is what a SignatureVerifier is asked about: a document, the role
// its signatures must satisfy, and the channel it belongs to (an index's own
// channel; for a release, the channel whose trusted index lists it, or ""),
// so that an anchor may demand more of stable than of edge.
type Signed struct {
	Role    Role
	Channel string
	Doc     Document
}

// SignatureVerifier is the trust anchor's seam: it decides whether a
// document's signatures satisfy its role, and names the signers that
// verified. A key list (Keys), a root document with per-role keys and
// thresholds, or keyless Sigstore identities implement it; Trusted never
// looks at keys itself. A refusal must wrap signing.ErrSignature (a reader
// retries a channel index once on it, as a directory store is written
// signature first).
type SignatureVerifier interface {
	VerifySignatures(ctx context.Context, s Signed) (signers []string, err error)
}

// Keys is today's trust anchor: any one of the listed public keys, or of the
// keyless identities the verifier trusts (a Sigstore bundle), may sign any
// document, whatever its role.
func Keys(v *signing.Verifier) SignatureVerifier { return keyList{v} }

type keyList struct{ v *signing.Verifier }

func (k keyList) VerifySignatures(ctx context.Context, s Signed) ([]string, error) {
	id, err := k.v.VerifyDocument(ctx, s.Doc.Bytes, s.Doc.Signature, s.Doc.Bundle)
	// Any one listed key may sign: a further signature (a release re-signed
	// after a key rotation carries the old key's beside the new one's) is as
	// good as the first.
	for _, more := range s.Doc.More {
		if err == nil || !errors.Is(err, signing.ErrSignature) {
			break
		}
		if mid, merr := k.v.VerifyBlob(ctx, s.Doc.Bytes, []byte(more.Sig)); merr == nil {
			id, err = mid, nil
		}
	}
	if err != nil {
		return nil, err
	}
	return []string{id}, nil
}

// Mode says which checks a Trusted value relaxes. Modes are ordered: each
// relaxes what the one before it does, and one thing more.
type Mode int

const (
	// Enforce checks everything: what update, mirror and init act on.
	Enforce Mode = iota
	// ReportExpired keeps an index that verified in every way but expiry,
	// marked Expired, for callers that report expiry as a finding (check
	// --online, audit) or re-sign the index anyway (the publisher).
	ReportExpired
	// Inspect also verifies a release that no trusted index lists (a release
	// published but never listed), by its signature alone, marked Unlisted:
	// for commands that show a store's documents.
	Inspect
	// Unverified checks no signature (there is no anchor): documents are
	// decoded and checked for product, channel, version and digests, and
	// marked Unverified. For reading what a product's components are when
	// trust failed (audit), and for showing a store without a key.
	Unverified
)

// Typed trust failures. Every error Trusted returns is a *TrustError that
// wraps one of these (and the detail), so callers can tell them apart with
// errors.Is; cmd/pin maps every one to exit 3.
var (
	// ErrExpired: the channel index is past its expiry.
	ErrExpired = errors.New("channel index expired")
	// ErrRollback: a lower sequence than one trusted before.
	ErrRollback = errors.New("channel index rolled back")
	// ErrFork: the same sequence as one trusted before, with other bytes.
	ErrFork = errors.New("channel index forked")
	// ErrHidden: an index trusted before is missing from the store.
	ErrHidden = errors.New("channel index hidden")
	// ErrDigest: a release whose bytes do not hash to the digest its trusted listing names.
	ErrDigest = errors.New("release digest mismatch")
	// ErrUnlisted: a release no trusted index lists.
	ErrUnlisted = errors.New("release not listed")
	// ErrInvalid: a signed document that does not decode strictly, is for
	// another product, channel or version, or lists what its channel may not hold.
	ErrInvalid = errors.New("invalid document")
)

// TrustError is a document Trusted refused. It unwraps to its kind (one of
// the Err* values, or signing.ErrSignature) and to the detail.
type TrustError struct {
	Kind error
	Err  error
}

func (e *TrustError) Error() string   { return e.Err.Error() }
func (e *TrustError) Unwrap() []error { return []error{e.Kind, e.Err} }

// ExitCode classifies every trust failure as exit 3.
func (e *TrustError) ExitCode() int { return exitcode.Trust }

func refuse(kind, err error) error { return &TrustError{Kind: kind, Err: err} }

// KnownIndex is a channel index a consumer trusted on an earlier run.
type KnownIndex struct {
	Sequence int64
	Digest   string
}

// TrustOptions configure a Trusted value.
type TrustOptions struct {
	// Product is required inside every document; empty accepts the product
	// the first trusted index names, and then requires it of the rest.
	Product string
	Mode    Mode
	Now     func() time.Time // defaults to time.Now
	// Known are the indexes trusted on earlier runs, by channel (pin.lock's):
	// a lower sequence is a rollback, the same one with other bytes a fork,
	// and a missing one is hidden. KnownSource names them in messages.
	Known       map[string]KnownIndex
	KnownSource string
}

// Trusted is the trusted state of one reading of a store: the anchor, then
// the channel indexes verified so far, then releases checked against them.
// It is used by one goroutine at a time.
type Trusted struct {
	anchor   SignatureVerifier
	o        TrustOptions
	product  string
	channels map[string]*VerifiedChannel
}

// NewTrusted starts from anchor, which may be nil only in Unverified mode.
func NewTrusted(anchor SignatureVerifier, o TrustOptions) (*Trusted, error) {
	if anchor == nil && o.Mode != Unverified {
		return nil, exitcode.UsageError(errors.New("no trust anchor: a reader needs trusted keys"))
	}
	if o.KnownSource == "" {
		o.KnownSource = "an earlier run"
	}
	return &Trusted{anchor: anchor, o: o, product: o.Product, channels: map[string]*VerifiedChannel{}}, nil
}

// Fresh returns a Trusted with the same anchor and product and nothing
// trusted yet, in mode: for verifying another copy of the same documents
// (a mirror's) without mixing its history into this one's.
func (t *Trusted) Fresh(mode Mode) *Trusted {
	return &Trusted{anchor: t.anchor, o: TrustOptions{Product: t.product, Mode: mode, Now: t.o.Now, KnownSource: t.o.KnownSource}, product: t.product, channels: map[string]*VerifiedChannel{}}
}

// Product is the product every trusted document names ("" before the first).
func (t *Trusted) Product() string { return t.product }

// Mode is the mode t was made with.
func (t *Trusted) Mode() Mode { return t.o.Mode }

// Channel returns the trusted index of a channel, or nil.
func (t *Trusted) Channel(name string) *VerifiedChannel { return t.channels[name] }

// Channels returns every trusted index by channel name.
func (t *Trusted) Channels() map[string]*VerifiedChannel {
	out := make(map[string]*VerifiedChannel, len(t.channels))
	for n, vc := range t.channels {
		out[n] = vc
	}
	return out
}

func (t *Trusted) now() time.Time {
	if t.o.Now != nil {
		return t.o.Now()
	}
	return time.Now()
}

// VerifiedChannel is a channel index Trusted accepted.
type VerifiedChannel struct {
	Index  *manifest.Channel
	Doc    Document
	Digest string   // sha256 of Doc.Bytes
	Signer []string // the signers the anchor accepted (none when Unverified)
	// Expired is set when the index has expired and the mode allowed it.
	Expired bool
	// Unverified is set when no signature was checked (Unverified mode).
	Unverified bool
}

// VerifiedRelease is a release manifest Trusted accepted.
type VerifiedRelease struct {
	Release *manifest.Release
	Doc     Document
	Digest  string
	Signer  []string
	// Channel is the channel whose trusted index lists the release ("" when
	// it was checked against a recorded digest, or is Unlisted).
	Channel string
	// Unlisted is set when no trusted index lists the release (Inspect mode).
	Unlisted   bool
	Unverified bool
}

func (t *Trusted) verifySignatures(ctx context.Context, s Signed) ([]string, error) {
	if t.o.Mode == Unverified {
		return nil, nil
	}
	signers, err := t.anchor.VerifySignatures(ctx, s)
	if err != nil && !errors.Is(err, signing.ErrSignature) {
		// Not a refusal: the signatures could not be checked (a keyless
		// identity's Sigstore trusted root could not be fetched). Operational.
		return nil, fmt.Errorf("verify signatures of %s: %w", s.Role, err)
	}
	if err != nil {
		return nil, refuse(signing.ErrSignature, err)
	}
	return signers, nil
}

// UpdateChannel verifies doc as channel name's index: signatures for the
// index role, strict decoding, product and channel, the versions the channel
// may hold, no rollback or fork against what is known or was trusted before,
// and expiry as the mode says. The index then becomes trusted, replacing an
// older one.
func (t *Trusted) UpdateChannel(ctx context.Context, name string, doc Document) (*VerifiedChannel, error) {
	signers, err := t.verifySignatures(ctx, Signed{Role: RoleIndex, Channel: name, Doc: doc})
	if err != nil {
		return nil, err
	}
	idx, err := manifest.DecodeChannel(doc.Bytes, manifest.Expect{Product: t.product, Channel: name})
	if err != nil {
		return nil, refuse(ErrInvalid, err)
	}
	// A signed but mis-built index must not hand prereleases to stable consumers.
	if ValidName(idx.Channel) == nil {
		for _, e := range idx.Releases {
			if _, err := CheckVersion(idx.Channel, e.Version); err != nil {
				return nil, refuse(ErrInvalid, fmt.Errorf("channel %s lists %s, which it may not hold: %w", idx.Channel, e.Version, err))
			}
		}
	}
	vc := &VerifiedChannel{Index: idx, Doc: doc, Digest: manifest.Digest(doc.Bytes), Signer: signers, Unverified: t.o.Mode == Unverified}
	if k, ok := t.o.Known[name]; ok {
		if err := checkSequence(vc, k, t.o.KnownSource); err != nil {
			return nil, err
		}
	}
	if prev := t.channels[name]; prev != nil {
		if err := checkSequence(vc, KnownIndex{Sequence: prev.Index.Sequence, Digest: prev.Digest}, "this run"); err != nil {
			return nil, err
		}
	}
	if !t.now().Before(idx.Expires) {
		if t.o.Mode == Enforce {
			return nil, refuse(ErrExpired, &expiredError{vc: vc})
		}
		vc.Expired = true
	}
	if t.product == "" {
		t.product = idx.Product // the first index read names the product for the rest
	}
	t.channels[name] = vc
	return vc, nil
}

// checkSequence compares an index with one trusted before: a lower sequence
// is a rollback, the same sequence with other bytes a fork.
func checkSequence(vc *VerifiedChannel, k KnownIndex, source string) error {
	seq := vc.Index.Sequence
	switch {
	case seq < k.Sequence:
		return refuse(ErrRollback, fmt.Errorf("channel %s: sequence %d is below %d recorded in %s (rollback attack or stale mirror)", vc.Index.Channel, seq, k.Sequence, source))
	case seq == k.Sequence && k.Digest != "" && vc.Digest != k.Digest:
		return refuse(ErrFork, fmt.Errorf("channel %s: sequence %d has different bytes (%s) from those recorded in %s (%s)", vc.Index.Channel, seq, vc.Digest, source, k.Digest))
	}
	return nil
}

// ChannelMissing is told that the store has no index for channel name. It
// is an error when that index was known: a store that hides an index could
// hide yanks and fixes.
func (t *Trusted) ChannelMissing(name, store string) error {
	if k, ok := t.o.Known[name]; ok {
		return refuse(ErrHidden, fmt.Errorf("channel %s was at sequence %d in %s and is now missing from %s: a store that hides an index could hide yanks and fixes", name, k.Sequence, t.o.KnownSource, store))
	}
	return nil
}

// listing finds the trusted index entry for version.
func (t *Trusted) listing(version string) (manifest.Entry, string, bool) {
	names := make([]string, 0, len(t.channels))
	for n := range t.channels {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if e, ok := t.channels[n].Index.Entry(version); ok {
			return e, n, true
		}
	}
	return manifest.Entry{}, "", false
}

// UpdateRelease verifies doc as release version, which a trusted index must
// list (Inspect and Unverified modes also accept an unlisted one, marked):
// its bytes hash to the listed digest, its signatures satisfy the release
// role, and it decodes strictly to the product and version.
func (t *Trusted) UpdateRelease(ctx context.Context, version string, doc Document) (*VerifiedRelease, error) {
	e, channel, listed := t.listing(version)
	if !listed && t.o.Mode < Inspect {
		return nil, refuse(ErrUnlisted, fmt.Errorf("release %s is not listed by a trusted channel index", version))
	}
	return t.release(ctx, version, e.Digest, channel, !listed, doc)
}

// UpdatePinnedRelease verifies doc as release version whose digest the
// consumer recorded (pin.lock), with no index needed; an index trusted in
// this run that lists the version must list the same digest.
func (t *Trusted) UpdatePinnedRelease(ctx context.Context, version, digest string, doc Document) (*VerifiedRelease, error) {
	if e, channel, ok := t.listing(version); ok && e.Digest != digest {
		return nil, refuse(ErrDigest, fmt.Errorf("channel %s lists %s with digest %s, %s has %s", channel, version, e.Digest, t.o.KnownSource, digest))
	}
	return t.release(ctx, version, digest, "", false, doc)
}

func (t *Trusted) release(ctx context.Context, version, digest, channel string, unlisted bool, doc Document) (*VerifiedRelease, error) {
	got := manifest.Digest(doc.Bytes)
	if digest != "" && got != digest {
		return nil, refuse(ErrDigest, fmt.Errorf("manifest digest %s does not match %s listed by the signed channel index", got, digest))
	}
	signers, err := t.verifySignatures(ctx, Signed{Role: RoleRelease, Channel: channel, Doc: doc})
	if err != nil {
		return nil, err
	}
	rel, err := manifest.DecodeRelease(doc.Bytes, manifest.Expect{Product: t.product, Version: version})
	if err != nil {
		return nil, refuse(ErrInvalid, err)
	}
	if t.product == "" {
		t.product = rel.Product
	}
	return &VerifiedRelease{Release: rel, Doc: doc, Digest: got, Signer: signers, Channel: channel, Unlisted: unlisted, Unverified: t.o.Mode == Unverified}, nil
}

// expiredError is an index that verified in every way but expiry.
type expiredError struct{ vc *VerifiedChannel }

func (e *expiredError) Error() string {
	return fmt.Sprintf("%v at %s (sequence %d): the publisher has not refreshed it", ErrExpired, e.vc.Index.Expires.Format(time.RFC3339), e.vc.Index.Sequence)
}

// IsNotFound reports whether err says a store lacks the channel or release.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
