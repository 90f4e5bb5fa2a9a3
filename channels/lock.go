package channels

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wellcomecollection/pin/manifest"
)

// ErrConflict is wrapped when another publisher changed the store while an
// operation ran, or held its publishing lock for longer than the operation
// would wait. Nothing the operation could not redo was written: retry it.
var ErrConflict = errors.New("conflict with another publisher")

// PublishLocker is implemented by stores that can serialise publishers: every
// Publisher operation (create, promote, yank, refresh) holds the lock from
// before it reads a channel index until it has written the next one, so two
// publishers can never both publish one sequence.
type PublishLocker interface {
	// LockPublishing takes the store's exclusive publishing lock, waiting up
	// to wait for another holder (calling waiting, when not nil, once with a
	// description of it); failures to get it wrap ErrConflict.
	LockPublishing(ctx context.Context, wait time.Duration, waiting func(holder string)) (release func() error, err error)
}

// DefaultLockWait is how long a publisher waits for another by default.
const DefaultLockWait = 2 * time.Minute

// exclusive runs fn holding the store's publishing lock, when the store has
// one. Operations nest (a promotion creates, a yank yanks another channel):
// the outermost takes the lock.
func (p *Publisher) exclusive(ctx context.Context, fn func() error) error {
	if p.op == nil {
		t, err := p.trusted()
		if err != nil {
			return err
		}
		p.op = t
		defer func() { p.op = nil }()
	}
	lk, ok := p.Store.(PublishLocker)
	if !ok || p.holding {
		return fn()
	}
	wait := p.LockWait
	if wait == 0 {
		wait = DefaultLockWait
	}
	release, err := lk.LockPublishing(ctx, max(wait, 0), p.Waiting)
	if err != nil {
		return err
	}
	p.holding = true
	defer func() {
		p.holding = false
		release()
	}()
	return fn()
}

// checkPublished reads channel back after publishing doc at sequence seq:
// anything else there means another publisher wrote the index meanwhile
// (one that did not take the lock, or a lock that was lost).
func (p *Publisher) checkPublished(ctx context.Context, channel string, seq int64, doc []byte) error {
	back, err := p.Store.GetChannel(ctx, channel)
	if err != nil {
		return fmt.Errorf("read back channel %s from %s: %w", channel, p.Store, err)
	}
	if string(back.Bytes) == string(doc) {
		return nil
	}
	who := "another publisher"
	if other, err := manifest.DecodeChannel(back.Bytes, manifest.Expect{}); err == nil {
		mine, _ := manifest.DecodeChannel(doc, manifest.Expect{})
		if v := newest(other, mine); v != "" {
			who = v
		}
		if other.Sequence != seq {
			return fmt.Errorf("channel %s changed while publishing (it is at sequence %d, by %s, not %d): %w; retry", channel, other.Sequence, who, seq, ErrConflict)
		}
	}
	return fmt.Errorf("channel %s changed while publishing (sequence %d taken by %s); %w: retry", channel, seq, who, ErrConflict)
}

// newest names the newest version other lists and mine does not.
func newest(other, mine *manifest.Channel) string {
	have := map[string]bool{}
	if mine != nil {
		for _, e := range mine.Releases {
			have[e.Version] = true
		}
	}
	out := ""
	for _, e := range other.Releases { // ascending SemVer order
		if !have[e.Version] {
			out = e.Version
		}
	}
	return out
}
