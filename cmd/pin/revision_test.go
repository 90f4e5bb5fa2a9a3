package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
)

// Two commits of the storage service, as CI labels their images.
const (
	commitA = "5f1c3e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e"
	commitB = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
	commitC = "c0ffee0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e"
)

// revisionSetup pushes what a registry holds while CI builds commit B after
// commit A: every app as ref.A and latest (bags_api a two-platform index),
// file_finder's latest already moved to B's build, an unlabelled sidecar,
// and bag_register:ref.C wrongly holding A's image. It writes latest.yaml
// (latest tags), ref.yaml (ref.{revision} tags, the sidecar at latest) and
// wrongtag.yaml, all publishing to ./store, and a key pair.
func revisionSetup(t *testing.T, host string) string {
	t.Helper()
	apps := []string{"bags_api", "bag_register", "file_finder"}
	for _, app := range apps {
		revs := []string{commitA}
		if app == "bags_api" {
			revs = []string{commitA, commitA}
		}
		for _, tag := range []string{"ref." + commitA, "latest"} {
			testenv.PushRevisionImage(t, serviceRepo(host, app)+":"+tag, revs...)
		}
	}
	testenv.PushRevisionImage(t, serviceRepo(host, "file_finder")+":latest", commitB)
	testenv.PushRevisionImage(t, serviceRepo(host, "file_finder")+":ref."+commitB, commitB)
	testenv.PushRevisionImage(t, serviceRepo(host, "bag_register")+":ref."+commitC, commitA)
	testenv.PushRevisionImage(t, serviceRepo(host, "fluentbit")+":latest", "")

	dir := t.TempDir()
	copyKeys(t, dir)
	head := "product: storage-service\nsource: https://github.com/wellcomecollection/storage-service\nstore: ./store\nchannels:\n  edge: {ttl: 168h}\n  stable: {ttl: 720h}\ncomponents:\n"
	write := func(file string, images map[string]string, order ...string) {
		var b strings.Builder
		b.WriteString(head)
		for _, c := range order {
			fmt.Fprintf(&b, "  - name: %s\n    image: %s\n", c, images[c])
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	order := append(append([]string{}, apps...), "fluentbit")
	latest, ref := map[string]string{}, map[string]string{}
	for _, c := range order {
		latest[c] = serviceRepo(host, c) + ":latest"
		ref[c] = serviceRepo(host, c) + ":ref.{revision}"
	}
	ref["fluentbit"] = latest["fluentbit"]
	write("latest.yaml", latest, order...)
	write("ref.yaml", ref, order...)
	write("wrongtag.yaml", map[string]string{"bag_register": ref["bag_register"]}, "bag_register")
	return dir
}

// showRelease reads a published release back through pin release show.
func showRelease(t *testing.T, dir, version string) *manifest.Release {
	t.Helper()
	r := runPin(t, dir, nil, "release", "show", version, "--config", "latest.yaml", "--key-file", "release.pub", "--output", "json").mustSucceed(t, "show "+version)
	rel, err := manifest.DecodeRelease([]byte(r.out), manifest.Expect{Version: version})
	if err != nil {
		t.Fatalf("show %s: %v", version, err)
	}
	return rel
}

func revisionFlow(t *testing.T, host string) {
	dir := revisionSetup(t, host)
	create := func(version string, args ...string) pinRun {
		return runPin(t, dir, pw, append([]string{"release", "create", version, "--channel", "edge", "--key", "release.key"}, args...)...)
	}

	// Refusals first, as dry runs (which check the same and need no key):
	// nothing may reach the store. A real create is refused further down.
	refusals := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"mixed latest tags", []string{"--config", "latest.yaml"}, 2, []string{
			"components come from different revisions: bags_api, bag_register (" + commitA + "), file_finder (" + commitB + "); release one commit's images or pass --allow-mixed-revisions",
			"nothing was published"}},
		{"latest is not the commit given", []string{"--config", "latest.yaml", "--revision", commitB}, 2, []string{
			"--revision " + commitB + " was given, but components come from different revisions: file_finder (" + commitB + "), bags_api, bag_register (" + commitA + ")"}},
		{"{revision} without --revision", []string{"--config", "ref.yaml"}, 2, []string{
			"ref.yaml:8: component bags_api: image " + serviceRepo(host, "bags_api") + ":ref.{revision} needs a revision: pass --revision",
			"ref.yaml:10: component bag_register", "ref.yaml:12: component file_finder"}},
		{"unsafe revision", []string{"--config", "ref.yaml", "--revision", "main; rm -rf /"}, 2, []string{"--revision \"main; rm -rf /\" must be a git commit"}},
		{"tag of another build", []string{"--config", "wrongtag.yaml", "--revision", commitC, "--allow-mixed-revisions"}, 2, []string{
			"wrongtag.yaml:8: component bag_register: " + serviceRepo(host, "bag_register") + ":ref." + commitC + " carries org.opencontainers.image.revision " + commitA}},
		{"commit not pushed", []string{"--config", "ref.yaml", "--revision", commitC}, 1, []string{"component bags_api (" + serviceRepo(host, "bags_api") + ":ref." + commitC}},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			r := runPin(t, dir, nil, append([]string{"release", "create", "1.0.0-edge.1", "--channel", "edge", "--dry-run"}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tt.code, r.err)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.err, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.err)
				}
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); !os.IsNotExist(err) {
		t.Fatalf("a refused release touched the store: %v", err)
	}

	// One commit's images, named by --revision: source.revision records it.
	r := create("1.0.0-edge.1", "--config", "ref.yaml", "--revision", commitA).mustSucceed(t, "create --revision")
	if !strings.Contains(r.err, "1 of 4 components carry no org.opencontainers.image.revision label, so their revision is unknown: fluentbit") {
		t.Errorf("no warning about the unlabelled sidecar:\n%s", r.err)
	}
	rel := showRelease(t, dir, "1.0.0-edge.1")
	if rel.Source.Revision != commitA {
		t.Errorf("source.revision %q, want %s", rel.Source.Revision, commitA)
	}
	for _, c := range rel.Components {
		if want := "ref." + commitA; c.Name != "fluentbit" && c.Tag != want {
			t.Errorf("%s resolved from tag %q, want %s", c.Name, c.Tag, want)
		}
		if c.Revision != "" {
			t.Errorf("%s: a one-commit release recorded a component revision %q", c.Name, c.Revision)
		}
	}
	before := snapshotDir(t, filepath.Join(dir, "store"))
	if r := create("1.0.0-edge.2", "--config", "latest.yaml"); r.code != 2 {
		t.Fatalf("mixed release after a good one: exit %d\n%s", r.code, r.err)
	}
	if !equalSnapshots(before, snapshotDir(t, filepath.Join(dir, "store"))) {
		t.Fatal("a refused mixed release changed the store")
	}

	// Said loudly: the mix is allowed, and recorded per component.
	r = create("1.0.0-edge.2", "--config", "latest.yaml", "--allow-mixed-revisions").mustSucceed(t, "create --allow-mixed-revisions")
	if !strings.Contains(r.err, "allowed by --allow-mixed-revisions") {
		t.Errorf("no warning that the release is mixed:\n%s", r.err)
	}
	rel = showRelease(t, dir, "1.0.0-edge.2")
	want := map[string]string{"bags_api": commitA, "bag_register": commitA, "file_finder": commitB, "fluentbit": ""}
	for _, c := range rel.Components {
		if c.Revision != want[c.Name] {
			t.Errorf("%s: revision %q, want %q", c.Name, c.Revision, want[c.Name])
		}
	}
	if rel.Source.Revision != "" {
		t.Errorf("a mixed release without --revision claims source.revision %q", rel.Source.Revision)
	}
	text := runPin(t, dir, nil, "release", "show", "1.0.0-edge.2", "--config", "latest.yaml").mustSucceed(t, "show text")
	for _, w := range []string{"components from several revisions", "REVISION", commitB, "unknown"} {
		if !strings.Contains(text.out, w) {
			t.Errorf("release show lacks %q:\n%s", w, text.out)
		}
	}
	// Promotion copies the recorded revisions with the digests.
	runPin(t, dir, pw, "release", "promote", "1.0.0-edge.2", "--to", "stable", "--config", "latest.yaml", "--key", "release.key").mustSucceed(t, "promote")
	if c, _ := showRelease(t, dir, "1.0.0").Component("file_finder"); c.Revision != commitB {
		t.Errorf("promoted file_finder revision %q, want %s", c.Revision, commitB)
	}
}

func TestReleaseRevisionsInMemory(t *testing.T) {
	t.Parallel()
	revisionFlow(t, memRegistry(t))
}

func TestIntegrationReleaseRevisionsRealRegistry(t *testing.T) {
	t.Parallel()
	revisionFlow(t, testenv.Registry(t))
}

// createWithHook runs release create on dir's ref.yaml for commitA through
// its run function, with hook run once between the resolution and the
// confirmation. The seam is the registry transport the app hands every
// registry client, not a field of the command's options: hook runs before
// the first HEAD of a manifest, which only the confirmation sends (the
// resolution of a release GETs every manifest, to hash its bytes).
func createWithHook(t *testing.T, dir, version string, hook func(context.Context) error) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{In: strings.NewReader(""), Out: &out, Err: &errb, Now: time.Now,
		LookupEnv: func(k string) (string, bool) { v, ok := pw[k]; return v, ok }}
	var seam *beforeFirstHead
	if hook != nil {
		seam = &beforeFirstHead{base: remote.DefaultTransport.(*http.Transport).Clone(), hook: hook}
		a.extraRegistry = []registry.Option{registry.WithTransport(seam)}
	}
	opts := &releaseCreateOptions{
		producerFlags: producerFlags{Config: filepath.Join(dir, "ref.yaml"), Key: filepath.Join(dir, "release.key"), Output: "text"},
		Version:       version, Channel: "edge", Revision: commitA, Jobs: 16,
	}
	err := runReleaseCreate(context.Background(), a, opts)
	if seam != nil && !seam.ran.Load() {
		t.Fatalf("the hook never ran: no manifest HEAD was sent (err %v)", err)
	}
	return errb.String(), err
}

// beforeFirstHead is a registry transport that runs hook once, before it
// forwards any HEAD request for a manifest: the confirmation's concurrent
// HEADs all wait until hook has returned.
type beforeFirstHead struct {
	base http.RoundTripper
	hook func(context.Context) error
	once sync.Once
	err  error
	ran  atomic.Bool
}

func (b *beforeFirstHead) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/") {
		b.once.Do(func() {
			b.ran.Store(true)
			b.err = b.hook(r.Context())
		})
		if b.err != nil {
			return nil, b.err
		}
	}
	return b.base.RoundTrip(r)
}

// TestIntegrationReleaseTagMovedRealRegistry moves a tag in a real registry
// between the resolution and the confirmation, as a CI job that re-pushes an
// image does: the release is refused and nothing is published.
func TestIntegrationReleaseTagMovedRealRegistry(t *testing.T) {
	t.Parallel()
	host := testenv.Registry(t)
	dir := revisionSetup(t, host)
	tag := serviceRepo(host, "bag_register") + ":ref." + commitA
	was := testenv.PushRevisionImage(t, tag, commitA) // the digest the release resolves
	var now string
	stderr, err := createWithHook(t, dir, "1.0.0-edge.1", func(context.Context) error {
		// A rebuild of the same commit: same label, other digest.
		now = testenv.PushRevisionImage(t, tag, commitA).String()
		return nil
	})
	if exitcode.Of(err) != exitcode.Operational {
		t.Fatalf("exit %d (%v), want 1; stderr:\n%s", exitcode.Of(err), err, stderr)
	}
	for _, w := range []string{"1 tag(s) moved while the release was being resolved", "component bag_register (" + filepath.Join(dir, "ref.yaml") + ":10)", "tag " + tag, "was " + was.String(), "now " + now, "nothing was published"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
	if _, statErr := os.Stat(filepath.Join(dir, "store")); !os.IsNotExist(statErr) {
		t.Fatalf("a refused release touched the store: %v", statErr)
	}
	// Once the tags hold still, the same command publishes.
	if stderr, err := createWithHook(t, dir, "1.0.0-edge.1", nil); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if c, _ := showRelease(t, dir, "1.0.0-edge.1").Component("bag_register"); c.Digest != now {
		t.Fatalf("published bag_register %s, want the moved-to %s", c.Digest, now)
	}
}

// TestReleaseTagMovedProxy puts a proxy in front of the in-memory registry
// that answers the confirmation's HEAD for one tag with another digest, as a
// registry would after another job moved the tag.
func TestReleaseTagMovedProxy(t *testing.T) {
	// Not parallel: the message names release.yaml as typed (ref.yaml:12),
	// which only a run in the process's own directory keeps.
	backend := memRegistry(t)
	moved := "sha256:" + strings.Repeat("7", 64)
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: backend})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/file_finder/manifests/") {
			w = &digestRewriter{ResponseWriter: w, digest: moved}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	dir := revisionSetup(t, host)

	r := runPinInProcessDir(t, dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key", "--config", "ref.yaml", "--revision", commitA)
	if r.code != 1 || !strings.Contains(r.err, "component file_finder (ref.yaml:12): tag "+serviceRepo(host, "file_finder")+":ref."+commitA) || !strings.Contains(r.err, "now "+moved) {
		t.Fatalf("exit %d, want 1 naming file_finder's move:\n%s", r.code, r.err)
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); !os.IsNotExist(err) {
		t.Fatalf("a refused release touched the store: %v", err)
	}
	// The dry run confirms too.
	if r := runPin(t, dir, nil, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--dry-run", "--config", "ref.yaml", "--revision", commitA); r.code != 1 || !strings.Contains(r.err, "moved") {
		t.Fatalf("dry run: exit %d\n%s", r.code, r.err)
	}
}

// digestRewriter replaces the Docker-Content-Digest header of an answer.
type digestRewriter struct {
	http.ResponseWriter
	digest string
}

func (w *digestRewriter) WriteHeader(code int) {
	if w.Header().Get("Docker-Content-Digest") != "" {
		w.Header().Set("Docker-Content-Digest", w.digest)
	}
	w.ResponseWriter.WriteHeader(code)
}
