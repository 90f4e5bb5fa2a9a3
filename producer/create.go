package producer

import (
	"context"
	"fmt"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/manifest"
)

// CreateOptions describe a release to create.
type CreateOptions struct {
	BuildOptions
	// Version is the release's version, or AutoVersion for the channel's
	// next free one.
	Version string
	// Channel is the channel the release is listed on.
	Channel string
	// Base, with AutoVersion, is the X.Y.Z to use when it is ahead of stable.
	Base string
	// Warn, when set, is told each warning for the user as it arises.
	Warn func(string)
}

// Create is one release to create, checked against release.yaml before
// anything is fetched or a key is loaded.
type Create struct {
	o     CreateOptions
	cfg   *releaseconfig.Config
	build *Build
	ttl   time.Duration
}

// Created is what Run did.
type Created struct {
	// Release is the release built (a dry run) or published.
	Release *manifest.Release
	// Published is what was published; nil for a dry run.
	Published *channels.Published
}

// NewCreate checks o against cfg without fetching anything or loading a
// key: the version fits the channel (unless AutoVersion), release.yaml
// configures the channel, and the revision fills its images. Every error is
// a usage error (exit 2).
func NewCreate(cfg *releaseconfig.Config, o CreateOptions) (*Create, error) {
	if o.Version != AutoVersion {
		if _, err := channels.CheckVersion(o.Channel, o.Version); err != nil {
			return nil, exitcode.UsageError(err)
		}
	}
	b, err := NewBuild(cfg, o.BuildOptions)
	if err != nil {
		return nil, err
	}
	ttl, err := cfg.TTL(o.Channel)
	if err != nil {
		return nil, err
	}
	return &Create{o: o, cfg: cfg, build: b, ttl: ttl}, nil
}

// Run builds the release and publishes it with pub: the version (the next
// free one for AutoVersion) is checked against the store before anything
// is resolved; rerunning a create with the same content publishes nothing
// and succeeds. With a nil pub it is a dry run: the release is built (the
// next version read without verifying signatures) and nothing is signed.
func (c *Create) Run(ctx context.Context, pub *channels.Publisher) (*Created, error) {
	version, err := c.version(ctx, pub)
	if err != nil {
		return nil, err
	}
	if pub != nil {
		// Fail fast on an ill-fitting version before resolving anything.
		if err := pub.CheckCreate(ctx, c.o.Channel, version); err != nil {
			return nil, err
		}
	}
	built, err := c.build.Release(ctx, version)
	if err != nil {
		return nil, err
	}
	for _, n := range built.Notes {
		c.warn(n)
	}
	rel := built.Release
	if pub == nil {
		return &Created{Release: rel}, nil
	}
	if c.o.Version == AutoVersion {
		// A rerun of the same build finds its first run's release.
		if v, err := pub.LatestWithContent(ctx, c.o.Channel, rel); err != nil {
			return nil, err
		} else if v != "" {
			rel.Version = v
		}
	}
	p, err := pub.Create(ctx, rel, c.o.Channel, c.ttl)
	if err != nil {
		return nil, err
	}
	return &Created{Release: p.Release, Published: p}, nil
}

func (c *Create) warn(note string) {
	if c.o.Warn != nil {
		c.o.Warn(note)
	}
}

// version is the release's version: as given, or the channel's next free
// one, read with the publisher's keys when publishing and unverified for a
// dry run.
func (c *Create) version(ctx context.Context, pub *channels.Publisher) (string, error) {
	if c.o.Version != AutoVersion {
		return c.o.Version, nil
	}
	next, err := c.next(ctx, pub)
	if err != nil {
		return "", fmt.Errorf("release create auto: %w", err)
	}
	return next, nil
}

func (c *Create) next(ctx context.Context, pub *channels.Publisher) (string, error) {
	if pub != nil {
		return pub.Next(ctx, c.o.Channel, c.o.Base)
	}
	st, err := channels.Open(c.cfg.Store, channels.OpenOptions{Registry: c.o.Registry})
	if err != nil {
		return "", exitcode.UsageError(err)
	}
	rd, err := channels.NewReader(st, nil, channels.TrustOptions{Product: c.cfg.Product, Mode: channels.Unverified, Now: c.o.Now})
	if err != nil {
		return "", err
	}
	c.warn("the next version is read without verifying signatures (a dry run loads no key)")
	return NextVersion(ctx, rd, c.o.Channel, c.o.Base)
}
