package mirror

import (
	"context"
	"fmt"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/pin"
)

// CopyStore copies into dst the signed documents a selection was verified
// from (pin.CopyDocuments: releases before the indexes that list them, never
// a rollback), and, when both stores keep their documents as registry
// artifacts (channels.InRegistry), the cosign signatures of the copied tags,
// so that cosign verifies the copies as it does the originals. Call it after
// Mirror: a store must never list a release whose images the mirror lacks.
func CopyStore(ctx context.Context, sel *pin.Selection, dst channels.Store, o Options) (*pin.StoreCopy, error) {
	sc, err := pin.CopyDocuments(ctx, sel, dst, o.DryRun)
	if err != nil {
		return nil, err
	}
	from, fromRegistry := sel.Store.(channels.InRegistry)
	to, toRegistry := dst.(channels.InRegistry)
	if !fromRegistry || !toRegistry || o.DryRun {
		return sc, nil
	}
	var tags []string
	for _, v := range sc.SameReleases {
		tags = append(tags, channels.ReleaseTag(v))
	}
	for _, n := range sc.SameChannels {
		tags = append(tags, channels.ChannelTag(n))
	}
	if _, err := CopyAttachments(ctx, from.Repository().Name(), to.Repository().Name(), tags, Options{Jobs: o.Jobs, Client: o.Client}); err != nil {
		return nil, fmt.Errorf("copy the store's cosign signatures: %w", err)
	}
	return sc, nil
}
