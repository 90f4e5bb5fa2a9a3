package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
)

var zeroDigest = "sha256:" + strings.Repeat("0", 64)

// fastRetry keeps persistent-fault tests quick: the default 4 attempts,
// 10ms apart instead of 0.5s, 1s, 2s.
var fastRetry = env{"PIN_REGISTRY_BACKOFF": "10ms"}

// with returns e plus the other environments' settings.
func with(e env, more ...env) env {
	out := env{}
	for _, m := range append([]env{e}, more...) {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// trueDigests resolves every service on the registry at host, hashing bytes.
func trueDigests(t *testing.T, host string) map[string]string {
	t.Helper()
	refs := make([]string, len(services))
	for i, s := range services {
		refs[i] = serviceRepo(host, s) + ":latest"
	}
	out := map[string]string{}
	for i, res := range registry.NewResolver(registry.WithVerifiedDigests(true)).Resolve(context.Background(), refs, nil) {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		out[services[i]] = res.Digest
	}
	return out
}

// TestRegistryFaultsReleaseCreate: `pin release create` resolves 20
// components through a fault-injecting proxy. Faults a retry gets past leave
// a release whose every digest is the one computed from the registry's bytes;
// faults that persist fail the command with exit 1, naming the component,
// its reference and the host, and publish nothing.
func TestRegistryFaultsReleaseCreate(t *testing.T) {
	t.Parallel()
	upstream := memRegistry(t)
	seed(t, upstream, services)
	want := trueDigests(t, upstream)
	getManifest := testenv.Manifests(http.MethodGet, "")

	t.Run("transient faults", func(t *testing.T) {
		p := testenv.NewFaultProxy(t, upstream)
		p.Inject(getManifest, 3, testenv.Status(503))
		p.Inject(getManifest, 1, testenv.Status(502))
		p.Inject(getManifest, 1, testenv.TooManyRequestsUntil(0))
		p.Inject(getManifest, 3, testenv.ResetMidBody())
		p.Inject(getManifest, 2, testenv.TruncateBody())
		p.Inject(getManifest, 3, testenv.DigestHeader(zeroDigest))
		dir := t.TempDir()
		copyKeys(t, dir)
		writeReleaseConfig(t, dir, p.Host, "./store")
		// --dry-run prints the release create would sign (the same resolution,
		// no key to decrypt); TestRegistryFaultsRealRegistryRelease signs one.
		r := runPin(t, dir, nil, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--dry-run", "--output", "json").mustSucceed(t, "create through faults")
		if p.Injected.Load() != 13 {
			t.Fatalf("%d faults injected, want 13", p.Injected.Load())
		}
		var rel manifest.Release
		if err := json.Unmarshal([]byte(r.out), &rel); err != nil {
			t.Fatal(err)
		}
		if len(rel.Components) != len(services) {
			t.Fatalf("%d components", len(rel.Components))
		}
		for _, c := range rel.Components {
			if c.Digest != want[c.Name] {
				t.Errorf("%s: signed digest %s, but the registry's bytes hash to %s", c.Name, c.Digest, want[c.Name])
			}
		}
	})

	// --dry-run resolves exactly as a real create does, without the cost of
	// decrypting the key; the lying header goes all the way to signing.
	persistent := []struct {
		name   string
		svc    string
		fault  testenv.Fault
		want   string
		dryRun bool
	}{
		{"503", "notifier", testenv.Status(503), "injected 503", true},
		{"429", "notifier", testenv.Status(429, "Retry-After", "0"), "injected 429", true},
		{"connection reset mid-body", "bag_verifier", testenv.ResetMidBody(), "connection reset", true},
		{"truncated body", "bag_verifier", testenv.TruncateBody(), "unexpected EOF", true},
		{"digest header does not match the body", "bags_api", testenv.DigestHeader(zeroDigest), "Docker-Content-Digest header says " + zeroDigest, false},
	}
	for _, tc := range persistent {
		t.Run(tc.name, func(t *testing.T) {
			p := testenv.NewFaultProxy(t, upstream)
			p.Inject(testenv.Manifests(http.MethodGet, "/"+tc.svc+"/"), -1, tc.fault)
			dir := t.TempDir()
			copyKeys(t, dir)
			writeReleaseConfig(t, dir, p.Host, "./store")
			args := []string{"release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key"}
			if tc.dryRun {
				args = append(args, "--dry-run")
			}
			r := runPin(t, dir, with(pw, fastRetry), args...)
			ref := serviceRepo(p.Host, tc.svc) + ":latest"
			for _, w := range []string{"component " + tc.svc + " (" + ref, tc.want, "nothing was published"} {
				if !strings.Contains(r.err, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.err)
				}
			}
			if r.code != 1 {
				t.Errorf("exit %d, want 1", r.code)
			}
			if p.Injected.Load() != registry.DefaultMaxAttempts {
				t.Errorf("%d attempts, want %d (bounded retries)", p.Injected.Load(), registry.DefaultMaxAttempts)
			}
			if _, err := os.Stat(filepath.Join(dir, "store")); !os.IsNotExist(err) {
				t.Errorf("a failed create wrote the store: %v", err)
			}
		})
	}

	// A component pinned by digest, served another manifest (headers and
	// all): refused by `pin release create` and by `pin resolve --verify`.
	t.Run("manifest other than the one asked for", func(t *testing.T) {
		testenv.PushRandomImage(t, serviceRepo(upstream, "notifier")+":other", 1)
		p := testenv.NewFaultProxy(t, upstream)
		p.Inject(testenv.Manifests("", want["notifier"]), -1, testenv.ServeInstead("other"))
		dir := t.TempDir()
		copyKeys(t, dir)
		cfg := writeReleaseConfig(t, dir, p.Host, "./store")
		b, _ := os.ReadFile(cfg)
		pinned := serviceRepo(p.Host, "notifier") + "@" + want["notifier"]
		os.WriteFile(cfg, []byte(strings.Replace(string(b), serviceRepo(p.Host, "notifier")+":latest", pinned, 1)), 0o644)
		r := runPin(t, dir, nil, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--dry-run")
		if r.code != 1 || !strings.Contains(r.err, "component notifier ("+pinned) || !strings.Contains(r.err, "serves other bytes under that digest") {
			t.Fatalf("create with a substituted manifest: exit %d\n%s", r.code, r.err)
		}
		if _, err := os.Stat(filepath.Join(dir, "store")); !os.IsNotExist(err) {
			t.Errorf("a failed create wrote the store: %v", err)
		}
		r = runPin(t, "", nil, "resolve", "--verify", pinned)
		if r.code != 1 || !strings.Contains(r.err, "resolve "+pinned) || !strings.Contains(r.err, "serves other bytes under that digest") {
			t.Fatalf("resolve --verify with a substituted manifest: exit %d\n%s%s", r.code, r.out, r.err)
		}
	})
}

// publishedStore starts a registry with the services' images and publishes
// 1.0.0 on stable in an OCI store there; it returns the registry and the
// producer directory (with release.pub).
func publishedStore(t *testing.T) (upstream, dir string) {
	t.Helper()
	upstream = memRegistry(t)
	seed(t, upstream, services)
	dir = t.TempDir()
	copyKeys(t, dir)
	writeReleaseConfig(t, dir, upstream, "oci://"+upstream+"/storage-service-releases")
	runPin(t, dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create")
	runPin(t, dir, pw, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote")
	return upstream, dir
}

// consumerOverProxy makes a consumer project whose pin.yaml reads the store
// publishedStore made through a new fault proxy. It returns the project
// directory and the proxy.
func consumerOverProxy(t *testing.T, upstream, producer string) (string, *testenv.FaultProxy) {
	t.Helper()
	p := testenv.NewFaultProxy(t, upstream)
	project := t.TempDir()
	var tf strings.Builder
	tf.WriteString("locals {\n")
	for _, s := range services {
		tf.WriteString("  " + s + " = \"" + serviceRepo(upstream, s) + ":latest\"\n")
	}
	tf.WriteString("}\n")
	os.WriteFile(filepath.Join(project, "main.tf"), []byte(tf.String()), 0o644)
	runPin(t, project, nil, "init", "--source", "oci://"+p.Host+"/storage-service-releases", "--channel", "stable", "--key-file", filepath.Join(producer, "release.pub")).mustSucceed(t, "init")
	return project, p
}

// TestRegistryFaultsUpdate: `pin update` reading an OCI release store
// through faults. Retryable faults are got past; persistent ones exit 1
// naming the store and host; an endless manifest is cut off and refused
// (exit 3). A failure writes nothing.
func TestRegistryFaultsUpdate(t *testing.T) {
	t.Parallel()
	upstream, producer := publishedStore(t)
	index, release := testenv.Manifests(http.MethodGet, "channel-stable"), testenv.Manifests(http.MethodGet, "/1.0.0")

	t.Run("transient faults", func(t *testing.T) {
		project, p := consumerOverProxy(t, upstream, producer)
		p.Inject(index, 1, testenv.Status(503))
		p.Inject(release, 1, testenv.ResetMidBody())
		p.Inject(index, 1, testenv.TruncateBody())
		p.Inject(release, 1, testenv.DigestHeader(zeroDigest))
		p.Inject(testenv.Blobs(), 1, testenv.ResetMidBody())
		p.Inject(testenv.Blobs(), 1, testenv.Status(500))
		runPin(t, project, nil, "update").mustSucceed(t, "update through faults")
		if p.Injected.Load() != 6 {
			t.Fatalf("%d faults injected, want 6", p.Injected.Load())
		}
		runPin(t, project, nil, "check").mustSucceed(t, "check after update through faults")
	})

	var sent atomic.Int64
	persistent := []struct {
		name  string
		match func(*http.Request) bool
		fault testenv.Fault
		env   env
		code  int
		want  string
	}{
		{"503 on the channel index", index, testenv.Status(503), nil, 1, "injected 503"},
		{"reset on the release", release, testenv.ResetMidBody(), nil, 1, "connection reset"},
		{"lying digest header on the release", release, testenv.DigestHeader(zeroDigest), nil, 1, "Docker-Content-Digest header says"},
		{"body slower than PIN_REGISTRY_TIMEOUT", release, testenv.SlowBody(time.Minute), env{"PIN_REGISTRY_TIMEOUT": "300ms"}, 1, "within 300ms (the per-request timeout) (4 attempts)"},
		{"endless release manifest", release, testenv.Endless(&sent), nil, 3, "cut off and refused"},
	}
	for _, tc := range persistent {
		t.Run(tc.name, func(t *testing.T) {
			project, p := consumerOverProxy(t, upstream, producer)
			p.Inject(tc.match, -1, tc.fault)
			before := snapshotDir(t, project)
			r := runPin(t, project, with(fastRetry, tc.env), "update")
			t.Logf("exit %d: %s", r.code, r.err)
			if r.code != tc.code || !strings.Contains(r.err, tc.want) || !strings.Contains(r.err, p.Host) {
				t.Fatalf("exit %d, want %d; stderr should contain %q and the host %s:\n%s", r.code, tc.code, tc.want, p.Host, r.err)
			}
			if !equalSnapshots(before, snapshotDir(t, project)) {
				t.Fatal("a failed update changed the project")
			}
		})
	}
}

// TestRegistryFaultsRealRegistryRelease: the producer against Debian's
// docker-registry through the proxy: a transient reset and a lying header
// are got past with digests from the bytes; a persistent lying header fails.
func TestRegistryFaultsRealRegistryRelease(t *testing.T) {
	t.Parallel()
	upstream := testenv.Registry(t)
	seed(t, upstream, services)
	want := trueDigests(t, upstream)
	p := testenv.NewFaultProxy(t, upstream)
	p.Inject(testenv.Manifests(http.MethodGet, ""), 2, testenv.ResetMidBody())
	p.Inject(testenv.Manifests(http.MethodGet, ""), 2, testenv.DigestHeader(zeroDigest))
	dir := t.TempDir()
	copyKeys(t, dir)
	writeReleaseConfig(t, dir, p.Host, "oci://"+p.Host+"/storage-service-releases")
	r := runPin(t, dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key", "--output", "json").mustSucceed(t, "create")
	var created struct {
		Release manifest.Release `json:"release"`
	}
	if err := json.Unmarshal([]byte(r.out), &created); err != nil {
		t.Fatal(err)
	}
	for _, c := range created.Release.Components {
		if c.Digest != want[c.Name] {
			t.Errorf("%s: signed %s, bytes hash to %s", c.Name, c.Digest, want[c.Name])
		}
	}
	p.Inject(testenv.Manifests(http.MethodGet, "/bags_api/"), -1, testenv.DigestHeader(zeroDigest))
	r = runPin(t, dir, with(pw, fastRetry), "release", "create", "1.0.0-edge.2", "--channel", "edge", "--key", "release.key")
	if r.code != 1 || !strings.Contains(r.err, "component bags_api ("+serviceRepo(p.Host, "bags_api")) || !strings.Contains(r.err, "Docker-Content-Digest") {
		t.Fatalf("persistent lying header on docker-registry: exit %d\n%s", r.code, r.err)
	}
	if runPin(t, dir, nil, "release", "show", "1.0.0-edge.2", "--config", "release.yaml").code == 0 {
		t.Fatal("1.0.0-edge.2 was published although a component failed")
	}
}

// TestRegistryFaultsHTTPStore: an https:// (here loopback http://) release
// store gets the registry transport's retries: transient faults on the index,
// the manifest and a signature are got past; a persistent 503 exits 1 naming
// the URL, writing nothing.
func TestRegistryFaultsHTTPStore(t *testing.T) {
	t.Parallel()
	host := memRegistry(t)
	seed(t, host, services)
	dir := t.TempDir()
	copyKeys(t, dir)
	writeReleaseConfig(t, dir, host, "./store")
	runPin(t, dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create")
	runPin(t, dir, pw, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote")
	static := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(dir, "store"))))
	t.Cleanup(static.Close)
	p := testenv.NewFaultProxy(t, strings.TrimPrefix(static.URL, "http://"))

	project := filepath.Join(dir, "deployment")
	os.MkdirAll(project, 0o755)
	os.WriteFile(filepath.Join(project, "main.tf"), []byte("locals {\n  x = \""+serviceRepo(host, "notifier")+":latest\"\n}\n"), 0o644)
	runPin(t, project, nil, "init", "--source", "http://"+p.Host, "--channel", "stable", "--key-file", filepath.Join(dir, "release.pub")).mustSucceed(t, "init")

	p.Inject(testenv.Paths(http.MethodGet, "/channels/stable.json"), 1, testenv.Status(503))
	p.Inject(testenv.Paths(http.MethodGet, "/releases/1.0.0.json"), 1, testenv.ResetMidBody())
	p.Inject(testenv.Paths(http.MethodGet, "/releases/1.0.0.json.sig"), 1, testenv.TruncateBody())
	p.Inject(testenv.Paths(http.MethodGet, "/channels/stable.json.sig"), 1, testenv.TooManyRequestsUntil(0))
	before := snapshotDir(t, project)
	runPin(t, project, nil, "update").mustSucceed(t, "update from an HTTP store through faults")
	if p.Injected.Load() != 4 {
		t.Fatalf("%d faults injected, want 4", p.Injected.Load())
	}
	if equalSnapshots(before, snapshotDir(t, project)) {
		t.Fatal("update wrote nothing")
	}

	p.Inject(testenv.Paths(http.MethodGet, "/channels/stable.json"), -1, testenv.Status(503))
	before = snapshotDir(t, project)
	r := runPin(t, project, fastRetry, "update")
	if r.code != 1 || !strings.Contains(r.err, "http://"+p.Host+"/channels/stable.json") || !strings.Contains(r.err, "503") {
		t.Fatalf("persistent 503 from an HTTP store: exit %d\n%s", r.code, r.err)
	}
	if !equalSnapshots(before, snapshotDir(t, project)) {
		t.Fatal("a failed update changed the project")
	}
}

// TestRegistryEnvSettings: PIN_REGISTRY_* values that make no sense are
// usage errors before anything runs.
func TestRegistryEnvSettings(t *testing.T) {
	t.Parallel()
	for k, v := range map[string]string{"PIN_REGISTRY_TIMEOUT": "soon", "PIN_REGISTRY_ATTEMPTS": "0", "PIN_REGISTRY_BACKOFF": "-1s", "PIN_REGISTRY_PLAIN_HTTP": "user@10.0.0.5"} {
		r := runPin(t, "", env{k: v}, "resolve", "127.0.0.1:1/x:latest")
		if r.code != 2 || !strings.Contains(r.err, k) {
			t.Errorf("%s=%s: exit %d, %s", k, v, r.code, r.err)
		}
	}
	r := runPin(t, "", env{"PIN_REGISTRY_ATTEMPTS": "1", "PIN_REGISTRY_TIMEOUT": "2s"}, "resolve", "127.0.0.1:1/x:latest")
	if r.code != 1 || !strings.Contains(r.err, "127.0.0.1:1 is unreachable") {
		t.Errorf("valid settings: exit %d, %s", r.code, r.err)
	}
}
