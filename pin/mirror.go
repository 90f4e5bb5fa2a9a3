package pin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
)

// SelectOptions say where a release to mirror comes from and how it is
// trusted: pin.yaml (its source, keys, product, channel, constraint and
// pin.lock's rollback history), or a store and keys alone.
type SelectOptions struct {
	Config   *Config
	Source   string
	Verifier *signing.Verifier
	Now      func() time.Time
	Store    channels.ReadStore
	Open     channels.OpenOptions
}

// Selection is a release verified exactly as `pin update` verifies one,
// with the channel indexes it was selected from.
type Selection struct {
	Release  *channels.VerifiedRelease
	Selected channels.Candidate
	Channel  string // the channel read (edge reads stable too)
	Indexes  map[string]*channels.VerifiedChannel
	// Store is the store the release was read from.
	Store  channels.ReadStore
	reader *channels.Reader
}

// SelectRelease verifies and selects the release `pin mirror` copies.
// what is a version (1.5.0, 1.6.0-edge.2) or a channel name (stable, edge),
// meaning the release `pin update` would select on that channel now: the
// highest allowed, unyanked one (pin.yaml's constraint applies when pin.yaml
// follows that channel). A version is looked up on pin.yaml's channel, or,
// without pin.yaml, on stable for a final version and edge for a prerelease.
// The checks are update's own: signature by a trusted key, product and
// channel, expiry, no rollback below pin.lock, manifest digest as listed,
// never a yanked release.
func SelectRelease(ctx context.Context, what string, o SelectOptions) (*Selection, error) {
	source, product, constraint, channel := o.Source, "", "", ""
	var lock *Lock
	verifier := o.Verifier
	if o.Config != nil {
		cfg := o.Config
		source, product, channel = cfg.Source, cfg.Product, cfg.Channel
		if cfg.Root == "" {
			// A root's roles are checked by followRoots below; a release
			// role that lists identities has no plain key verifier.
			v, err := cfg.Verifier()
			if err != nil {
				return nil, exitcode.UsageError(err)
			}
			verifier = v
		}
		var err error
		if lock, err = LoadLock(cfg.LockPath()); err != nil {
			return nil, err
		}
	}
	if verifier == nil && o.Config == nil {
		return nil, exitcode.UsageError(errors.New("no trusted key: pass --config pin.yaml, or --source STORE with --key-file PUB"))
	}
	to := ""
	if channels.ValidName(what) == nil {
		if o.Config != nil && o.Config.Channel == what {
			constraint = o.Config.Constraint
		}
		channel = what
	} else {
		v, err := manifest.ParseVersion(what)
		if err != nil {
			return nil, exitcode.UsageError(fmt.Errorf("%q is neither a release version nor a channel (stable, edge): %w", what, err))
		}
		to = what
		if channel == "" {
			channel = channels.Stable
			if v.Prerelease() != "" {
				channel = channels.Edge
			}
		}
	}
	store, err := openStore(o.Store, source, o.Open)
	if err != nil {
		return nil, err
	}
	var rd *channels.Reader
	if o.Config != nil {
		// Follow the producer's roots as update does.
		now := time.Now
		if o.Now != nil {
			now = o.Now
		}
		trust, err := followRoots(ctx, o.Config, lock, store, now())
		if err != nil {
			return nil, err
		}
		if rd, err = trust.reader(store, product, trust.applyTo(lock), channels.Enforce, o.Now); err != nil {
			return nil, err
		}
	} else if rd, err = newReader(store, verifier, product, lock, channels.Enforce, o.Now); err != nil {
		return nil, err
	}
	indexes, err := fetchVerified(ctx, channel, rd, false)
	if err != nil {
		return nil, err
	}
	// Mirroring an older release is no downgrade of anything: no lock here.
	sel, err := selectRelease(&Config{Channel: channel, Constraint: constraint, Source: store.String()}, nil, indexes, UpdateOptions{To: to})
	if err != nil {
		return nil, err
	}
	vr, err := rd.Release(ctx, sel.Entry)
	if err != nil {
		return nil, err
	}
	if product != "" && vr.Release.Product != product {
		return nil, exitcode.TrustError(fmt.Errorf("release %s names product %q, expected %q", sel.Version, vr.Release.Product, product))
	}
	// Mirroring copies the images a release names into the consumer's
	// registry: bounded like update, so a release cannot pull in another.
	if o.Config != nil {
		if err := o.Config.CheckRepositories(vr.Release, lock); err != nil {
			return nil, err
		}
	}
	return &Selection{Release: vr, Selected: sel, Channel: channel, Indexes: indexes, Store: store, reader: rd}, nil
}

// StoreCopy says what CopyDocuments did.
type StoreCopy struct {
	Releases []string `json:"releases"` // versions written
	Channels []string `json:"channels"` // channel indexes written
	Present  int      `json:"present"`  // documents already there, byte for byte
	// Resigned lists releases the destination held with other signatures
	// (re-signed at the source since): their signatures were replaced.
	Resigned []string `json:"resigned,omitempty"`
	// Kept lists channel indexes left alone because the destination already
	// holds a newer one, validly signed.
	Kept []string `json:"kept"`
	// SameReleases and SameChannels list the documents the destination now
	// holds exactly as the source does (written or already there).
	SameReleases []string `json:"-"`
	SameChannels []string `json:"-"`
}

// CopyDocuments copies the channel indexes a selection was verified from,
// and every release they list (each verified on the way), into dst, so that a
// site can run from its own copy: the documents keep Wellcome's signatures,
// so consumers verify them with Wellcome's key as before. Releases are written
// before the indexes that list them. A release already in dst must be
// byte-identical; an index in dst with a higher sequence is kept, so a mirror
// is never rolled back.
func CopyDocuments(ctx context.Context, sel *Selection, dst channels.Store, dryRun bool) (*StoreCopy, error) {
	out := &StoreCopy{Releases: []string{}, Channels: []string{}, Kept: []string{}}
	names := make([]string, 0, len(sel.Indexes))
	for n := range sel.Indexes {
		names = append(names, n)
	}
	sort.Strings(names)
	idx := map[string]*manifest.Channel{}
	for _, n := range names {
		idx[n] = sel.Indexes[n].Index
	}
	for _, cand := range channels.Visible(sel.Channel, idx) {
		var doc channels.Document
		if cand.Version == sel.Release.Release.Version {
			doc = sel.Release.Doc
		} else {
			vr, err := sel.reader.Release(ctx, cand.Entry)
			if err != nil {
				return nil, err
			}
			doc = vr.Doc
		}
		have, err := dst.GetRelease(ctx, cand.Version)
		switch {
		case err == nil && bytes.Equal(have.Bytes, doc.Bytes) && channels.SameSignatures(have, doc):
			out.Present++
			out.SameReleases = append(out.SameReleases, cand.Version)
			continue
		case err == nil && bytes.Equal(have.Bytes, doc.Bytes):
			// The same release with other signatures: the producer re-signed
			// it after a release-key rotation (pin release resign). The
			// source's signatures verified on the way; the mirror takes them.
			rs, ok := dst.(channels.ReleaseResigner)
			if !ok {
				return nil, fmt.Errorf("%s holds release %s with other signatures than the source's and cannot take new ones", dst, cand.Version)
			}
			if !dryRun {
				if err := rs.ResignRelease(ctx, cand.Version, doc); err != nil {
					return nil, fmt.Errorf("write release %s's signatures to %s: %w", cand.Version, dst, err)
				}
			}
			out.Resigned = append(out.Resigned, cand.Version)
			out.SameReleases = append(out.SameReleases, cand.Version)
			continue
		case err == nil:
			return nil, exitcode.TrustError(fmt.Errorf("%s already holds a different release %s (digest %s, the source's is %s): releases are immutable; remove it by hand if it is yours to replace", dst, cand.Version, manifest.Digest(have.Bytes), cand.Digest))
		case !channels.IsNotFound(err):
			return nil, fmt.Errorf("read release %s from %s: %w", cand.Version, dst, err)
		}
		if !dryRun {
			if err := dst.PutRelease(ctx, cand.Version, doc); err != nil {
				return nil, fmt.Errorf("write release %s to %s: %w", cand.Version, dst, err)
			}
		}
		out.Releases = append(out.Releases, cand.Version)
		out.SameReleases = append(out.SameReleases, cand.Version)
	}
	for _, n := range names {
		vc := sel.Indexes[n]
		have, err := dst.GetChannel(ctx, n)
		switch {
		case err == nil && bytes.Equal(have.Bytes, vc.Doc.Bytes) && bytes.Equal(bytes.TrimSpace(have.Signature), bytes.TrimSpace(vc.Doc.Signature)) && bytes.Equal(have.Bundle, vc.Doc.Bundle):
			out.Present++
			out.SameChannels = append(out.SameChannels, n)
			continue
		case err == nil:
			// Keep a newer index the mirror already has, if it is genuine.
			// Any expiry: a newer index the mirror holds is kept, not judged.
			hv, verr := sel.reader.Trust.Fresh(channels.ReportExpired).UpdateChannel(ctx, n, have)
			if verr == nil && hv.Index.Sequence > vc.Index.Sequence {
				out.Kept = append(out.Kept, n)
				continue
			}
		case !channels.IsNotFound(err):
			return nil, fmt.Errorf("read channel %s from %s: %w", n, dst, err)
		}
		if !dryRun {
			if err := dst.PutChannel(ctx, n, vc.Doc); err != nil {
				return nil, fmt.Errorf("write channel %s to %s: %w", n, dst, err)
			}
		}
		out.Channels = append(out.Channels, n)
		out.SameChannels = append(out.SameChannels, n)
	}
	return out, nil
}
