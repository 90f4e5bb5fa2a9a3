package pin

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/opterr"
	"github.com/wellcomecollection/pin/manifest"
)

// checkLockedManifestDigest checks that the manifest pin.lock carries hashes
// to the lock's own manifestDigest: otherwise pin.lock itself was edited, and
// the error says so rather than blaming a channel index.
func checkLockedManifestDigest(lock *Lock, lockPath string) error {
	if got := manifest.Digest([]byte(lock.Manifest)); got != lock.ManifestDigest {
		return exitcode.TrustError(&LockTamperedError{Path: lockPath, Got: got, Want: lock.ManifestDigest})
	}
	return nil
}

// verifyLockedRelease checks, offline, the release pin.lock carries: its own
// digest first (checkLockedManifestDigest), then signature, canonical bytes,
// product and version (verifyLocked). Every failure is a trust error naming
// pin.lock.
func verifyLockedRelease(ctx context.Context, anchor channels.SignatureVerifier, lock *Lock, lockPath, product string) (*channels.VerifiedRelease, error) {
	if err := checkLockedManifestDigest(lock, lockPath); err != nil {
		return nil, err
	}
	vr, err := verifyLocked(ctx, anchor, product, lock)
	if err != nil {
		return nil, fmt.Errorf("%s: the release it carries: %w", lockPath, err)
	}
	return vr, nil
}

// CheckLockFitsConfig refuses a pin.lock that `pin update` could not have
// written from this pin.yaml: a lock-only change (pin.lock and the files
// swapped together) would otherwise pass `pin check` offline, since the
// release it carries is validly signed. Offline it can still check that the
// lock follows pin.yaml's product and channel, that its version may be
// listed on the channel it says it came from and that channel is one
// pin.yaml's channel sees (no prerelease for a stable consumer), and that
// the version satisfies pin.yaml's constraint. Each is a trust error (exit 3):
// the fix, when pin.yaml changed on purpose, is `pin update`.
//
// A version that was lower than the lock it replaced, or yanked after it
// was locked, cannot be seen offline: that needs the channel index (`pin
// check --online`, `pin audit`).
func CheckLockFitsConfig(cfg *Config, lock *Lock) error {
	refuse := func(format string, args ...any) error {
		return exitcode.TrustError(&LockConfigError{Path: cfg.LockPath(), Detail: fmt.Sprintf(format, args...)})
	}
	if lock.Product != cfg.Product {
		return refuse("it is for product %q, pin.yaml says %q", lock.Product, cfg.Product)
	}
	if lock.Channel != cfg.Channel {
		return refuse("it follows channel %q, pin.yaml says %q", lock.Channel, cfg.Channel)
	}
	if !channelSees(cfg.Channel, lock.ReleaseChannel) {
		return refuse("its release %s is from channel %q, which a %s consumer does not see", lock.Version, lock.ReleaseChannel, cfg.Channel)
	}
	v, err := channels.CheckVersion(lock.ReleaseChannel, lock.Version)
	if err != nil {
		return refuse("release %s may not be listed on %s: %v", lock.Version, lock.ReleaseChannel, err)
	}
	cs, err := channels.ParseConstraint(cfg.Constraint)
	if err != nil {
		return exitcode.UsageError(fmt.Errorf("%s: %w", cfg.Path, err))
	}
	if !channels.Allowed(cs, v) {
		return refuse("release %s is outside pin.yaml's constraint %q", lock.Version, cfg.Constraint)
	}
	return nil
}

// channelSees reports whether a consumer of channel may select a release
// listed on from: its own channel, and stable for an edge consumer.
func channelSees(channel, from string) bool {
	return from == channel || channel == channels.Edge && from == channels.Stable
}

// checkToWithinConstraint refuses `pin update --to` a version outside
// pin.yaml's constraint: the lock it wrote would fail CheckLockFitsConfig.
func checkToWithinConstraint(cfg *Config, version string) error {
	cs, err := channels.ParseConstraint(cfg.Constraint)
	if err != nil {
		return exitcode.UsageError(err)
	}
	v, err := manifest.ParseVersion(version)
	if err != nil {
		return opterr.Errorf("To", ": %w", err)
	}
	if !channels.Allowed(cs, v) {
		return opterr.Errorf("To", " %s is outside pin.yaml's constraint %q: change the constraint in %s first", version, cfg.Constraint, cfg.Path)
	}
	return nil
}

// withCacheFloor returns the rollback floor for an audit, and what to call
// it in messages: pin.lock's sequences, raised to those of the newest index
// the cache holds for the source (verified again here, expiry aside).
// Without it, an audit with no pin.lock (--source) took whatever validly
// signed index the store served, so an old index from before a yank passed,
// and replaced the newer one in the cache. The cache is only as good as its
// last verified write; an entry that does not verify is ignored, never
// trusted.
func withCacheFloor(ctx context.Context, cs *cachingStore, o ReleaseSetOptions) (*Lock, string) {
	floor := &Lock{Product: o.Product, Channels: map[string]LockedIndex{}}
	if o.Lock != nil {
		floor.Product = o.Lock.Product
		for n, li := range o.Lock.Channels {
			floor.Channels[n] = li
		}
	}
	source := "pin.lock"
	if cs.dir == "" || o.Verifier == nil {
		return floor, source
	}
	t, err := channels.NewTrusted(channels.Keys(o.Verifier), channels.TrustOptions{Product: floor.Product, Mode: channels.ReportExpired, Now: o.Now})
	if err != nil {
		return floor, source
	}
	names := []string{o.Channel}
	if o.Channel == channels.Edge {
		names = append(names, channels.Stable)
	}
	raised := 0
	for _, name := range names {
		doc, err := readDoc(cs.indexPath(name))
		if err != nil {
			continue
		}
		vc, err := t.UpdateChannel(ctx, name, doc)
		if err != nil {
			continue
		}
		if li, ok := floor.Channels[name]; ok && li.Sequence >= vc.Index.Sequence {
			continue
		}
		floor.Channels[name] = LockedIndex{Sequence: vc.Index.Sequence, Digest: vc.Digest}
		raised++
		if floor.Product == "" {
			floor.Product = vc.Index.Product
		}
	}
	switch {
	case raised > 0 && o.Lock == nil:
		source = "the audit cache (" + filepath.Dir(cs.indexPath(o.Channel)) + ")"
	case raised > 0:
		source = "pin.lock or the audit cache"
	}
	return floor, source
}
