// Package mirror copies a verified release's images into another registry:
// every component by digest (indexes with every platform image), with the
// cosign signatures, attestations and referrers attached to them, to
// PREFIX/<component>. It moves bytes and checks digests; deciding which
// release is trusted is the caller's job (package pin).
//
// A copy is idempotent and resumable: a manifest is pushed only after all it
// refers to is in the destination, so a manifest found there by digest means
// its whole tree is there and is skipped; a blob found there is never
// uploaded again; a blob another destination repository already holds is
// mounted rather than uploaded.
package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/reponame"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
)

// DefaultJobs bounds how many blobs are copied at once.
const DefaultJobs = 8

// Options tune Mirror.
type Options struct {
	// Jobs bounds concurrent blob copies and components in flight (default DefaultJobs).
	Jobs int
	// DryRun reads the source and the destination and reports what would be
	// copied, writing nothing.
	DryRun bool
	// Client talks to both registries (auth, retries, counting). Default: a
	// registry.NewClient().
	Client *registry.Client
	// Progress, when set, is called after each component is done, by one
	// goroutine at a time.
	Progress func(ComponentResult)
}

// Stats counts what a copy did (on a dry run, what it would do). Blobs are
// counted per destination repository.
type Stats struct {
	Manifests        int64 `json:"manifests"`        // manifests pushed
	ManifestsPresent int64 `json:"manifestsPresent"` // manifests already in the destination (their tree skipped)
	BlobsUploaded    int64 `json:"blobsUploaded"`
	BlobsMounted     int64 `json:"blobsMounted"` // cross-repository mounts inside the destination registry
	BlobsPresent     int64 `json:"blobsPresent"`
	BytesUploaded    int64 `json:"bytesUploaded"`
	Signatures       int64 `json:"signatures"` // signature, attestation and referrer manifests found in the source
}

func (s *Stats) add(o Stats) {
	s.Manifests += o.Manifests
	s.ManifestsPresent += o.ManifestsPresent
	s.BlobsUploaded += o.BlobsUploaded
	s.BlobsMounted += o.BlobsMounted
	s.BlobsPresent += o.BlobsPresent
	s.BytesUploaded += o.BytesUploaded
	s.Signatures += o.Signatures
}

// ComponentResult is one component's copy.
type ComponentResult struct {
	Name   string `json:"name"`
	From   string `json:"from"` // source repo@digest
	To     string `json:"to"`   // destination repo@digest
	Tag    string `json:"tag"`  // the tag set in the destination (the release version)
	Digest string `json:"digest"`
	// Verified is set when the destination's manifest under Tag was read back
	// and hashed to Digest (never on a dry run).
	Verified bool `json:"verified"`
	Stats
}

// Result is a whole release's copy.
type Result struct {
	Prefix     string            `json:"prefix"`
	Version    string            `json:"version"`
	DryRun     bool              `json:"dryRun"`
	Components []ComponentResult `json:"components"`
	Total      Stats             `json:"total"`
	// RegistryMap is what pin.yaml needs so that references point at the mirror.
	RegistryMap map[string]string `json:"registryMap"`
}

// copier is one Mirror call's shared state.
type copier struct {
	o      Options
	client *registry.Client
	blobs  chan struct{} // bounds concurrent blob copies
	mu     sync.Mutex
	homes  map[string]*blobHome // blob digest → the destination repository that holds (or is getting) it
}

// blobHome lets components that share a blob (a base layer) upload it once
// and mount it everywhere else.
type blobHome struct {
	done chan struct{}
	repo name.Repository
	ok   bool
}

// Mirror copies every component of rel to PREFIX/<component>, tagging each
// with the release version, and checks each copied manifest's digest.
func Mirror(ctx context.Context, rel *manifest.Release, prefix string, o Options) (*Result, error) {
	p, err := reponame.ParsePrefix(prefix)
	if err != nil {
		return nil, fmt.Errorf("mirror prefix %w", err)
	}
	if o.Jobs < 1 {
		o.Jobs = DefaultJobs
	}
	if o.Client == nil {
		o.Client = registry.NewClient()
	}
	c := &copier{o: o, client: o.Client, blobs: make(chan struct{}, o.Jobs), homes: map[string]*blobHome{}}
	for _, comp := range rel.Components {
		if reponame.Canonical(reponame.Destination(p, comp)) == reponame.Canonical(comp.Repository) {
			return nil, fmt.Errorf("mirror prefix %s: component %s would be copied onto its own repository %s", p, comp.Name, comp.Repository)
		}
	}
	res := &Result{Prefix: p, Version: rel.Version, DryRun: o.DryRun, Components: make([]ComponentResult, len(rel.Components)), RegistryMap: reponame.MirrorMap(rel, p)}
	state, err := c.survey(ctx, rel, p)
	if err != nil {
		return nil, err
	}
	var progressMu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Jobs)
	for i, comp := range rel.Components {
		g.Go(func() error {
			cr, err := c.component(gctx, comp, reponame.Destination(p, comp), rel.Version, state[i])
			if err != nil {
				return fmt.Errorf("mirror %s (%s@%s): %w", comp.Name, comp.Repository, comp.Digest, err)
			}
			res.Components[i] = *cr
			if o.Progress != nil {
				progressMu.Lock()
				defer progressMu.Unlock()
				o.Progress(*cr)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, cr := range res.Components {
		res.Total.add(cr.Stats)
	}
	return res, nil
}

// presence is what the mirror already holds of a component.
type presence int

const (
	absent  presence = iota
	present          // the manifest is there by digest (an earlier release, an interrupted run)
	tagged           // and the version tag names it
)

// survey asks the mirror what it has of each component. When some
// components are there and others are not (a new component, a resumed run),
// it also reads the present ones' manifests from the mirror, so that a blob
// they hold is mounted into a new repository instead of uploaded again.
func (c *copier) survey(ctx context.Context, rel *manifest.Release, prefix string) ([]presence, error) {
	state := make([]presence, len(rel.Components))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.o.Jobs)
	for i, comp := range rel.Components {
		g.Go(func() error {
			r, want, err := c.componentOps(gctx, comp, reponame.Destination(prefix, comp), &Stats{})
			if err != nil {
				return err
			}
			if ok, err := c.hasTag(gctx, r, rel.Version, want); err != nil || ok {
				if ok {
					state[i] = tagged
				}
				return err
			}
			ok, err := c.manifestExists(gctx, r, want)
			if ok {
				state[i] = present
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	some, all := false, true
	for _, st := range state {
		some = some || st != absent
		all = all && st != absent
	}
	if !some || all {
		return state, nil
	}
	var mu sync.Mutex
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(c.o.Jobs)
	for i, comp := range rel.Components {
		if state[i] == absent {
			continue
		}
		g.Go(func() error {
			r, want, err := c.componentOps(gctx, comp, reponame.Destination(prefix, comp), &Stats{})
			if err != nil {
				return err
			}
			blobs, err := c.blobsOf(gctx, r, want)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, b := range blobs {
				if c.homes[b] == nil {
					h := &blobHome{done: make(chan struct{}), repo: r.dst, ok: true}
					close(h.done)
					c.homes[b] = h
				}
			}
			return nil
		})
	}
	return state, g.Wait()
}

// blobsOf lists the blobs of the manifest tree at dst@digest.
func (c *copier) blobsOf(ctx context.Context, r *repoOps, digest v1.Hash) ([]string, error) {
	ref := r.dst.Digest(digest.String())
	desc, err := remote.Get(ref, r.dstOpts...)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ref, registry.Classify(ctx, r.dst.RegistryStr(), err))
	}
	if desc.MediaType.IsIndex() {
		im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			return nil, fmt.Errorf("parse index %s: %w", ref, err)
		}
		var out []string
		for _, child := range im.Manifests {
			if !child.MediaType.IsImage() && !child.MediaType.IsIndex() {
				continue
			}
			bs, err := c.blobsOf(ctx, r, child.Digest)
			if err != nil {
				return nil, err
			}
			out = append(out, bs...)
		}
		return out, nil
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w", ref, err)
	}
	out := []string{m.Config.Digest.String()}
	for _, l := range m.Layers {
		out = append(out, l.Digest.String())
	}
	return out, nil
}

// CopyAttachments copies the cosign signatures, attestations and referrers
// of what src:tag names to dst, for each tag that names the same digest in
// both repositories (an OCI store's documents, copied document by document,
// are byte-identical artifacts): so `cosign verify` accepts the copies too.
// It returns how many attachments it found.
func CopyAttachments(ctx context.Context, src, dst string, tags []string, o Options) (int, error) {
	if o.Jobs < 1 {
		o.Jobs = DefaultJobs
	}
	if o.Client == nil {
		o.Client = registry.NewClient()
	}
	srcRepo, err := name.NewRepository(src)
	if err != nil {
		return 0, err
	}
	dstRepo, err := name.NewRepository(dst)
	if err != nil {
		return 0, err
	}
	c := &copier{o: o, client: o.Client, blobs: make(chan struct{}, o.Jobs), homes: map[string]*blobHome{}}
	var st Stats
	r, err := c.ops(ctx, srcRepo, dstRepo, &st)
	if err != nil {
		return 0, err
	}
	for _, t := range tags {
		sd, err := remote.Head(srcRepo.Tag(t), r.srcOpts...)
		if err != nil {
			return 0, fmt.Errorf("check %s:%s: %w", srcRepo, t, registry.Classify(ctx, srcRepo.RegistryStr(), err))
		}
		if ok, err := c.hasTag(ctx, r, t, sd.Digest); err != nil || !ok {
			if err != nil {
				return 0, err
			}
			continue // another artifact under the tag: its source signatures do not apply
		}
		if err := c.attachments(ctx, r, sd.Digest); err != nil {
			return 0, err
		}
	}
	return int(st.Signatures), nil
}

// repoOps holds the go-containerregistry options for one source and one
// destination repository.
type repoOps struct {
	src, dst   name.Repository
	srcOpts    []remote.Option
	dstOpts    []remote.Option
	dstClient  *http.Client
	stats      *Stats
	statsMu    *sync.Mutex
	dryRunSeen map[string]bool
}

func (c *copier) ops(ctx context.Context, src, dst name.Repository, st *Stats) (*repoOps, error) {
	srt, err := c.client.Transport(ctx, src, false)
	if err != nil {
		return nil, err
	}
	var drt http.RoundTripper
	if c.o.DryRun {
		drt, err = c.client.Transport(ctx, dst, false)
	} else {
		drt, err = c.client.Transport(ctx, dst, true)
	}
	if err != nil {
		return nil, err
	}
	return &repoOps{
		src: src, dst: dst,
		srcOpts:   []remote.Option{remote.WithContext(ctx), remote.WithTransport(srt)},
		dstOpts:   []remote.Option{remote.WithContext(ctx), remote.WithTransport(drt)},
		dstClient: &http.Client{Transport: drt},
		stats:     st, statsMu: &sync.Mutex{}, dryRunSeen: map[string]bool{},
	}, nil
}

func (r *repoOps) count(f func(*Stats)) {
	r.statsMu.Lock()
	defer r.statsMu.Unlock()
	f(r.stats)
}

// componentOps opens the source and destination repositories of comp.
func (c *copier) componentOps(ctx context.Context, comp manifest.Component, dest string, st *Stats) (*repoOps, v1.Hash, error) {
	src, err := name.NewRepository(comp.Repository)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	dst, err := name.NewRepository(dest)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	want, err := v1.NewHash(comp.Digest)
	if err != nil {
		return nil, v1.Hash{}, err
	}
	r, err := c.ops(ctx, src, dst, st)
	return r, want, err
}

func (c *copier) component(ctx context.Context, comp manifest.Component, dest, version string, state presence) (*ComponentResult, error) {
	cr := &ComponentResult{Name: comp.Name, From: comp.Repository + "@" + comp.Digest, To: dest + "@" + comp.Digest, Tag: version, Digest: comp.Digest}
	r, want, err := c.componentOps(ctx, comp, dest, &cr.Stats)
	if err != nil {
		return nil, err
	}
	// The version tag is pushed only after the whole tree, so a tag already
	// at the digest means the component is there: a rerun skips it.
	if state == tagged {
		r.count(func(s *Stats) { s.ManifestsPresent++ })
	} else {
		raw, mt, err := c.copyManifest(ctx, r, want, true)
		if err != nil {
			return nil, err
		}
		if err := c.checkPlatforms(comp, raw, mt); err != nil {
			return nil, err
		}
		if err := c.tag(ctx, r, version, want, raw, mt); err != nil {
			return nil, err
		}
	}
	// Attachments of the component and of each platform image.
	subjects := []v1.Hash{want}
	for _, p := range comp.Platforms {
		if h, err := v1.NewHash(p.Digest); err == nil {
			subjects = append(subjects, h)
		}
	}
	for _, s := range subjects {
		if err := c.attachments(ctx, r, s); err != nil {
			return nil, err
		}
	}
	if !c.o.DryRun {
		// Read back what the mirror serves under the tag, and hash it.
		desc, err := remote.Get(r.dst.Tag(version), r.dstOpts...)
		if err != nil {
			return nil, fmt.Errorf("read back %s:%s: %w", r.dst, version, registry.Classify(ctx, r.dst.RegistryStr(), err))
		}
		got, _, err := v1.SHA256(bytes.NewReader(desc.Manifest))
		if err != nil {
			return nil, err
		}
		if got != want {
			return nil, exitcode.TrustError(fmt.Errorf("%s:%s holds %s after the copy, the release lists %s", r.dst, version, got, want))
		}
		if err := c.checkPlatforms(comp, desc.Manifest, desc.MediaType); err != nil {
			return nil, err
		}
		cr.Verified = true
	}
	return cr, nil
}

// checkPlatforms makes sure the index fetched lists every platform digest
// the release records: the release's platforms are what consumers and audit
// compare against, so a mismatch is a broken release, not a copy to make.
func (c *copier) checkPlatforms(comp manifest.Component, raw []byte, mt types.MediaType) error {
	if len(comp.Platforms) == 0 || !mt.IsIndex() {
		return nil
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for _, d := range idx.Manifests {
		have[d.Digest.String()] = true
	}
	for _, p := range comp.Platforms {
		if !have[p.Digest] {
			return fmt.Errorf("the index does not list platform %s/%s %s that the release records", p.OS, p.Architecture, p.Digest)
		}
	}
	return nil
}

// manifestExists reports whether dst holds the manifest digest.
func (c *copier) manifestExists(ctx context.Context, r *repoOps, digest v1.Hash) (bool, error) {
	ref := r.dst.Digest(digest.String())
	_, err := remote.Head(ref, r.dstOpts...)
	switch err = registry.Classify(ctx, r.dst.RegistryStr(), err); {
	case err == nil:
		return true, nil
	case errors.Is(err, registry.ErrNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("check %s: %w", ref, err)
	}
}

// hasTag reports whether dst:tag names digest.
func (c *copier) hasTag(ctx context.Context, r *repoOps, tag string, digest v1.Hash) (bool, error) {
	ref := r.dst.Tag(tag)
	d, err := remote.Head(ref, r.dstOpts...)
	switch err = registry.Classify(ctx, r.dst.RegistryStr(), err); {
	case err == nil:
		return d.Digest == digest, nil
	case errors.Is(err, registry.ErrNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("check %s: %w", ref, err)
	}
}

// tag points dst:tag at digest unless it already does.
func (c *copier) tag(ctx context.Context, r *repoOps, tag string, digest v1.Hash, raw []byte, mt types.MediaType) error {
	ref := r.dst.Tag(tag)
	if ok, err := c.hasTag(ctx, r, tag, digest); err != nil || ok || c.o.DryRun {
		return err
	}
	if err := remote.Put(ref, registry.RawManifest{Bytes: raw, Type: mt}, r.dstOpts...); err != nil {
		return fmt.Errorf("tag %s: %w", ref, registry.Classify(ctx, r.dst.RegistryStr(), err))
	}
	return nil
}

// attachments copies the cosign signature (.sig) and attestation (.att)
// tags of subject, and its referrers (the referrers API, or its fallback tag
// sha256-<hex>), when the source has any.
func (c *copier) attachments(ctx context.Context, r *repoOps, subject v1.Hash) error {
	for _, suffix := range []string{".sig", ".att"} {
		tag := r.src.Tag(subject.Algorithm + "-" + subject.Hex + suffix)
		desc, err := remote.Head(tag, r.srcOpts...)
		if err != nil {
			if errors.Is(registry.Classify(ctx, r.src.RegistryStr(), err), registry.ErrNotFound) {
				continue
			}
			return fmt.Errorf("look for %s: %w", tag, registry.Classify(ctx, r.src.RegistryStr(), err))
		}
		r.count(func(s *Stats) { s.Signatures++ })
		if ok, err := c.hasTag(ctx, r, tag.TagStr(), desc.Digest); err != nil || ok {
			if err != nil {
				return err
			}
			continue // copied on an earlier run, and unchanged since
		}
		raw, mt, err := c.copyManifest(ctx, r, desc.Digest, true)
		if err != nil {
			return fmt.Errorf("copy %s: %w", tag, err)
		}
		if err := c.tag(ctx, r, tag.TagStr(), desc.Digest, raw, mt); err != nil {
			return err
		}
	}
	idx, err := remote.Referrers(r.src.Digest(subject.String()), r.srcOpts...)
	if err != nil {
		if errors.Is(registry.Classify(ctx, r.src.RegistryStr(), err), registry.ErrNotFound) {
			return nil
		}
		return fmt.Errorf("list referrers of %s@%s: %w", r.src, subject, registry.Classify(ctx, r.src.RegistryStr(), err))
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		r.count(func(s *Stats) { s.Signatures++ })
		// Pushing a manifest with a subject registers it with the
		// destination's referrers API, or updates its fallback tag.
		if _, _, err := c.copyManifest(ctx, r, d.Digest, false); err != nil {
			return fmt.Errorf("copy referrer %s of %s: %w", d.Digest, subject, err)
		}
	}
	return nil
}

// copyManifest makes dst@digest exist: when it is not there yet, it copies
// what the manifest refers to (child manifests, then blobs) and pushes the
// manifest's bytes exactly as the source serves them. It returns the bytes.
// The source is read by digest and hashed, so nothing but the digest asked
// for is ever copied.
func (c *copier) copyManifest(ctx context.Context, r *repoOps, digest v1.Hash, needBytes bool) ([]byte, types.MediaType, error) {
	dref := r.dst.Digest(digest.String())
	if ok, err := c.manifestExists(ctx, r, digest); err != nil {
		return nil, "", err
	} else if ok {
		r.count(func(s *Stats) { s.ManifestsPresent++ })
		if !needBytes {
			return nil, "", nil // an index's children: only their presence matters
		}
		desc, err := remote.Get(dref, r.dstOpts...)
		if err != nil {
			return nil, "", fmt.Errorf("read %s: %w", dref, registry.Classify(ctx, r.dst.RegistryStr(), err))
		}
		return desc.Manifest, desc.MediaType, nil
	}
	sref := r.src.Digest(digest.String())
	desc, err := remote.Get(sref, r.srcOpts...) // hashes the body against the digest
	if err != nil {
		var dm *registry.DigestMismatchError
		if errors.As(err, &dm) && dm.Requested != "" {
			return nil, "", exitcode.TrustError(fmt.Errorf("fetch %s: the source serves other bytes under this digest: %w", sref, err))
		}
		return nil, "", fmt.Errorf("fetch %s: %w", sref, registry.Classify(ctx, r.src.RegistryStr(), err))
	}
	if len(desc.Manifest) > registry.MaxManifestSize {
		return nil, "", fmt.Errorf("%s is %d bytes, over the cap of %d", sref, len(desc.Manifest), registry.MaxManifestSize)
	}
	raw, mt := desc.Manifest, desc.MediaType
	if mt.IsIndex() {
		im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, "", fmt.Errorf("parse index %s: %w", sref, err)
		}
		g, gctx := errgroup.WithContext(ctx)
		for _, child := range im.Manifests {
			if !child.MediaType.IsImage() && !child.MediaType.IsIndex() {
				continue // not a manifest a registry stores (a blob descriptor in an artifact index)
			}
			g.Go(func() error {
				_, _, err := c.copyManifest(gctx, r, child.Digest, false)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, "", err
		}
	} else {
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, "", fmt.Errorf("parse manifest %s: %w", sref, err)
		}
		blobs := append([]v1.Descriptor{m.Config}, m.Layers...)
		g, gctx := errgroup.WithContext(ctx)
		for _, b := range blobs {
			if len(b.URLs) > 0 || b.MediaType == types.DockerForeignLayer {
				continue // foreign layers live elsewhere and are not pushed
			}
			g.Go(func() error { return c.copyBlob(gctx, r, b) })
		}
		if err := g.Wait(); err != nil {
			return nil, "", err
		}
	}
	if c.o.DryRun {
		r.count(func(s *Stats) { s.Manifests++ }) // would be pushed
		return raw, mt, nil
	}
	if err := remote.Put(dref, registry.RawManifest{Bytes: raw, Type: mt}, r.dstOpts...); err != nil {
		return nil, "", fmt.Errorf("push %s: %w", dref, registry.Classify(ctx, r.dst.RegistryStr(), err))
	}
	// The registry must say it stored exactly these bytes.
	got, err := remote.Head(dref, r.dstOpts...)
	if err != nil {
		return nil, "", fmt.Errorf("read back %s: %w", dref, registry.Classify(ctx, r.dst.RegistryStr(), err))
	}
	if got.Digest != digest {
		return nil, "", exitcode.TrustError(fmt.Errorf("%s: the destination reports digest %s after the push", dref, got.Digest))
	}
	r.count(func(s *Stats) { s.Manifests++ })
	return raw, mt, nil
}

// copyBlob makes blob d exist in dst: present already, mounted from another
// destination repository that holds it (or from the source, when it is in the
// same registry), or uploaded from the source.
func (c *copier) copyBlob(ctx context.Context, r *repoOps, d v1.Descriptor) error {
	select {
	case c.blobs <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	held := true
	release := func() {
		if held {
			<-c.blobs
			held = false
		}
	}
	defer release()
	bref := r.dst.Digest(d.Digest.String())
	present, err := c.blobExists(ctx, r, d.Digest)
	if err != nil {
		return err
	}
	key := d.Digest.String()
	c.mu.Lock()
	h := c.homes[key]
	mine := false
	if h == nil {
		h = &blobHome{done: make(chan struct{}), repo: r.dst}
		c.homes[key] = h
		mine = true
	}
	c.mu.Unlock()
	if present {
		r.count(func(s *Stats) { s.BlobsPresent++ })
		if mine {
			h.ok = true
			close(h.done)
		}
		return nil
	}
	if c.o.DryRun {
		r.count(func(s *Stats) {
			if !r.dryRunSeen[key] {
				r.dryRunSeen[key] = true
				s.BlobsUploaded++
				s.BytesUploaded += d.Size
			}
		})
		if mine {
			close(h.done)
		}
		return nil
	}
	if !mine {
		// Another component is copying this blob: wait for it (without
		// holding a slot), then mount from where it went.
		release()
		select {
		case <-h.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		if h.ok && h.repo.Name() == r.dst.Name() {
			r.count(func(s *Stats) { s.BlobsPresent++ }) // two images of one repository share it
			return nil
		}
		// Some registries keep one blob store for all repositories.
		if present, err := c.blobExists(ctx, r, d.Digest); err != nil {
			return err
		} else if present {
			r.count(func(s *Stats) { s.BlobsPresent++ })
			return nil
		}
		if h.ok {
			mounted, err := c.mount(ctx, r, d.Digest, h.repo)
			if err != nil {
				return fmt.Errorf("mount %s from %s: %w", bref, h.repo, err)
			}
			if mounted {
				r.count(func(s *Stats) { s.BlobsMounted++ })
				return nil
			}
		}
		select {
		case c.blobs <- struct{}{}:
			held = true
		case <-ctx.Done():
			return ctx.Err()
		}
		return c.upload(ctx, r, d)
	}
	defer close(h.done)
	// Inside one registry the source itself can be mounted from.
	if r.src.RegistryStr() == r.dst.RegistryStr() {
		mounted, err := c.mount(ctx, r, d.Digest, r.src)
		if err != nil {
			return fmt.Errorf("mount %s from %s: %w", bref, r.src, err)
		}
		if mounted {
			r.count(func(s *Stats) { s.BlobsMounted++ })
			h.ok = true
			return nil
		}
	}
	if err := c.upload(ctx, r, d); err != nil {
		return err
	}
	h.ok = true
	return nil
}

func (c *copier) blobExists(ctx context.Context, r *repoOps, d v1.Hash) (bool, error) {
	u := url.URL{Scheme: r.dst.Scheme(), Host: r.dst.RegistryStr(), Path: fmt.Sprintf("/v2/%s/blobs/%s", r.dst.RepositoryStr(), d)}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return false, err
	}
	resp, err := r.dstClient.Do(req)
	if err != nil {
		return false, fmt.Errorf("check blob %s@%s: %w", r.dst, d, registry.Classify(ctx, r.dst.RegistryStr(), err))
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("check blob %s@%s: %w", r.dst, d, transport.CheckError(resp, http.StatusOK))
}

// mount asks the destination registry to link blob d from repository from
// into dst. A registry that cannot (another registry's repository, no
// permission, no such blob) answers 202 with an upload session, which is
// cancelled: the caller then uploads.
func (c *copier) mount(ctx context.Context, r *repoOps, d v1.Hash, from name.Repository) (bool, error) {
	if from.RegistryStr() != r.dst.RegistryStr() {
		return false, nil
	}
	q := url.Values{"mount": {d.String()}, "from": {from.RepositoryStr()}}
	u := url.URL{Scheme: r.dst.Scheme(), Host: r.dst.RegistryStr(), Path: fmt.Sprintf("/v2/%s/blobs/uploads/", r.dst.RepositoryStr()), RawQuery: q.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return false, err
	}
	resp, err := r.dstClient.Do(req)
	if err != nil {
		return false, registry.Classify(ctx, r.dst.RegistryStr(), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusCreated:
		return true, nil
	case http.StatusAccepted:
		if loc := resp.Header.Get("Location"); loc != "" {
			if lu, err := resp.Request.URL.Parse(loc); err == nil && lu.Host == u.Host {
				if del, err := http.NewRequestWithContext(ctx, http.MethodDelete, lu.String(), nil); err == nil {
					if dr, err := r.dstClient.Do(del); err == nil {
						dr.Body.Close()
					}
				}
			}
		}
		return false, nil
	}
	return false, nil // a registry that refuses mounts gets an upload
}

// upload streams blob d from the source into dst. go-containerregistry
// checks the bytes against the digest as they are read, and the destination
// checks them again when the upload is committed.
func (c *copier) upload(ctx context.Context, r *repoOps, d v1.Descriptor) error {
	l, err := remote.Layer(r.src.Digest(d.Digest.String()), r.srcOpts...)
	if err != nil {
		return fmt.Errorf("blob %s@%s: %w", r.src, d.Digest, err)
	}
	// Wrapped so that remote does not try (and fail) to mount from the source
	// registry into another one.
	if err := remote.WriteLayer(r.dst, plainLayer{l}, r.dstOpts...); err != nil {
		return fmt.Errorf("upload blob %s to %s: %w", d.Digest, r.dst, registry.Classify(ctx, r.dst.RegistryStr(), err))
	}
	r.count(func(s *Stats) {
		s.BlobsUploaded++
		s.BytesUploaded += d.Size
	})
	return nil
}

// plainLayer hides remote's MountableLayer type from remote.WriteLayer.
type plainLayer struct{ v1.Layer }
