package pin

import (
	"context"
	"fmt"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/regular"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/trustroot"
)

// InspectTrust is where a command that shows a store's documents (pin
// channel show, pin release show/list/diff) starts trusting, when it is not
// given plain keys: exactly one of a consumer's pin.yaml (its root, with the
// newer roots its pin.lock followed, or its keys: list), a root document the
// user vouches for (as pin.yaml's root: is vouched for), or the fingerprint
// of a root the store publishes (as pin init --root-sha256 takes it).
type InspectTrust struct {
	Config     *Config
	RootFile   string
	RootSHA256 string
	// Product, when set, is required of the root (release.yaml's product).
	Product string
	// Identities checks the CI identities a root lists, when there is no
	// pin.yaml to say how (release.yaml's sigstore:); nil: Sigstore's TUF.
	Identities trustroot.IdentityVerifier
}

// Inspection is the trust a store is shown with.
type Inspection struct {
	// Anchor checks documents: the newest root's roles and thresholds, or a
	// pin.yaml's keys: list.
	Anchor channels.SignatureVerifier
	// Root is the newest root followed (nil for a keys: list).
	Root    *trustroot.Trusted
	Product string
	// Notes are for the user: an expired root, a truncated chain, a keys:
	// list where the store publishes a root.
	Notes []string
}

// Inspect follows the store's roots from where it trusts to the newest, as
// every consumer run does, and returns that root as the trust anchor. Like
// Inspect mode for documents, the newest root's expiry is reported in a note,
// not enforced: a producer inspecting a store whose root lapsed must still
// see what is in it. Everything else is enforced: each newer root must be
// signed by a threshold of the root before it and of its own root keys.
func Inspect(ctx context.Context, store channels.ReadStore, it InspectTrust, now time.Time) (*Inspection, error) {
	if it.Config != nil {
		return inspectConfig(ctx, store, it.Config, now)
	}
	var start *trustroot.Trusted
	switch {
	case it.RootFile != "" && it.RootSHA256 != "":
		return nil, exitcode.UsageError(fmt.Errorf("trust one root: a root file or a fingerprint, not both"))
	case it.RootFile != "":
		b, err := regular.ReadFile(it.RootFile, manifest.MaxRootSize)
		if err != nil {
			return nil, exitcode.UsageError(fmt.Errorf("read the trusted root: %w", err))
		}
		if start, err = trustroot.Parse(trustroot.Signed{Bytes: b}, it.Product); err != nil {
			return nil, exitcode.UsageError(fmt.Errorf("%s: %w", it.RootFile, err))
		}
	case it.RootSHA256 != "":
		var err error
		if start, err = rootByFingerprint(ctx, store, it.RootSHA256); err != nil {
			return nil, err
		}
		if it.Product != "" && start.Root.Product != it.Product {
			return nil, exitcode.TrustError(fmt.Errorf("the root with sha256 %s is for product %q, not %q", it.RootSHA256, start.Root.Product, it.Product))
		}
	default:
		return nil, exitcode.UsageError(fmt.Errorf("no trust given: a pin.yaml, a root file or a root fingerprint"))
	}
	start.Identities = it.Identities
	if start.Identities == nil {
		start.Identities = (&Config{}).IdentityVerifier()
	}
	chain := &trustroot.Chain{Roots: []*trustroot.Trusted{start}}
	if rs, ok := store.(channels.RootReader); ok {
		var err error
		if chain, err = trustroot.Update(ctx, start, channels.RootFetcher(rs), time.Time{}); err != nil {
			return nil, fmt.Errorf("root of trust from %s: %w", store, err)
		}
	}
	rt := &rootTrust{chain: chain, recorded: start}
	return rt.inspection(store, now), nil
}

// inspectConfig trusts what pin.yaml and its pin.lock trust, and follows
// the store's newer roots as pin update would, without its rollback memory:
// an inspection forgets nothing and records nothing.
func inspectConfig(ctx context.Context, store channels.ReadStore, cfg *Config, now time.Time) (*Inspection, error) {
	lock, err := LoadLock(cfg.LockPath())
	if err != nil {
		return nil, err
	}
	if lock != nil {
		roots := *lock
		roots.Channels = nil // no sequences: nothing to forget, so no notes about forgetting
		lock = &roots
	}
	rt, err := followRoots(ctx, cfg, lock, store, time.Time{})
	if err != nil {
		return nil, err
	}
	in := rt.inspection(store, now)
	in.Product = cfg.Product
	return in, nil
}

// inspection is the anchor of the newest root (or of pin.yaml's keys:),
// with the chain's notes and a note when the newest root has expired.
func (t *rootTrust) inspection(store channels.ReadStore, now time.Time) *Inspection {
	in := &Inspection{Anchor: t.legacy, Notes: t.notes}
	if t.legacy != nil {
		return in
	}
	newest := t.newest()
	in.Anchor, in.Root, in.Product = channels.RootAnchor(newest), newest, newest.Root.Product
	if !now.Before(newest.Root.Expires) {
		in.Notes = append(in.Notes, fmt.Sprintf("root of trust version %d of %s expired at %s: consumers refuse the store %s", newest.Root.Version, store, newest.Root.Expires.Format(time.RFC3339), RemedyNewRoot))
	}
	return in
}

// CurrentRoot is, offline, the newest root pin.yaml and the roots its
// pin.lock followed lead to: what a run trusts before it asks the store for
// newer ones. A pin.yaml with a keys: list gives a legacy root of those keys.
func CurrentRoot(ctx context.Context, cfg *Config) (*trustroot.Trusted, error) {
	lock, err := LoadLock(cfg.LockPath())
	if err != nil {
		return nil, err
	}
	c, err := lockedChain(ctx, cfg, lock)
	if err != nil {
		return nil, err
	}
	return c.Newest(), nil
}
