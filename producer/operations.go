package producer

import (
	"context"
	"time"

	"github.com/wellcomecollection/pin/channels"
)

// Promote publishes version on channel to as a new release named as ("":
// the version's X.Y.Z) with exactly its component digests, for the TTL
// release.yaml gives channel to. Nothing is resolved again.
func (p *Producer) Promote(ctx context.Context, version, to, as string) (*channels.Published, error) {
	ttl, err := p.Config.TTL(to)
	if err != nil {
		return nil, err
	}
	return p.Publisher.Promote(ctx, version, to, as, ttl)
}

// Yank marks version as withdrawn on channel, for reason, and the release it
// was promoted from with it.
func (p *Producer) Yank(ctx context.Context, channel, version, reason string) (*channels.Published, error) {
	ttl, err := p.Config.TTL(channel)
	if err != nil {
		return nil, err
	}
	return p.Publisher.Yank(ctx, channel, version, reason, ttl)
}

// Refresh re-signs channel's index with sequence+1 and a new expiry: ttl
// from now, or release.yaml's TTL for the channel when ttl is 0.
func (p *Producer) Refresh(ctx context.Context, channel string, ttl time.Duration) (*channels.Published, error) {
	if ttl == 0 {
		var err error
		if ttl, err = p.Config.TTL(channel); err != nil {
			return nil, err
		}
	}
	return p.Publisher.Refresh(ctx, channel, ttl)
}

// Resign signs the releases named (every listed, unyanked one when versions
// is empty) with the current release key, keeping their bytes and digests,
// so that a release key can be rotated without invalidating them.
func (p *Producer) Resign(ctx context.Context, versions []string) ([]channels.Resigned, error) {
	return p.Publisher.Resign(ctx, versions)
}
