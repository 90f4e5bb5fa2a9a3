package mirror

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/reponame"
	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
)

// memRegistry starts go-containerregistry's in-memory registry on 127.0.0.1.
func memRegistry(t testing.TB, opts ...ggcrregistry.Option) string {
	t.Helper()
	opts = append(opts, ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(ggcrregistry.New(opts...))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// fixture is a release in a source registry with everything a mirror must
// carry: a single image, a two-platform index, a base layer two components
// share, a renamed repository in another namespace, a cosign signature tag,
// an attestation tag on a platform image, and a referrer.
type fixture struct {
	rel *manifest.Release
	// attached maps a source tag (repo:tag) to the digest it must have in the mirror.
	attached map[string]v1.Hash
	// referrers maps a subject (component name) to the referrer digests it has.
	referrers map[string][]v1.Hash
	blobs     map[string]bool // every distinct blob digest of the release and its attachments
}

// must returns v, and panics (failing the test with a stack) on err: for
// setup steps that cannot fail unless the environment is broken.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func seedSource(t testing.TB, host string) *fixture {
	t.Helper()
	f := &fixture{attached: map[string]v1.Hash{}, referrers: map[string][]v1.Hash{}, blobs: map[string]bool{}}
	noteBlobs := func(img v1.Image) {
		m := must(img.Manifest())
		f.blobs[m.Config.Digest.String()] = true
		for _, l := range m.Layers {
			f.blobs[l.Digest.String()] = true
		}
	}
	base := must(random.Layer(2048, types.OCILayer))
	withBase := func() v1.Image {
		img := must(random.Image(1024, 1))
		return must(mutate.AppendLayers(img, base))
	}
	f.rel = &manifest.Release{SchemaVersion: 1, Kind: "Release", Product: "storage-service", Version: "1.2.0"}
	push := func(comp, repo string, img v1.Image) v1.Hash {
		ref := must(name.ParseReference(host + "/" + repo + ":latest"))
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		noteBlobs(img)
		d := must(img.Digest())
		f.rel.Components = append(f.rel.Components, manifest.Component{Name: comp, Repository: host + "/" + repo, Tag: "latest", Digest: d.String(), MediaType: string(types.OCIManifestSchema1)})
		return d
	}
	// alpha, with a cosign signature tag.
	alpha := push("alpha", "ns1/alpha", withBase())
	sig := must(random.Image(256, 1))
	sigTag := host + "/ns1/alpha:sha256-" + alpha.Hex + ".sig"
	if err := remote.Write(must(name.ParseReference(sigTag)), sig); err != nil {
		t.Fatal(err)
	}
	noteBlobs(sig)
	f.attached[sigTag] = must(sig.Digest())

	// beta, a two-platform index, with an attestation on its first platform image.
	idx := must(testenv.RandomIndex(2))
	bref := must(name.ParseReference(host + "/ns1/beta:latest"))
	if err := remote.WriteIndex(bref, idx); err != nil {
		t.Fatal(err)
	}
	im := must(idx.IndexManifest())
	comp := manifest.Component{Name: "beta", Repository: host + "/ns1/beta", Tag: "latest", Digest: must(idx.Digest()).String(), MediaType: string(types.OCIImageIndex)}
	for _, d := range im.Manifests {
		noteBlobs(must(idx.Image(d.Digest)))
		comp.Platforms = append(comp.Platforms, manifest.Platform{OS: d.Platform.OS, Architecture: d.Platform.Architecture, Digest: d.Digest.String()})
	}
	f.rel.Components = append(f.rel.Components, comp)
	att := must(random.Image(256, 1))
	attTag := host + "/ns1/beta:sha256-" + im.Manifests[0].Digest.Hex + ".att"
	if err := remote.Write(must(name.ParseReference(attTag)), att); err != nil {
		t.Fatal(err)
	}
	noteBlobs(att)
	f.attached[attTag] = must(att.Digest())

	// gamma shares alpha's base layer and lives in another namespace; it has a referrer.
	gammaImg := withBase()
	gamma := push("gamma", "ns2/gamma", gammaImg)
	refImg := mutate.ConfigMediaType(must(random.Image(256, 1)), "application/vnd.example.sbom")
	refImg = mutate.Subject(refImg, v1.Descriptor{MediaType: must(gammaImg.MediaType()), Digest: gamma, Size: must(gammaImg.Size())}).(v1.Image)
	rd := must(refImg.Digest())
	if err := remote.Write(must(name.ParseReference(host+"/ns2/gamma@"+rd.String())), refImg); err != nil {
		t.Fatal(err)
	}
	noteBlobs(refImg)
	f.referrers["gamma"] = []v1.Hash{rd}

	// delta's repository is not named after the component.
	push("delta", "ns1/delta-image", must(random.Image(1024, 2)))
	return f
}

// counter counts requests by kind and can cancel a context after n blob uploads.
type counter struct {
	next        http.RoundTripper
	mu          sync.Mutex
	uploads     int // POST .../blobs/uploads/ without a mount
	mounts      int // POST .../blobs/uploads/?mount=...
	mounted     int // mounts answered 201
	commits     int // PUT .../blobs/uploads/...?digest= answered 201
	manifestPut int
	writes      int      // any request that is not GET or HEAD
	committed   []string // repository@digest of each blob committed
	cancelAfter int
	cancel      context.CancelFunc
}

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	c.mu.Lock()
	defer c.mu.Unlock()
	p := req.URL.Path
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		c.writes++
	}
	switch {
	case req.Method == http.MethodPost && strings.HasSuffix(p, "/blobs/uploads/"):
		if req.URL.Query().Get("mount") != "" {
			c.mounts++
			if err == nil && resp.StatusCode == http.StatusCreated {
				c.mounted++
			}
		} else {
			c.uploads++
		}
	case req.Method == http.MethodPut && strings.Contains(p, "/blobs/uploads/"):
		if err == nil && resp.StatusCode == http.StatusCreated {
			c.commits++
			repo := strings.TrimPrefix(p[:strings.Index(p, "/blobs/uploads/")], "/v2/")
			c.committed = append(c.committed, repo+"@"+req.URL.Query().Get("digest"))
			if c.cancel != nil && c.commits >= c.cancelAfter {
				c.cancel()
			}
		}
	case req.Method == http.MethodPut && strings.Contains(p, "/manifests/"):
		c.manifestPut++
	}
	return resp, err
}

func newCounter() *counter { return &counter{next: http.DefaultTransport} }

func (c *counter) client() *registry.Client {
	return registry.NewClient(registry.WithTransport(c), registry.WithRetry(0, 1))
}

// checkMirror reads the mirror with go-containerregistry and checks every
// digest against the release and the fixture.
func checkMirror(t *testing.T, f *fixture, srcHost, prefix string) {
	t.Helper()
	for _, c := range f.rel.Components {
		dst := reponame.Destination(prefix, c)
		desc, err := remote.Get(must(name.ParseReference(dst + "@" + c.Digest)))
		if err != nil {
			t.Fatalf("%s@%s: %v", dst, c.Digest, err)
		}
		if desc.Digest.String() != c.Digest {
			t.Fatalf("%s serves %s, want %s", dst, desc.Digest, c.Digest)
		}
		tagged, err := remote.Head(must(name.ParseReference(dst + ":" + f.rel.Version)))
		if err != nil || tagged.Digest.String() != c.Digest {
			t.Fatalf("%s:%s = %v, %v; want %s", dst, f.rel.Version, tagged, err, c.Digest)
		}
		if desc.MediaType.IsIndex() {
			idx := must(desc.ImageIndex())
			im := must(idx.IndexManifest())
			if len(im.Manifests) != len(c.Platforms) {
				t.Fatalf("%s: %d platforms in the mirror, release has %d", dst, len(im.Manifests), len(c.Platforms))
			}
			for _, p := range c.Platforms {
				img, err := remote.Image(must(name.ParseReference(dst + "@" + p.Digest)))
				if err != nil {
					t.Fatalf("platform %s of %s: %v", p, dst, err)
				}
				if err := validateImage(img); err != nil {
					t.Fatalf("platform %s of %s: %v", p, dst, err)
				}
			}
		} else if err := validateImage(must(desc.Image())); err != nil {
			t.Fatalf("%s: %v", dst, err)
		}
		for _, rd := range f.referrers[c.Name] {
			idx, err := remote.Referrers(must(name.NewDigest(dst + "@" + c.Digest)))
			if err != nil {
				t.Fatalf("referrers of %s: %v", dst, err)
			}
			im := must(idx.IndexManifest())
			found := false
			for _, d := range im.Manifests {
				found = found || d.Digest == rd
			}
			if !found {
				t.Fatalf("referrer %s of %s is not in the mirror (have %v)", rd, dst, im.Manifests)
			}
		}
	}
	for src, want := range f.attached {
		ref := must(name.ParseReference(src))
		comp := ""
		for _, c := range f.rel.Components {
			if c.Repository == ref.Context().Name() {
				comp = reponame.Destination(prefix, c)
			}
		}
		got, err := remote.Head(must(name.ParseReference(comp + ":" + ref.Identifier())))
		if err != nil || got.Digest != want {
			t.Fatalf("attachment %s in the mirror: %v, %v; want %s", src, got, err, want)
		}
	}
}

// validateImage reads every blob of img back and checks it against its digest.
func validateImage(img v1.Image) error {
	ls, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range ls {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc) // remote layers verify their digest at EOF
		rc.Close()
		if err != nil {
			return err
		}
	}
	_, err = img.RawConfigFile()
	return err
}

type backend struct {
	name string
	new  func(t *testing.T) string
	// mounts: the registry links blobs across repositories (distribution
	// does; the in-memory registry keeps one blob store for all of them).
	mounts bool
}

var backends = []backend{
	{"memory", func(t *testing.T) string { return memRegistry(t) }, false},
	// The referrers API instead of the sha256-<hex> fallback tag.
	{"memory-referrers-api", func(t *testing.T) string { return memRegistry(t, ggcrregistry.WithReferrersSupport(true)) }, false},
	{"distribution", func(t *testing.T) string { return testenv.Registry(t) }, true},
}

// TestMirrorCopyIdempotentResumable copies a release between two registries
// (in memory; then two real docker-registry processes on loopback ports),
// checks every digest, copies again (nothing uploaded), and interrupts a
// fresh copy half-way and resumes it (no blob uploaded twice).
func TestMirrorCopyIdempotentResumable(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			src, dst := b.new(t), b.new(t)
			f := seedSource(t, src)
			prefix := dst + "/mirror/storage"
			ctx := context.Background()

			first := newCounter()
			var done []string // appended without a lock: Progress is called one at a time
			res, err := Mirror(ctx, f.rel, prefix, Options{Client: first.client(), Jobs: 4, Progress: func(cr ComponentResult) { done = append(done, cr.Name) }})
			if err != nil {
				t.Fatal(err)
			}
			if len(done) != len(f.rel.Components) {
				t.Errorf("progress reported %v", done)
			}
			checkMirror(t, f, src, prefix)
			for _, c := range res.Components {
				if !c.Verified {
					t.Errorf("%s not verified after the copy", c.Name)
				}
			}
			// alpha and gamma share a base layer: it is uploaded once and mounted once.
			if b.mounts && (first.mounted < 1 || res.Total.BlobsMounted < 1) {
				t.Errorf("no cross-repository mount (mount requests %d, answered 201: %d)", first.mounts, first.mounted)
			}
			if first.commits != len(f.blobs) {
				t.Errorf("uploaded %d blobs, the release and its attachments have %d distinct ones", first.commits, len(f.blobs))
			}
			if res.Total.Signatures != 3 {
				t.Errorf("copied %d attachments, want 3 (a .sig, an .att, a referrer)", res.Total.Signatures)
			}

			again := newCounter()
			res2, err := Mirror(ctx, f.rel, prefix, Options{Client: again.client(), Jobs: 4})
			if err != nil {
				t.Fatal(err)
			}
			if again.uploads+again.mounts+again.commits+again.manifestPut != 0 || again.writes != 0 {
				t.Errorf("second run wrote: %d upload sessions, %d mounts, %d blob commits, %d manifest pushes, %d writes", again.uploads, again.mounts, again.commits, again.manifestPut, again.writes)
			}
			if res2.Total.BlobsUploaded != 0 || res2.Total.Manifests != 0 {
				t.Errorf("second run reports %+v", res2.Total)
			}

			// Interrupted after a few blobs, into a fresh registry.
			prefix2 := b.new(t) + "/resumed"
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			cut := newCounter()
			cut.cancelAfter, cut.cancel = 4, cancel
			if _, err := Mirror(cctx, f.rel, prefix2, Options{Client: cut.client(), Jobs: 2}); err == nil {
				t.Fatal("an interrupted mirror reported success")
			} else if !errors.Is(err, context.Canceled) {
				t.Logf("interrupted: %v", err)
			}
			if cut.commits < 4 || cut.commits >= len(f.blobs) {
				t.Fatalf("interrupted after %d of %d blobs: not half-way", cut.commits, len(f.blobs))
			}
			resume := newCounter()
			if _, err := Mirror(ctx, f.rel, prefix2, Options{Client: resume.client(), Jobs: 2}); err != nil {
				t.Fatal(err)
			}
			checkMirror(t, f, src, prefix2)
			before := map[string]bool{}
			for _, d := range cut.committed {
				before[d] = true
			}
			// No blob the interrupted run put into a repository is uploaded
			// into that repository again.
			for _, d := range resume.committed {
				if before[d] {
					t.Errorf("blob %s uploaded again after the resume", d)
				}
			}
			if resume.commits == 0 {
				t.Error("the resumed run uploaded nothing: the interruption left nothing to do")
			}
		})
	}
}

// TestMirrorWithinOneRegistryMounts: a mirror into the source's own registry
// mounts every blob instead of uploading it (distribution supports mounts; the
// in-memory registry does not).
func TestMirrorWithinOneRegistryMounts(t *testing.T) {
	host := testenv.Registry(t)
	f := seedSource(t, host)
	c := newCounter()
	res, err := Mirror(context.Background(), f.rel, host+"/copy", Options{Client: c.client()})
	if err != nil {
		t.Fatal(err)
	}
	checkMirror(t, f, host, host+"/copy")
	if c.commits != 0 || res.Total.BlobsUploaded != 0 {
		t.Errorf("uploaded %d blobs inside one registry, want every one mounted", c.commits)
	}
	if res.Total.BlobsMounted == 0 {
		t.Error("no blob mounted")
	}
}

// TestMirrorDryRun reports the copy and writes nothing.
func TestMirrorDryRun(t *testing.T) {
	src, dst := memRegistry(t), memRegistry(t)
	f := seedSource(t, src)
	c := newCounter()
	res, err := Mirror(context.Background(), f.rel, dst+"/m", Options{Client: c.client(), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.writes != 0 {
		t.Errorf("dry run made %d writes", c.writes)
	}
	if res.Total.BlobsUploaded == 0 || res.Total.BytesUploaded == 0 || res.Total.Manifests == 0 {
		t.Errorf("dry run reports nothing to copy: %+v", res.Total)
	}
	if _, err := remote.Head(must(name.ParseReference(reponame.Destination(dst+"/m", f.rel.Components[0]) + ":" + f.rel.Version))); err == nil {
		t.Error("dry run tagged the mirror")
	}
}

// tamper serves a different manifest for one digest.
type tamper struct {
	next http.Handler
	path string
}

func (h tamper) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == h.path {
		w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
		m, _ := empty.Image.RawManifest()
		w.Write(m)
		return
	}
	h.next.ServeHTTP(w, r)
}

// TestMirrorRefusesWrongBytes: a source serving other bytes under a digest
// is refused and nothing of that component reaches the mirror.
func TestMirrorRefusesWrongBytes(t *testing.T) {
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	h := &tamper{next: reg}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	src := strings.TrimPrefix(srv.URL, "http://")
	f := seedSource(t, src)
	victim := f.rel.Components[0]
	h.path = "/v2/" + strings.TrimPrefix(victim.Repository, src+"/") + "/manifests/" + victim.Digest
	dst := memRegistry(t)
	_, err := Mirror(context.Background(), f.rel, dst+"/m", Options{Client: newCounter().client()})
	if err == nil || !strings.Contains(err.Error(), victim.Name) || exitcode.Of(err) != exitcode.Trust {
		t.Fatalf("err = %v (exit %d), want a trust failure (exit 3) naming %s", err, exitcode.Of(err), victim.Name)
	}
	if _, err := remote.Head(must(name.ParseReference(reponame.Destination(dst+"/m", victim) + "@" + victim.Digest))); err == nil {
		t.Error("the tampered component reached the mirror")
	}
}

// TestMirrorMountsFromEarlierRun: a component added after its base layer was
// mirrored for another component, in an earlier run, gets the layer mounted
// from that repository, not uploaded again.
func TestMirrorMountsFromEarlierRun(t *testing.T) {
	src, dst := memRegistry(t), testenv.Registry(t)
	f := seedSource(t, src)
	ctx := context.Background()
	first := *f.rel
	first.Components = []manifest.Component{f.rel.Components[0]} // alpha alone
	c1 := newCounter()
	if _, err := Mirror(ctx, &first, dst+"/m", Options{Client: c1.client()}); err != nil {
		t.Fatal(err)
	}
	c2 := newCounter()
	res, err := Mirror(ctx, f.rel, dst+"/m", Options{Client: c2.client()})
	if err != nil {
		t.Fatal(err)
	}
	checkMirror(t, f, src, dst+"/m")
	digestOf := func(s string) string { return s[strings.LastIndexByte(s, '@')+1:] }
	earlier := map[string]bool{}
	for _, d := range c1.committed {
		earlier[digestOf(d)] = true
	}
	for _, d := range c2.committed {
		if earlier[digestOf(d)] {
			t.Errorf("%s was uploaded again; the first run had put it in the mirror", d)
		}
	}
	if c2.mounted < 1 || res.Total.BlobsMounted < 1 {
		t.Errorf("gamma's base layer was not mounted from alpha's repository (mounts %d, answered 201: %d)", c2.mounts, c2.mounted)
	}
}

// TestMirrorRefusesItsOwnSource: a prefix that maps a component onto its own
// repository would tag the publisher's repository; it is refused before any request.
func TestMirrorRefusesItsOwnSource(t *testing.T) {
	src := memRegistry(t)
	f := seedSource(t, src)
	c := newCounter()
	_, err := Mirror(context.Background(), f.rel, src+"/ns1", Options{Client: c.client()})
	if err == nil || !strings.Contains(err.Error(), "onto its own repository") {
		t.Fatalf("err = %v", err)
	}
	if c.writes != 0 {
		t.Errorf("%d writes before refusing", c.writes)
	}
}
