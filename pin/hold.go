package pin

import (
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
)

// Hold is a consumer's decision to stay on one release (after rolling back
// to it, say), recorded in pin.lock with the reason, so that a scheduled
// `pin update` does not undo it. It lasts until `pin update --unhold`.
type Hold struct {
	Version string    `json:"version"`
	Reason  string    `json:"reason"`
	Since   time.Time `json:"since"`
}

// YankedPin says that the release pin.lock pins was yanked, and what update
// moved to instead.
type YankedPin struct {
	Version string
	Channel string
	Reason  string
}

// holdDecision applies a hold to the selection: a held project stays on the
// held release unless the update releases the hold (Unhold) or re-holds at
// another version (To with Hold). It returns the candidate to use, or ok
// false when the normal selection applies.
func holdDecision(cfg *Config, lock *Lock, cands []channels.Candidate, o UpdateOptions) (channels.Candidate, bool, error) {
	if o.Hold && strings.TrimSpace(o.HoldReason) == "" {
		return channels.Candidate{}, false, exitcode.UsageError(ErrHoldNeedsReason)
	}
	if o.Unhold && o.Hold {
		return channels.Candidate{}, false, exitcode.UsageError(ErrHoldConflict)
	}
	if lock == nil || lock.Hold == nil || o.Unhold || o.Hold {
		return channels.Candidate{}, false, nil
	}
	h := lock.Hold
	if o.To != "" && o.To != h.Version {
		return channels.Candidate{}, false, exitcode.UsageError(&HeldError{Version: h.Version, Reason: h.Reason, To: o.To})
	}
	for _, c := range cands {
		if c.Version == h.Version {
			return c, true, nil
		}
	}
	return channels.Candidate{}, false, exitcode.UsageError(&HeldError{Version: h.Version, Reason: h.Reason, Channel: cfg.Channel, Unlisted: true})
}

// yankedPin reports whether pin.lock's release is yanked among cands, and
// whether sel is below it: moving off a yanked release is what its producer
// signed, so it is no downgrade to refuse.
func yankedPin(lock *Lock, cands []channels.Candidate, sel channels.Candidate) *YankedPin {
	if lock == nil || lock.Version == "" {
		return nil
	}
	for _, c := range cands {
		if c.Version == lock.Version && c.Yanked {
			cur, err1 := semver.StrictNewVersion(lock.Version)
			next, err2 := semver.StrictNewVersion(sel.Version)
			if err1 == nil && err2 == nil && next.LessThan(cur) {
				return &YankedPin{Version: c.Version, Channel: c.Channel, Reason: c.Reason}
			}
		}
	}
	return nil
}

// nextHold is the hold the new pin.lock records.
func nextHold(old *Lock, version string, o UpdateOptions, now time.Time) *Hold {
	switch {
	case o.Hold:
		return &Hold{Version: version, Reason: strings.TrimSpace(o.HoldReason), Since: now.UTC().Truncate(time.Second)}
	case o.Unhold || old == nil:
		return nil
	default:
		return old.Hold
	}
}

// NewerThanHeld returns the newest release the hold keeps the project
// from, or "".
func (p *Plan) NewerThanHeld() string {
	if p.Held == nil || p.newest == "" || p.newest == p.Held.Version {
		return ""
	}
	return p.newest
}
