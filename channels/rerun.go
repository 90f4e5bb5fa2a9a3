package channels

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
)

// A CI job that is rerun (a flaky later step, a retried workflow) repeats
// `pin release create` or `promote` with exactly what it published the first
// time. Like `terraform apply` with nothing to change, that is a no-op that
// succeeds; the same version with different content stays refused, since
// releases are immutable.

// existingRelease returns the stored release named version, verified with the
// publisher's keys (against the listed digest when a channel the operation
// read lists it), or nil when the store has no such release.
func (p *Publisher) existingRelease(ctx context.Context, version string, listed *manifest.Entry) (*VerifiedRelease, error) {
	doc, err := p.Store.GetRelease(ctx, version)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("check release %s in %s: %w", version, p.Store, err)
	}
	// Verified by signature (Inspect: it may be listed nowhere, when a run
	// stopped between storing and listing it), and against the digest the
	// channel lists when it lists it.
	a, err := p.anchor()
	if err != nil {
		return nil, err
	}
	t, err := NewTrusted(a, TrustOptions{Product: p.Product, Mode: Inspect, Now: p.Now, KnownSource: "this publisher's earlier read"})
	if err != nil {
		return nil, err
	}
	vr, err := t.UpdateRelease(ctx, version, doc)
	if err != nil {
		return nil, fmt.Errorf("release %s already in %s: %w", version, p.Store, err)
	}
	if listed != nil && vr.Digest != listed.Digest {
		return nil, exitcode.TrustError(fmt.Errorf("release %s in %s has digest %s, the channel lists %s", version, p.Store, vr.Digest, listed.Digest))
	}
	return vr, nil
}

// sameContent reports whether two releases carry the same content: what a
// consumer deploys and what the manifest says about its origin. Only the
// creation time may differ between a run and its rerun. diff names the first
// difference, for the refusal.
func sameContent(a, b *manifest.Release) (same bool, diff string) {
	switch {
	case a.Product != b.Product:
		return false, fmt.Sprintf("product %q, not %q", a.Product, b.Product)
	case a.Source != b.Source:
		return false, fmt.Sprintf("source %s@%s, not %s@%s", a.Source.Repository, a.Source.Revision, b.Source.Repository, b.Source.Revision)
	case !reflect.DeepEqual(a.PromotedFrom, b.PromotedFrom):
		return false, "a different promotedFrom"
	case len(a.Components) != len(b.Components):
		return false, fmt.Sprintf("%d components, not %d", len(a.Components), len(b.Components))
	}
	// Encoding sorts components by name; a freshly resolved release is in
	// release.yaml's order.
	byName := map[string]manifest.Component{}
	for _, c := range a.Components {
		byName[c.Name] = c
	}
	for _, cb := range b.Components {
		ca, ok := byName[cb.Name]
		if !ok {
			return false, fmt.Sprintf("no component %s", cb.Name)
		}
		if ca.Digest != cb.Digest {
			return false, fmt.Sprintf("component %s is %s, not %s", ca.Name, ca.Digest, cb.Digest)
		}
		if !reflect.DeepEqual(normalise(ca), normalise(cb)) {
			return false, fmt.Sprintf("component %s differs (repository, tag, platforms or revision)", ca.Name)
		}
	}
	return true, ""
}

// normalise makes an empty and a nil platform list compare equal.
func normalise(c manifest.Component) manifest.Component {
	if len(c.Platforms) == 0 {
		c.Platforms = nil
	}
	return c
}

// rerun decides what to do with rel when the store already holds a release
// of that version: nothing (identical, listed), list it (identical, stored
// by a run that failed before listing it), or refuse (different content, or
// yanked). It returns nil, nil when the store has no such release.
func (p *Publisher) rerun(ctx context.Context, rel *manifest.Release, idx *manifest.Channel, ttl time.Duration) (*Published, error) {
	entry, listed := idx.Entry(rel.Version)
	var listedEntry *manifest.Entry
	if listed {
		listedEntry = &entry
	}
	existing, err := p.existingRelease(ctx, rel.Version, listedEntry)
	if err != nil || existing == nil {
		if err == nil && listed {
			return nil, exitcode.UsageError(fmt.Errorf("channel %s already lists %s, but %s has no such release", idx.Channel, rel.Version, p.Store))
		}
		return nil, err
	}
	if same, diff := sameContent(existing.Release, rel); !same {
		return nil, exitcode.UsageError(&ReusedVersionError{Version: rel.Version, Channel: idx.Channel, Store: fmt.Sprint(p.Store), Diff: diff})
	}
	if listed && entry.Yanked {
		return nil, exitcode.UsageError(&ReusedVersionError{Version: rel.Version, Channel: idx.Channel, Store: fmt.Sprint(p.Store), Yanked: true, Reason: entry.Reason})
	}
	if listed {
		doc, err := p.Store.GetChannel(ctx, idx.Channel)
		if err != nil {
			return nil, fmt.Errorf("fetch channel %s from %s: %w", idx.Channel, p.Store, err)
		}
		return &Published{Release: existing.Release, ReleaseDigest: existing.Digest, Channel: idx, ChannelDigest: manifest.Digest(doc.Bytes), Unchanged: true}, nil
	}
	// Stored but not listed: an earlier run stopped between the two writes.
	idx.Releases = append(idx.Releases, manifest.Entry{Version: rel.Version, Digest: existing.Digest, Created: existing.Release.Created})
	ch, chDigest, err := p.publishChannel(ctx, idx, ttl)
	if err != nil {
		return nil, err
	}
	return &Published{Release: existing.Release, ReleaseDigest: existing.Digest, Channel: ch, ChannelDigest: chDigest}, nil
}

// LatestWithContent returns the version of the channel's newest unyanked
// release when it has rel's content (rel's own version aside), or "". With
// `pin release create auto`, a rerun of the same build must find the release
// its first run published rather than publish the same images again under
// the next version.
func (p *Publisher) LatestWithContent(ctx context.Context, channel string, rel *manifest.Release) (string, error) {
	idx, err := p.current(ctx, channel)
	if err != nil {
		return "", err
	}
	var newest *manifest.Entry
	var newestV *semver.Version
	for i, e := range idx.Releases {
		v, err := manifest.ParseVersion(e.Version)
		if err != nil || e.Yanked {
			continue
		}
		if newestV == nil || v.GreaterThan(newestV) {
			newest, newestV = &idx.Releases[i], v
		}
	}
	if newest == nil {
		return "", nil
	}
	existing, err := p.existingRelease(ctx, newest.Version, newest)
	if err != nil || existing == nil {
		return "", err
	}
	candidate := *rel
	candidate.Version = newest.Version
	if same, _ := sameContent(existing.Release, &candidate); same {
		return newest.Version, nil
	}
	return "", nil
}
