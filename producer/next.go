package producer

import (
	"context"
	"errors"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/manifest"
)

// AutoVersion is the version that asks Create to take the channel's next
// free version (what NextVersion returns).
const AutoVersion = "auto"

// NextVersion reads both channels of the store through rd (a channel that
// does not exist yet holds nothing) and returns the next free version for
// channel, ahead of every stable release (see channels.NextVersion).
func NextVersion(ctx context.Context, rd *channels.Reader, channel, base string) (string, error) {
	idx := map[string]*manifest.Channel{}
	for _, name := range channels.Names {
		vc, err := rd.Channel(ctx, name)
		if errors.Is(err, channels.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", err
		}
		idx[name] = vc.Index
	}
	return channels.NextVersion(channel, idx[channels.Stable], idx[channels.Edge], base)
}
