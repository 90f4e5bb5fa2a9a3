package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"
)

// RevisionLabel is the image label (OCI image spec annotation key) that names
// the source revision an image was built from.
const RevisionLabel = "org.opencontainers.image.revision"

// MaxConfigSize caps an image config blob read for its labels.
const MaxConfigSize = 4 << 20

// ImageRevision is the revision label of one image.
type ImageRevision struct {
	Platform string // os/arch[/variant] of an index's child; "" for an image tag
	Digest   string // the image manifest's digest
	Revision string // the RevisionLabel value; "" when the image has none
}

// Revisions is what the images behind one resolved reference say about
// where they came from.
type Revisions struct {
	// Images holds the image itself, or each platform image of an index in
	// the order of Result.Platforms.
	Images []ImageRevision
	Err    error
}

// Distinct returns the different non-empty revisions of the images, sorted.
func (r Revisions) Distinct() []string {
	var out []string
	for _, im := range r.Images {
		if im.Revision != "" {
			out = append(out, im.Revision)
		}
	}
	sort.Strings(out)
	return compact(out)
}

// Revisions reads RevisionLabel from the config of every image behind
// results: the image a tag names, or each platform image of an index (as
// listed in Result.Platforms). It returns one Revisions per result, in order;
// a result that carries an Err is skipped.
//
// All requests run concurrently (at most WithJobs at once) over the
// Resolver's authenticated transports: one config blob per image, preceded,
// for a platform image of an index, by its manifest (and for an image tag
// whose manifest Resolve did not fetch, see Result.Config). Every manifest and
// config is checked against its digest before a label is read from it.
func (r *Resolver) Revisions(ctx context.Context, results []Result) []Revisions {
	out := make([]Revisions, len(results))
	type task struct {
		res, img int
		repo     name.Repository
		manifest string // manifest digest
		config   string // config digest, when known
	}
	var tasks []task
	var repos []name.Repository
	for i, res := range results {
		if res.Err != nil {
			continue
		}
		repo, err := name.NewRepository(res.Repository)
		if err != nil {
			out[i].Err = fmt.Errorf("read revision of %s: %w", res.Ref, err)
			continue
		}
		repos = append(repos, repo)
		if len(res.Platforms) == 0 {
			out[i].Images = []ImageRevision{{Digest: res.Digest}}
			tasks = append(tasks, task{res: i, repo: repo, manifest: res.Digest, config: res.Config})
			continue
		}
		out[i].Images = make([]ImageRevision, len(res.Platforms))
		for j, p := range res.Platforms {
			out[i].Images[j] = ImageRevision{Platform: p.String(), Digest: p.Digest}
			tasks = append(tasks, task{res: i, img: j, repo: repo, manifest: p.Digest})
		}
	}
	groups := r.authenticate(ctx, repos)

	errs := make([]error, len(tasks))
	var g errgroup.Group
	g.SetLimit(r.h.o.jobs)
	for k, t := range tasks {
		g.Go(func() error {
			rev, err := r.revision(ctx, t.repo, groups[t.repo.Scope(transport.PullScope)], t.manifest, t.config)
			if err != nil {
				errs[k] = fmt.Errorf("read %s of %s@%s: %w", RevisionLabel, t.repo, t.manifest, err)
				return nil
			}
			out[t.res].Images[t.img].Revision = rev
			return nil
		})
	}
	_ = g.Wait()
	for k, t := range tasks {
		if errs[k] != nil && out[t.res].Err == nil {
			out[t.res].Err = errs[k]
		}
	}
	return out
}

// revision returns the RevisionLabel of the image manifest digest in repo,
// fetching the manifest first when its config digest is not known.
func (r *Resolver) revision(ctx context.Context, repo name.Repository, g *authGroup, digest, config string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	host := repo.RegistryStr()
	rt, err := g.transport(ctx, r.h)
	if err != nil {
		return "", err
	}
	ropts := remoteOptions(ctx, rt)
	if config == "" {
		// A digest reference: remote.Get checks the body against it.
		desc, err := remote.Get(repo.Digest(digest), ropts...)
		if err != nil {
			return "", classify(ctx, host, err)
		}
		if config = ConfigDigest(desc.Manifest); config == "" {
			return "", fmt.Errorf("%s is not an image manifest (%s)", digest, desc.MediaType)
		}
	}
	h, err := v1.NewHash(config)
	if err != nil || h.Algorithm != "sha256" {
		return "", fmt.Errorf("config digest %q is not sha256", config)
	}
	l, err := remote.Layer(repo.Digest(config), ropts...)
	if err != nil {
		return "", fmt.Errorf("config %s: %w", config, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return "", fmt.Errorf("config %s: %w", config, classify(ctx, host, err))
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxConfigSize+1))
	if err != nil {
		return "", fmt.Errorf("config %s: %w", config, classify(ctx, host, err))
	}
	if len(b) > MaxConfigSize {
		return "", fmt.Errorf("config %s is over the %d-byte cap", config, MaxConfigSize)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != h.Hex {
		return "", fmt.Errorf("config %s: content hashes to sha256:%x", config, sum)
	}
	var cf struct {
		Config struct {
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
	}
	if err := json.Unmarshal(b, &cf); err != nil {
		return "", fmt.Errorf("config %s: %w", config, err)
	}
	return cf.Config.Labels[RevisionLabel], nil
}

// ConfigDigest returns the config digest an image manifest's bytes name, or
// "" when b is not an image manifest (an index, or not JSON).
func ConfigDigest(b []byte) string {
	var m struct {
		Config    *v1.Descriptor    `json:"config"`
		Manifests []json.RawMessage `json:"manifests"`
	}
	if json.NewDecoder(bytes.NewReader(b)).Decode(&m) != nil || m.Config == nil || m.Manifests != nil {
		return ""
	}
	return m.Config.Digest.String()
}

// Moved is a tag that names another digest than when it was first resolved.
type Moved struct {
	Index int    // position in the results given to Confirm
	Ref   string // the reference as given
	Was   string // digest of the first resolution
	Now   string // digest it names now
}

// Confirm asks the registry once more what each tagged result's reference
// names, concurrently and with HEAD requests (a GET where HEAD gives no
// digest), and returns the references that now name another digest, in
// input order. Digest references cannot move and are not asked again;
// results with an Err are skipped. The error is the first reference that
// could not be asked.
func (r *Resolver) Confirm(ctx context.Context, results []Result) ([]Moved, error) {
	type task struct {
		res int
		ref name.Reference
	}
	var tasks []task
	var repos []name.Repository
	for i, res := range results {
		if res.Err != nil {
			continue
		}
		ref, err := name.ParseReference(res.Ref)
		if err != nil {
			return nil, fmt.Errorf("confirm %s: %w", res.Ref, err)
		}
		if _, isDigest := ref.(name.Digest); isDigest {
			continue
		}
		repos = append(repos, ref.Context())
		tasks = append(tasks, task{res: i, ref: ref})
	}
	groups := r.authenticate(ctx, repos)
	now := make([]string, len(tasks))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.h.o.jobs)
	for k, t := range tasks {
		g.Go(func() error {
			d, err := r.head(gctx, t.ref, groups[t.ref.Context().Scope(transport.PullScope)])
			if err != nil {
				return fmt.Errorf("confirm %s: %w", results[t.res].Ref, err)
			}
			now[k] = d
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var moved []Moved
	for k, t := range tasks {
		if was := results[t.res].Digest; now[k] != was {
			moved = append(moved, Moved{Index: t.res, Ref: results[t.res].Ref, Was: was, Now: now[k]})
		}
	}
	return moved, nil
}

// head returns the digest ref names now: from a HEAD's digest header, or,
// where HEAD is not supported or gives none, from hashing a GET's body.
func (r *Resolver) head(ctx context.Context, ref name.Reference, g *authGroup) (string, error) {
	host := ref.Context().RegistryStr()
	rt, err := g.transport(ctx, r.h)
	if err != nil {
		return "", err
	}
	ropts := remoteOptions(ctx, rt)
	desc, err := remote.Head(ref, ropts...)
	if err == nil {
		return desc.Digest.String(), nil
	}
	if err = classify(ctx, host, err); !headUnsupported(err) {
		return "", err
	}
	got, err := remote.Get(ref, ropts...)
	if err != nil {
		return "", classify(ctx, host, err)
	}
	return got.Digest.String(), nil
}
