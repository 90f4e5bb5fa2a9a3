package producer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
)

// BuildOptions say how a release is built from release.yaml.
type BuildOptions struct {
	// Revision is the source revision (git commit) the release is built
	// from, "" when not given: it fills {revision} in release.yaml's images,
	// is recorded as source.revision, and every image whose revision label
	// names a revision must name it.
	Revision string
	// AllowMixedRevisions accepts components built from different
	// revisions, recording each one's in the manifest.
	AllowMixedRevisions bool
	// Jobs bounds concurrent registry requests (registry.DefaultJobs when not positive).
	Jobs int
	// Registry are the registry settings (auth, transport, retries).
	Registry []registry.Option
	// Progress, when set, is told how many images are resolved so far.
	Progress func(done, total int)
	// Now is the clock of the release's created time (time.Now when nil).
	Now func() time.Time
}

// Build is one release to build from release.yaml: its images filled with
// the revision and checked before anything is fetched.
type Build struct {
	cfg    *releaseconfig.Config
	images []string // per component: the image to resolve
	o      BuildOptions
}

// NewBuild checks o against cfg without fetching anything: a revision that
// is not one, or {revision} in an image without one, is a usage error
// (exit 2) naming release.yaml's file:line.
func NewBuild(cfg *releaseconfig.Config, o BuildOptions) (*Build, error) {
	images, err := cfg.Images(o.Revision)
	if err != nil {
		return nil, err
	}
	if o.Jobs < 1 {
		o.Jobs = registry.DefaultJobs
	}
	return &Build{cfg: cfg, images: images, o: o}, nil
}

// Built is a release resolved and checked, ready to be signed.
type Built struct {
	Release *manifest.Release
	// Notes are warnings for the user: components whose revision is
	// unknown, a mix of revisions that was allowed.
	Notes []string
}

// component is one release.yaml component on its way into the manifest.
type component struct {
	conf  releaseconfig.Component
	image string             // conf.Image with {revision} filled: what is resolved
	revs  registry.Revisions // what its images' revision labels say
	out   manifest.Component // what the manifest lists
}

// Release resolves every component concurrently (digests computed from the
// bytes fetched), reads and checks the images' revision labels, and
// confirms that no tag moved meanwhile: the caller signs what it returns
// right away. A component that does not resolve, a label that cannot be
// read or a tag that moved is an operational error (exit 1); revisions that
// do not make one commit's release are a usage error (exit 2).
func (b *Build) Release(ctx context.Context, version string) (*Built, error) {
	comps := make([]component, len(b.cfg.Components))
	for i, c := range b.cfg.Components {
		comps[i] = component{conf: c, image: b.images[i]}
	}
	r := registry.NewResolver(slices.Concat(b.o.Registry, []registry.Option{registry.WithJobs(b.o.Jobs), registry.WithVerifiedDigests(true)})...)
	results := r.Resolve(ctx, b.images, b.o.Progress)
	if err := b.resolved(comps, results); err != nil {
		return nil, err
	}
	if err := b.labelled(comps, r.Revisions(ctx, results)); err != nil {
		return nil, err
	}
	check := revisionCheck{path: b.cfg.Path, given: b.o.Revision, allowMixed: b.o.AllowMixedRevisions}
	source, notes, err := check.apply(comps)
	if err != nil {
		return nil, fmt.Errorf("%w\nnothing was published", err)
	}
	if err := b.confirm(ctx, r, comps, results); err != nil {
		return nil, err
	}
	now := time.Now
	if b.o.Now != nil {
		now = b.o.Now
	}
	rel := &manifest.Release{
		SchemaVersion: manifest.SchemaVersion,
		Kind:          manifest.KindRelease,
		Product:       b.cfg.Product,
		Version:       version,
		Created:       now().UTC().Truncate(time.Second),
		Source:        manifest.Source{Repository: b.cfg.Source, Revision: source},
	}
	for _, c := range comps {
		rel.Components = append(rel.Components, c.out)
	}
	return &Built{Release: rel, Notes: notes}, nil
}

// where names a component for an error: its name and release.yaml's file:line.
func (b *Build) where(c releaseconfig.Component) string {
	return fmt.Sprintf("component %s (%s:%d)", c.Name, b.cfg.Path, c.Line)
}

// resolved records each component's resolution, or fails naming every
// component that did not resolve.
func (b *Build) resolved(comps []component, results []registry.Result) error {
	var failed []error
	for i, res := range results {
		c := &comps[i]
		if res.Err != nil {
			failed = append(failed, fmt.Errorf("component %s (%s, %s:%d): %w", c.conf.Name, c.image, b.cfg.Path, c.conf.Line, res.Err))
			continue
		}
		c.out = manifest.Component{Name: c.conf.Name, Repository: res.Repository, Tag: res.Tag, Digest: res.Digest,
			MediaType: res.MediaType, Platforms: res.Platforms}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d components did not resolve; nothing was published:\n%w", len(failed), len(results), errors.Join(failed...))
	}
	return nil
}

// labelled records each component's revision labels, or fails naming every
// component whose labels could not be read.
func (b *Build) labelled(comps []component, revs []registry.Revisions) error {
	var failed []error
	for i, rv := range revs {
		if rv.Err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", b.where(comps[i].conf), rv.Err))
		}
		comps[i].revs = rv
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not read the revisions of %d of %d components; nothing was published:\n%w", len(failed), len(comps), errors.Join(failed...))
	}
	return nil
}

// confirm resolves every tag once more and fails, naming each, when one
// now names another digest: the registry changed under the release, and
// running again once the build that pushes it has finished succeeds.
func (b *Build) confirm(ctx context.Context, r *registry.Resolver, comps []component, results []registry.Result) error {
	moved, err := r.Confirm(ctx, results)
	if err != nil {
		return fmt.Errorf("confirming the resolved tags: %w; nothing was published", err)
	}
	if len(moved) == 0 {
		return nil
	}
	var lines []string
	for _, m := range moved {
		lines = append(lines, fmt.Sprintf("%s: tag %s was %s, now %s", b.where(comps[m.Index].conf), m.Ref, m.Was, m.Now))
	}
	return fmt.Errorf("%d tag(s) moved while the release was being resolved; nothing was published (run again once the build that pushes them has finished):\n  %s", len(moved), strings.Join(lines, "\n  "))
}
