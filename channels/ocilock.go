package channels

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/wellcomecollection/pin/internal/loopback"
	"github.com/wellcomecollection/pin/registry"
)

// An OCI registry has no compare-and-swap on tags (distribution 2.8 has no
// conditional PUT), so an OCIStore serialises publishers with a lease held in
// a tag of its own, and an argument that rests on timing (docs/design.md,
// "Concurrent publishers"):
//
//   - read the lease tag; it is free when absent, released, ours, or held
//     unchanged (same nonce) for longer than its lease, as timed by this
//     reader's own clock;
//   - push our lease (a fresh nonce) and time the read-to-push span;
//   - if that span was under the settle time, wait the settle time and read
//     the tag back: whoever's nonce is there holds the lock. A span over it
//     proves nothing, so the acquirer starts again.
//
// Two acquirers that both read the tag free read it before either pushed;
// each pushed within settle of its read, so each read back happens after
// both pushes and sees the same, last, nonce: at most one proceeds. This
// holds when tag reads see every completed push (read-after-write) and a
// holder finishes within its lease; the holder checks both before it moves
// a channel tag, and reads the channel back after (checkPublished).
const (
	// LeaseTag is the tag of the publishing lease in the store's repository.
	LeaseTag = "pin-publish-lease"
	// LeaseMediaType is the lease artifact's type.
	LeaseMediaType = "application/vnd.wellcomecollection.pin.lease.v1+json"
)

// LeaseTiming tunes an OCIStore's publishing lease.
type LeaseTiming struct {
	// Settle bounds a read-to-push span that counts, and is how long an
	// acquirer waits before reading the lease back. Every publisher of one
	// registry must use the same: the default is 1s, and 100ms for a
	// registry on loopback (the demo, tests), which only publishers on the
	// same machine reach.
	Settle time.Duration
	// Lease is how long a holder may take; a lease seen unchanged for longer
	// is abandoned (a killed publisher) and may be taken (default 60s).
	Lease time.Duration
	// Poll is the interval between attempts while another holds it (default 500ms).
	Poll time.Duration
}

func (lt LeaseTiming) withDefaults(host string) LeaseTiming {
	if lt.Settle <= 0 && loopback.HostPort(host) {
		lt.Settle = 100 * time.Millisecond
	}
	if lt.Settle <= 0 {
		lt.Settle = time.Second
	}
	if lt.Lease <= 0 {
		lt.Lease = time.Minute
	}
	if lt.Poll <= 0 {
		lt.Poll = 500 * time.Millisecond
	}
	return lt
}

// WithLeaseTiming sets the publishing lease's timing (tests shorten it).
func WithLeaseTiming(lt LeaseTiming) OCIOption {
	return func(c *ociConfig) { c.lease = lt }
}

// lease is the content of the lease tag.
type lease struct {
	Nonce    string `json:"nonce"`
	Holder   string `json:"holder"`
	LeaseMS  int64  `json:"leaseMs"`
	Released bool   `json:"released,omitempty"`
}

func (s *OCIStore) readLease(ctx context.Context) (*lease, error) {
	tag, err := s.tag("lease", LeaseTag)
	if err != nil {
		return nil, err
	}
	data, _, _, err := s.client.PullArtifact(ctx, tag, 4<<10)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the publishing lease in %s: %w", s, err)
	}
	var l lease
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil || l.Nonce == "" {
		return nil, fmt.Errorf("the publishing lease in %s (tag %s) is not pin's: %v", s, LeaseTag, err)
	}
	return &l, nil
}

func (s *OCIStore) pushLease(ctx context.Context, l lease) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if _, err := s.client.PushArtifact(ctx, s.repo, LeaseTag, LeaseMediaType, b, nil); err != nil {
		return fmt.Errorf("write the publishing lease in %s: %w", s, err)
	}
	return nil
}

// LockPublishing takes the store's publishing lease, waiting up to wait for
// another holder.
func (s *OCIStore) LockPublishing(ctx context.Context, wait time.Duration, waiting func(holder string)) (func() error, error) {
	lt := s.lease.withDefaults(s.repo.RegistryStr())
	var nb [16]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	mine := lease{Nonce: hex.EncodeToString(nb[:]), Holder: fmt.Sprintf("pid %d on %s", os.Getpid(), host), LeaseMS: lt.Lease.Milliseconds()}
	deadline := time.Now().Add(wait)
	var seen string // the other holder's nonce, and since when we see it
	var seenAt time.Time
	var holder *lease
	var slow time.Duration // a read-to-push span over the settle time
	pushed := false
	fail := func(err error) (func() error, error) {
		if pushed {
			// A lease we pushed but do not hold would block others for its term.
			_ = s.releaseLease(context.WithoutCancel(ctx), mine)
		}
		return nil, err
	}
	for {
		start := time.Now()
		cur, err := s.readLease(ctx)
		if err != nil {
			return fail(err)
		}
		free := cur == nil || cur.Released || cur.Nonce == mine.Nonce
		if !free {
			if cur.Nonce != seen {
				seen, seenAt = cur.Nonce, time.Now()
			}
			// Abandoned: unchanged for longer than its own lease.
			free = time.Since(seenAt) > time.Duration(cur.LeaseMS)*time.Millisecond
			holder = cur
			if !free && waiting != nil && wait > 0 {
				waiting(cur.Holder)
				waiting = nil
			}
		}
		if free {
			pushed = true
			if err := s.pushLease(ctx, mine); err != nil {
				return fail(err)
			}
			span := time.Since(start)
			if span >= lt.Settle {
				slow = span
			} else {
				if err := sleep(ctx, lt.Settle); err != nil {
					return fail(err)
				}
				back, err := s.readLease(ctx)
				if err != nil {
					return fail(err)
				}
				if back != nil && back.Nonce == mine.Nonce && !back.Released {
					s.mu.Lock()
					s.held = &heldLease{lease: mine, acquired: start, timing: lt}
					s.mu.Unlock()
					return func() error { return s.releaseLease(context.WithoutCancel(ctx), mine) }, nil
				}
				if back != nil && !back.Released {
					holder = back
				}
			}
			// Too slow to be sure, or lost: read again after a poll.
		}
		if !time.Now().Before(deadline) {
			if holder == nil && slow > 0 {
				return fail(fmt.Errorf("could not take the publishing lease in %s: reading and writing it took %s, over the %s settle time, so a racing publisher could not be ruled out; %w: retry", s, slow.Round(time.Millisecond), lt.Settle, ErrConflict))
			}
			who := "another publisher"
			if holder != nil {
				who = "another publisher (" + holder.Holder + ")"
			}
			return fail(fmt.Errorf("%s holds the publishing lease in %s (tag %s; waited %s): %w: retry when it has finished", who, s, LeaseTag, wait, ErrConflict))
		}
		if err := sleep(ctx, min(lt.Poll, time.Until(deadline))); err != nil {
			return fail(err)
		}
	}
}

// heldLease is the lease this store's holder took.
type heldLease struct {
	lease    lease
	acquired time.Time
	timing   LeaseTiming
}

// checkLease is called before a channel tag moves: the lease must still be
// ours, with time left for the push (a settle time's margin).
func (s *OCIStore) checkLease(ctx context.Context) error {
	s.mu.Lock()
	h := s.held
	s.mu.Unlock()
	if h == nil {
		return nil // not publishing under a lease (a test's direct write)
	}
	if time.Since(h.acquired) > h.timing.Lease-h.timing.Settle {
		return fmt.Errorf("publishing took longer than the %s lease in %s: another publisher may have taken it; %w: retry", h.timing.Lease, s, ErrConflict)
	}
	cur, err := s.readLease(ctx)
	if err != nil {
		return err
	}
	if cur == nil || cur.Nonce != h.lease.Nonce || cur.Released {
		who := "another publisher"
		if cur != nil && !cur.Released {
			who = cur.Holder
		}
		return fmt.Errorf("the publishing lease in %s was taken by %s while publishing; %w: retry", s, who, ErrConflict)
	}
	return nil
}

// releaseLease marks the lease released, if it is still ours.
func (s *OCIStore) releaseLease(ctx context.Context, mine lease) error {
	s.mu.Lock()
	s.held = nil
	s.mu.Unlock()
	cur, err := s.readLease(ctx)
	if err != nil || cur == nil || cur.Nonce != mine.Nonce {
		return err
	}
	mine.Released = true
	return s.pushLease(ctx, mine)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
