package pin

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/trustroot"
)

// LockedRoot is a root newer than pin.yaml's that an update verified and
// followed. pin.lock carries the chain (each root signed by the one before),
// so `pin check` verifies offline with the newest keys and the next update
// starts from the newest root: one probe for the next version.
type LockedRoot struct {
	Document   string               `json:"document"`
	Signatures []manifest.Signature `json:"signatures"`
}

// rootTrust is what a run trusts: the chain of roots from pin.yaml's on.
type rootTrust struct {
	chain *trustroot.Chain
	// recorded is the root pin.lock's sequences were recorded under.
	recorded *trustroot.Trusted
	// forgotten lists channels whose recorded sequence was dropped because
	// their index keys changed (fast-forward recovery).
	forgotten []string
	// notes are messages for the user (a legacy keys: list, a truncated chain).
	notes []string
	// legacy, for a pin.yaml without a root, checks documents against its
	// keys: and identities: (any one signs), Sigstore bundles included.
	legacy channels.SignatureVerifier
}

func (t *rootTrust) newest() *trustroot.Trusted { return t.chain.Newest() }

// lockedChain verifies, offline, pin.yaml's root and then the roots pin.lock
// carries, each against the one before. Roots at or below pin.yaml's version
// are skipped (pin.yaml was moved to a newer root since).
func lockedChain(ctx context.Context, cfg *Config, lock *Lock) (*trustroot.Chain, error) {
	first, err := cfg.TrustedRoot()
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	c := &trustroot.Chain{Roots: []*trustroot.Trusted{first}}
	if lock == nil || first.Legacy || lock.Product != cfg.Product {
		return c, nil
	}
	cur := first
	for i, lr := range lock.Roots {
		s := trustroot.Signed{Bytes: []byte(lr.Document), Signatures: lr.Signatures}
		t, err := trustroot.Parse(s, cfg.Product)
		if err != nil {
			return nil, exitcode.TrustError(fmt.Errorf("pin.lock roots[%d]: %w", i, err))
		}
		if t.Root.Version <= cur.Root.Version {
			continue
		}
		next, err := cur.Next(ctx, s)
		if err != nil {
			return nil, exitcode.TrustError(fmt.Errorf("pin.lock roots[%d]: %w", i, err))
		}
		c.Roots = append(c.Roots, next)
		cur = next
	}
	return c, nil
}

// followRoots walks from the roots pin.yaml and pin.lock trust to the newest
// the store publishes, and decides which recorded index sequences to forget.
// A store that keeps no roots (a test double) leaves the chain as it is.
func followRoots(ctx context.Context, cfg *Config, lock *Lock, store channels.ReadStore, now time.Time) (*rootTrust, error) {
	base, err := lockedChain(ctx, cfg, lock)
	if err != nil {
		return nil, err
	}
	rt := &rootTrust{chain: base, recorded: base.Newest()}
	if rt.legacy, err = cfg.LegacyAnchor(); err != nil {
		return nil, exitcode.UsageError(err)
	}
	rs, ok := store.(channels.RootReader)
	if !ok {
		return rt, nil
	}
	if rt.recorded.Legacy {
		// One probe: a producer that publishes a root should be followed.
		if s, err := rs.GetRoot(ctx, 1); err == nil {
			rt.notes = append(rt.notes, fmt.Sprintf("%s publishes a root of trust (sha256 %s) but pin.yaml lists plain keys, which cannot follow key rotations: %s", store, strings.TrimPrefix(manifest.Digest(s.Bytes), "sha256:"), RemedyTrustRoot))
		}
		return rt, nil
	}
	more, err := trustroot.Update(ctx, rt.recorded, channels.RootFetcher(rs), now)
	if err != nil {
		return nil, fmt.Errorf("root of trust from %s: %w", store, err)
	}
	rt.chain = &trustroot.Chain{Roots: append(base.Roots, more.Roots[1:]...), Truncated: more.Truncated}
	if more.Truncated {
		rt.notes = append(rt.notes, fmt.Sprintf("followed %d newer roots of trust, the most one run takes; the next run goes on from version %d", trustroot.MaxRotations, rt.newest().Root.Version))
	}
	if lock != nil {
		names := make([]string, 0, len(lock.Channels))
		for n := range lock.Channels {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if trustroot.IndexKeysChanged(rt.recorded, rt.newest(), n) {
				rt.forgotten = append(rt.forgotten, n)
			}
		}
	}
	for _, n := range rt.forgotten {
		rt.notes = append(rt.notes, fmt.Sprintf("the keys that sign channel %s changed in root version %d: the sequence recorded in pin.lock (%d) is forgotten, so an index signed by the old keys no longer binds this project", n, rt.newest().Root.Version, lock.Channels[n].Sequence))
	}
	return rt, nil
}

// applyTo returns lock as the newest root sees it: the sequences of
// channels whose index keys changed are dropped. lock itself is unchanged.
func (t *rootTrust) applyTo(lock *Lock) *Lock {
	if lock == nil || len(t.forgotten) == 0 {
		return lock
	}
	l := *lock
	l.Channels = map[string]LockedIndex{}
	for n, li := range lock.Channels {
		l.Channels[n] = li
	}
	for _, n := range t.forgotten {
		delete(l.Channels, n)
	}
	return &l
}

// reader returns a channels.Reader whose anchor is the newest root: indexes
// are checked with its index roles, releases with its release role, and
// lock's index history (after applyTo) against rollback.
func (t *rootTrust) reader(store channels.ReadStore, product string, lock *Lock, mode channels.Mode, now func() time.Time) (*channels.Reader, error) {
	anchor := channels.RootAnchor(t.newest())
	if t.legacy != nil {
		anchor = t.legacy
	}
	return newAnchoredReader(store, anchor, product, lock, "pin.lock", mode, now)
}

// lockRoots lists the roots newer than pin.yaml's, for pin.lock.
func (t *rootTrust) lockRoots() []LockedRoot {
	var out []LockedRoot
	for _, r := range t.chain.Roots[1:] {
		out = append(out, LockedRoot{Document: string(r.Signed.Bytes), Signatures: r.Signed.Signatures})
	}
	return out
}

// LockedAnchor is, offline, the trust anchor of the newest root pin.yaml
// and pin.lock's verified roots lead to: for readers (audit) that take no
// new root from the store.
func LockedAnchor(ctx context.Context, cfg *Config, lock *Lock) (channels.SignatureVerifier, error) {
	return lockedAnchor(ctx, cfg, lock)
}

// lockedAnchor is, offline, the newest root pin.yaml and pin.lock's
// verified roots lead to, as a trust anchor: `pin check` verifies the lock's
// manifest with it.
func lockedAnchor(ctx context.Context, cfg *Config, lock *Lock) (channels.SignatureVerifier, error) {
	c, err := lockedChain(ctx, cfg, lock)
	if err != nil {
		return nil, err
	}
	if legacy, err := cfg.LegacyAnchor(); err != nil || legacy != nil {
		return legacy, err
	}
	return channels.RootAnchor(c.Newest()), nil
}

// prefetchStore reads the channel indexes a run needs while the root of
// trust is probed, so that the probe for root N+1 costs no round trip of its
// own. The first GetChannel of a prefetched channel takes the prefetched
// result; any later one (the reader's retry) reads the store again.
type prefetchStore struct {
	channels.ReadStore
	mu      sync.Mutex
	pending map[string]chan prefetched
}

type prefetched struct {
	doc channels.Document
	err error
}

func prefetchChannels(ctx context.Context, st channels.ReadStore, names []string) *prefetchStore {
	p := &prefetchStore{ReadStore: st, pending: map[string]chan prefetched{}}
	for _, n := range names {
		ch := make(chan prefetched, 1)
		p.pending[n] = ch
		go func() {
			doc, err := st.GetChannel(ctx, n)
			ch <- prefetched{doc, err}
		}()
	}
	return p
}

func (p *prefetchStore) GetChannel(ctx context.Context, channel string) (channels.Document, error) {
	p.mu.Lock()
	ch, ok := p.pending[channel]
	delete(p.pending, channel)
	p.mu.Unlock()
	if !ok {
		return p.ReadStore.GetChannel(ctx, channel)
	}
	select {
	case r := <-ch:
		return r.doc, r.err
	case <-ctx.Done():
		return channels.Document{}, ctx.Err()
	}
}

// readChannels lists the indexes a consumer of channel reads (edge reads stable too).
func readChannels(channel string) []string {
	if channel == channels.Edge {
		return []string{channel, channels.Stable}
	}
	return []string{channel}
}
