package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/wellcomecollection/pin/manifest"
)

// Result is what one reference resolved to.
type Result struct {
	Ref        string // as given
	Repository string // fully qualified: public.ecr.aws/y1p3h6z3/bags_api, 127.0.0.1:5000/x
	Tag        string // the tag resolved, "" for a digest reference without one
	Digest     string // sha256:...
	MediaType  string
	Size       int64
	// Platforms lists an index's children (os/arch/variant/digest), without
	// "unknown/unknown" attestation manifests; nil when the tag is an image.
	Platforms []manifest.Platform
	// PlatformDigest is the digest of the WithPlatform child of an index.
	PlatformDigest string
	// Config is the digest of the image's config blob when the tag names an
	// image and its manifest was fetched (WithVerifiedDigests); "" otherwise.
	// Revisions uses it to skip fetching the manifest again.
	Config string
	Err    error
}

// Resolver resolves image references to digests, many at a time.
type Resolver struct {
	h *hub
}

// NewResolver returns a Resolver; see the With* options.
func NewResolver(opts ...Option) *Resolver {
	return &Resolver{h: newHub(opts)}
}

// Requests returns how many HTTP requests the Resolver has made (every attempt).
func (r *Resolver) Requests() int64 { return r.h.c.total.Load() }

// Stats returns the Resolver's requests by kind.
func (r *Resolver) Stats() RequestStats { return r.h.c.stats() }

// ResolveOne resolves a single reference; the error is also in Result.Err.
func (r *Resolver) ResolveOne(ctx context.Context, ref string) (Result, error) {
	res := r.Resolve(ctx, []string{ref}, nil)[0]
	return res, res.Err
}

// Resolve resolves refs concurrently (at most WithJobs requests in flight)
// and returns one Result per ref, in input order. Each host is authenticated
// once, with one token for all of its repositories (one per group of them
// when they are too many for one token request: see maxScopeBytes), and
// every HEAD then goes out at once, up to WithJobs. progress, when not nil,
// is called (never concurrently) after each reference is done.
func (r *Resolver) Resolve(ctx context.Context, refs []string, progress func(done, total int)) []Result {
	results := make([]Result, len(refs))
	parsed := make([]name.Reference, len(refs))
	var repos []name.Repository
	for i, s := range refs {
		results[i].Ref = s
		ref, err := name.ParseReference(s)
		if err != nil {
			results[i].Err = fmt.Errorf("resolve %s: %w", s, err)
			continue
		}
		parsed[i] = ref
		results[i].Repository = ref.Context().Name()
		results[i].Tag = tagOf(s, ref)
		repos = append(repos, ref.Context())
	}
	groups := r.authenticate(ctx, repos)

	var mu sync.Mutex
	done := 0
	var g errgroup.Group
	g.SetLimit(r.h.o.jobs)
	for i, ref := range parsed {
		if ref == nil {
			mu.Lock()
			done++
			if progress != nil {
				progress(done, len(refs))
			}
			mu.Unlock()
			continue
		}
		g.Go(func() error {
			g := groups[ref.Context().Scope(transport.PullScope)]
			if err := r.resolve(ctx, ref, g, &results[i]); err != nil {
				results[i].Err = fmt.Errorf("resolve %s: %w", refs[i], err)
			}
			mu.Lock()
			done++
			if progress != nil {
				progress(done, len(refs))
			}
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	return results
}

// maxScopeBytes bounds the scope parameters of one token request. Token
// servers behind nginx refuse request lines over 8 KB (414 URI Too Long), and
// one scope parameter, repository%3A...%3Apull, is 30 to 60 bytes: a host
// with more repositories than fit gets one token per group of them.
const maxScopeBytes = 6 << 10

// authenticate plans the tokens for repos: one per host, or one per group of
// repositories when a host has so many that one token request would be too
// long. It returns each repository's group by its pull scope. The groups' keys
// are the same for the same repositories, so Revisions and Confirm reuse the
// transports Resolve authenticated. With more than one group, every group is
// authenticated at once, so that no request waits for its group's ping and
// token behind the requests of another group; a failure is not cached: the
// repositories of that group try again when they ask for their transport.
func (r *Resolver) authenticate(ctx context.Context, repos []name.Repository) map[string]*authGroup {
	scopes := map[string][]string{}
	regs := map[string]name.Registry{}
	for _, repo := range repos {
		host := repo.RegistryStr()
		regs[host] = repo.Registry
		scopes[host] = append(scopes[host], repo.Scope(transport.PullScope))
	}
	groups := map[string]*authGroup{} // by scope
	var all []*authGroup
	for host, s := range scopes {
		sort.Strings(s)
		gs := scopeGroups(compact(s), maxScopeBytes)
		for i, g := range gs {
			ag := &authGroup{key: host, reg: regs[host], scopes: g}
			if len(gs) > 1 {
				ag.key = fmt.Sprintf("%s#%d", host, i)
			}
			all = append(all, ag)
			for _, sc := range g {
				groups[sc] = ag
			}
		}
	}
	if len(all) > 1 {
		var setup errgroup.Group
		setup.SetLimit(r.h.o.jobs)
		for _, g := range all {
			setup.Go(func() error {
				_, _ = g.transport(ctx, r.h)
				return nil
			})
		}
		_ = setup.Wait()
	}
	return groups
}

// authGroup is a set of repositories on one host authenticated with one token.
type authGroup struct {
	key    string // the hub's cache key: the host, or host#N
	reg    name.Registry
	scopes []string
}

// transport is the group's authenticated transport, made once per hub.
func (g *authGroup) transport(ctx context.Context, h *hub) (http.RoundTripper, error) {
	return h.transport(ctx, g.key, g.reg, g.scopes)
}

// scopeGroups splits scopes into runs whose query parameters
// (&scope=<escaped>) fit within limit bytes; a scope alone over the limit
// gets a group of its own.
func scopeGroups(scopes []string, limit int) [][]string {
	var out [][]string
	size := 0
	for _, s := range scopes {
		n := len("&scope=") + len(url.QueryEscape(s))
		if len(out) == 0 || size+n > limit {
			out = append(out, nil)
			size = 0
		}
		out[len(out)-1] = append(out[len(out)-1], s)
		size += n
	}
	return out
}

func (r *Resolver) resolve(ctx context.Context, ref name.Reference, g *authGroup, res *Result) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	host := g.reg.RegistryStr()
	rt, err := g.transport(ctx, r.h)
	if err != nil {
		return err
	}
	ropts := remoteOptions(ctx, rt)

	if !r.h.o.verified {
		desc, err := remote.Head(ref, ropts...)
		if err == nil && !desc.MediaType.IsIndex() {
			res.Digest = desc.Digest.String()
			res.MediaType = string(desc.MediaType)
			res.Size = desc.Size
			return nil
		}
		if err == nil {
			// An index: GET it by the digest HEAD gave, so the body is checked against it.
			ref = ref.Context().Digest(desc.Digest.String())
		} else if err = classify(ctx, host, err); !headUnsupported(err) {
			return err
		}
		// HEAD is not supported or gave no digest: fall back to GET.
	}

	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return classify(ctx, host, err)
	}
	if desc.MediaType.IsSchema1() {
		return fmt.Errorf("%s is a Docker schema 1 manifest, whose digest cannot be verified: push it again with a current client", desc.MediaType)
	}
	res.Digest = desc.Digest.String()
	res.Size = desc.Size
	res.MediaType = string(bodyMediaType(desc.Manifest, desc.MediaType))
	if !types.MediaType(res.MediaType).IsIndex() {
		res.Config = ConfigDigest(desc.Manifest)
		return nil
	}
	idx, err := v1.ParseIndexManifest(strings.NewReader(string(desc.Manifest)))
	if err != nil {
		return fmt.Errorf("parse index %s: %w", res.Digest, err)
	}
	res.Platforms, res.PlatformDigest, err = platforms(idx, r.h.o.platform)
	return err
}

// platforms lists an index's children and picks want's, if given.
func platforms(idx *v1.IndexManifest, want *v1.Platform) ([]manifest.Platform, string, error) {
	var ps []manifest.Platform
	var chosen string
	for _, m := range idx.Manifests {
		p := m.Platform
		if p == nil || (p.OS == "unknown" && p.Architecture == "unknown") {
			continue
		}
		ps = append(ps, manifest.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant, Digest: m.Digest.String()})
		if want != nil && chosen == "" && p.Satisfies(*want) {
			chosen = m.Digest.String()
		}
	}
	if want != nil && chosen == "" {
		return ps, "", fmt.Errorf("index has no manifest for platform %s", want)
	}
	return ps, chosen, nil
}

// bodyMediaType prefers the mediaType the manifest declares in its own bytes
// over the Content-Type header.
func bodyMediaType(b []byte, header types.MediaType) types.MediaType {
	var m struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if json.Unmarshal(b, &m) == nil && m.MediaType != "" {
		return m.MediaType
	}
	return header
}

// tagOf returns the tag of ref; for repo:tag@sha256:... (which name drops) it
// reads the tag from the string as given.
func tagOf(s string, ref name.Reference) string {
	if t, ok := ref.(name.Tag); ok {
		return t.TagStr()
	}
	base, _, _ := strings.Cut(s, "@")
	if t, err := name.NewTag(base, name.StrictValidation); err == nil {
		return t.TagStr()
	}
	return ""
}

// headUnsupported tells a HEAD failure worth a GET (405, 400, 501, or an
// answer without a usable digest header) from one that a GET would repeat
// (not found, unreachable, denied, still failing after retries).
func headUnsupported(err error) bool {
	if errors.Is(err, ErrUnreachable) || errors.Is(err, ErrNotFound) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		switch terr.StatusCode {
		case http.StatusMethodNotAllowed, http.StatusBadRequest, http.StatusNotImplemented:
			return true
		}
		return false
	}
	return true
}

func compact(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
