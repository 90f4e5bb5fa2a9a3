package pin

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// fixture is a producer's store with a key, and a consumer project using it.
type fixture struct {
	t       testing.TB
	store   *channels.DirStore
	signer  *signing.Signer
	pubPath string
	pub     *channels.Publisher
	clk     *clock
	dir     string
	cfg     *Config
	saved   map[string]string
}

var services = []string{"bags_api", "ingests_api", "notifier", "bag_verifier"}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	s, err := signing.NewEphemeralSigner()
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := s.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	keyDir := t.TempDir()
	pubPath := filepath.Join(keyDir, "release.pub")
	if err := os.WriteFile(pubPath, pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: t0}
	store := channels.NewDirStore(filepath.Join(t.TempDir(), "store"))
	f := &fixture{t: t, store: store, signer: s, pubPath: pubPath, clk: clk, dir: t.TempDir(),
		pub: &channels.Publisher{Store: store, Signer: s, Product: "storage-service", Now: clk.Now}}
	return f
}

func (f *fixture) release(version, channel, salt string) *channels.Published {
	f.t.Helper()
	rel := &manifest.Release{SchemaVersion: 1, Kind: manifest.KindRelease, Product: "storage-service", Version: version,
		Source: manifest.Source{Repository: "https://github.com/wellcomecollection/storage-service"}}
	for _, s := range services {
		rel.Components = append(rel.Components, manifest.Component{Name: s, Repository: "public.ecr.aws/y1p3h6z3/" + s, Tag: "latest",
			Digest: manifest.Digest([]byte(s + salt)), MediaType: "application/vnd.oci.image.manifest.v1+json"})
	}
	p, err := f.pub.Create(context.Background(), rel, channel, 168*time.Hour)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	p := filepath.Join(f.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) read(rel string) string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.dir, rel))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

func (f *fixture) init(channel string) {
	f.t.Helper()
	cfg, err := Init(context.Background(), InitOptions{Path: filepath.Join(f.dir, "pin.yaml"), Source: f.store.String(),
		Channel: channel, KeyFile: f.pubPath, Now: f.clk.Now})
	if err != nil {
		f.t.Fatal(err)
	}
	f.cfg = cfg
}

func (f *fixture) update(o UpdateOptions) (*Plan, error) {
	o.Now = f.clk.Now
	p, err := PlanUpdate(context.Background(), f.cfg, o)
	if err != nil {
		return nil, err
	}
	return p, p.Apply()
}

const demoTF = `# The storage service demo
module "stack" {
  source = "./stack"

  bags_api_image     = "public.ecr.aws/y1p3h6z3/bags_api:latest" # the API
  notifier_image     = "public.ecr.aws/y1p3h6z3/notifier:latest"
  nginx_image        = "public.ecr.aws/nginx/nginx:1.25"
}
`

func TestUpdateThenCheck(t *testing.T) {
	f := newFixture(t)
	p1 := f.release("1.5.0", channels.Stable, "a")
	f.write("infra/main.tf", demoTF)
	f.write("compose.yaml", "services:\n  api:\n    image: public.ecr.aws/y1p3h6z3/ingests_api:latest\n")
	f.init(channels.Stable)

	plan, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Release.Release.Version != "1.5.0" || len(plan.Changes) != 2 {
		t.Fatalf("plan: version %s, %d changed files", plan.Release.Release.Version, len(plan.Changes))
	}
	bags, _ := p1.Release.Component("bags_api")
	want := strings.Replace(demoTF, "public.ecr.aws/y1p3h6z3/bags_api:latest", "public.ecr.aws/y1p3h6z3/bags_api@"+bags.Digest, 1)
	notifier, _ := p1.Release.Component("notifier")
	want = strings.Replace(want, "public.ecr.aws/y1p3h6z3/notifier:latest", "public.ecr.aws/y1p3h6z3/notifier@"+notifier.Digest, 1)
	if got := f.read("infra/main.tf"); got != want {
		t.Fatalf("main.tf:\n%s\nwant:\n%s", got, want)
	}
	lock1 := f.read("pin.lock")

	// A second run changes nothing, the lock included.
	plan2, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plan2.Changed() || f.read("pin.lock") != lock1 {
		t.Fatalf("second update changed something: %v", plan2.Diff())
	}

	res, err := Check(context.Background(), f.cfg, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || res.References != 3 {
		t.Fatalf("check after update: %d refs, findings %v", res.References, res.Findings)
	}

	// Narrowing files: must not silently stop checking what the lock recorded.
	narrowed := *f.cfg
	narrowed.Files = []string{"**/*.yaml"}
	res, err = Check(context.Background(), &narrowed, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 2 || res.Findings[0].Kind != FindingMissing || res.Findings[0].File != "infra/main.tf" {
		t.Fatalf("check with files narrowed to YAML: %+v", res.Findings)
	}

	// Drift: someone puts latest back.
	f.write("compose.yaml", "services:\n  api:\n    image: public.ecr.aws/y1p3h6z3/ingests_api:latest\n")
	res, err = Check(context.Background(), f.cfg, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Kind != FindingUnpinned || res.Findings[0].File != "compose.yaml" || res.Findings[0].Line != 3 {
		t.Fatalf("findings: %+v", res.Findings)
	}

	// Online: a newer release is available.
	f.clk.now = t0.Add(time.Hour)
	f.release("1.6.0", channels.Stable, "b")
	res, err = Check(context.Background(), f.cfg, CheckOptions{Online: true, Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if !hasFinding(res.Findings, FindingUpdate) {
		t.Fatalf("online check did not report the update: %+v", res.Findings)
	}
}

func hasFinding(fs []Finding, kind string) bool {
	for _, f := range fs {
		if f.Kind == kind {
			return true
		}
	}
	return false
}

type snapshot map[string]string

// snap records every file's bytes and mtime under dir.
func snap(t *testing.T, dir string) snapshot {
	t.Helper()
	s := snapshot{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			s[p] = string(b) + "\x00" + info.ModTime().String()
		}
		return nil
	})
	return s
}

func TestTrustFailuresWriteNothing(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		channel string
		setup   func(f *fixture)
		opts    UpdateOptions
		want    string
	}{
		{"tampered manifest byte", channels.Stable, func(f *fixture) {
			p := filepath.Join(f.store.String(), "releases", "1.6.0.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte("bags_api"), []byte("bags_apj"), 1), 0o644)
		}, UpdateOptions{}, "does not match"},
		{"wrong key", channels.Stable, func(f *fixture) {
			other, err := signing.NewEphemeralSigner()
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := other.PublicKeyPEM()
			f.cfg.Keys = []string{string(pub)}
		}, UpdateOptions{}, "no trusted key"},
		{"expired index", channels.Stable, func(f *fixture) { f.clk.now = t0.Add(400 * time.Hour) }, UpdateOptions{}, "expired"},
		{"lower sequence", channels.Stable, func(f *fixture) {
			// Replay the index as it was at sequence 1.
			os.WriteFile(filepath.Join(f.store.String(), "channels", "stable.json"), []byte(f.saved["stable.json"]), 0o644)
			os.WriteFile(filepath.Join(f.store.String(), "channels", "stable.json.sig"), []byte(f.saved["stable.json.sig"]), 0o644)
		}, UpdateOptions{}, "below 2 recorded in pin.lock"},
		{"other product", channels.Stable, func(f *fixture) { f.cfg.Product = "other-service" }, UpdateOptions{}, "product"},
		{"stable index served as edge", channels.Edge, func(f *fixture) {
			for _, ext := range []string{".json", ".json.sig"} {
				b, _ := os.ReadFile(filepath.Join(f.store.String(), "channels", "stable"+ext))
				os.WriteFile(filepath.Join(f.store.String(), "channels", "edge"+ext), b, 0o644)
			}
		}, UpdateOptions{}, `expected "edge"`},
		{"yanked", channels.Stable, func(f *fixture) {
			if _, err := f.pub.Yank(ctx, channels.Stable, "1.6.0", "broken", 168*time.Hour); err != nil {
				t.Fatal(err)
			}
		}, UpdateOptions{To: "1.6.0"}, "yanked"},
		{"digest mismatch", channels.Stable, func(f *fixture) {
			// Swap 1.6.0's manifest and signature for 1.5.0's: both validly signed, but not what the index lists.
			for _, ext := range []string{".json", ".json.sig"} {
				b, _ := os.ReadFile(filepath.Join(f.store.String(), "releases", "1.5.0"+ext))
				os.WriteFile(filepath.Join(f.store.String(), "releases", "1.6.0"+ext), b, 0o644)
			}
		}, UpdateOptions{}, "does not match"},
		{"stable withdrawn from an edge consumer", channels.Edge, func(f *fixture) {
			os.Remove(filepath.Join(f.store.String(), "channels", "stable.json"))
		}, UpdateOptions{}, "now missing"},
		{"lower sequence under a respelled source", channels.Stable, func(f *fixture) {
			os.WriteFile(filepath.Join(f.store.String(), "channels", "stable.json"), []byte(f.saved["stable.json"]), 0o644)
			os.WriteFile(filepath.Join(f.store.String(), "channels", "stable.json.sig"), []byte(f.saved["stable.json.sig"]), 0o644)
			f.cfg.Source += "/"
			f.cfg.SourceAsWritten += "/"
		}, UpdateOptions{}, "below 2 recorded in pin.lock"},
		// pin.lock names a release above every listed one (a store that
		// hides the newest): a downgrade. Moving off a yanked release is
		// not one (TestYankedPinMovesDown).
		{"downgrade", channels.Stable, func(f *fixture) {
			lock, _ := LoadLock(f.cfg.LockPath())
			lock.Version = "1.7.0"
			b, _ := lock.Encode()
			os.WriteFile(f.cfg.LockPath(), b, 0o644)
		}, UpdateOptions{}, "refusing to downgrade"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.release("1.5.0", channels.Stable, "a")
			if tc.channel == channels.Edge {
				f.release("1.6.0-edge.1", channels.Edge, "e")
			}
			f.write("main.tf", demoTF)
			f.init(tc.channel)
			if _, err := f.update(UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
			f.saved = map[string]string{}
			for _, n := range []string{"stable.json", "stable.json.sig"} {
				b, _ := os.ReadFile(filepath.Join(f.store.String(), "channels", n))
				f.saved[n] = string(b)
			}
			f.clk.now = t0.Add(time.Hour)
			f.release("1.6.0", channels.Stable, "b")
			if strings.HasPrefix(tc.name, "lower sequence") {
				// The lock must have seen sequence 2 for a replay of 1 to be a rollback.
				if _, err := f.update(UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			f.write("main.tf", demoTF) // back to latest, so an update would write
			tc.setup(f)
			before := snap(t, f.dir)
			_, err := f.update(tc.opts)
			if exitcode.Of(err) != exitcode.Trust || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v (exit %d), want a trust failure (exit 3) mentioning %q", err, exitcode.Of(err), tc.want)
			}
			after := snap(t, f.dir)
			if len(before) != len(after) {
				t.Fatalf("files appeared or vanished: %d before, %d after", len(before), len(after))
			}
			for p, v := range before {
				if after[p] != v {
					t.Fatalf("%s changed on a trust failure", p)
				}
			}
		})
	}
}

// TestUpdateAllOrNothing: one file that fails to parse stops the whole update;
// a symlink leaving the project is refused; file modes survive a rewrite.
func TestUpdateAllOrNothing(t *testing.T) {
	f := newFixture(t)
	f.release("1.5.0", channels.Stable, "a")
	f.write("a.tf", demoTF)
	f.write("b.yaml", "image: public.ecr.aws/y1p3h6z3/bags_api:latest\n")
	if err := os.Chmod(filepath.Join(f.dir, "a.tf"), 0o640); err != nil {
		t.Fatal(err)
	}
	f.init(channels.Stable)

	f.write("broken.json", `{"image": "public.ecr.aws/y1p3h6z3/notifier:latest",}`)
	before := snap(t, f.dir)
	_, err := f.update(UpdateOptions{})
	if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "broken.json:1") {
		t.Fatalf("a file that does not parse: %v (exit %d), want exit 2 naming broken.json:1", err, exitcode.Of(err))
	}
	for p, v := range snap(t, f.dir) {
		if before[p] != v {
			t.Fatalf("%s changed although another file failed to parse", p)
		}
	}
	os.Remove(filepath.Join(f.dir, "broken.json"))

	outside := filepath.Join(t.TempDir(), "elsewhere.yaml")
	os.WriteFile(outside, []byte("image: public.ecr.aws/y1p3h6z3/bags_api:latest\n"), 0o644)
	if err := os.Symlink(outside, filepath.Join(f.dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.update(UpdateOptions{}); exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "link.yaml is a symlink that leaves the project") {
		t.Fatalf("symlink out of the project: %v", err)
	}
	if b, _ := os.ReadFile(outside); !strings.Contains(string(b), ":latest") {
		t.Fatal("pin wrote through a symlink out of the project")
	}
	os.Remove(filepath.Join(f.dir, "link.yaml"))

	if _, err := f.update(UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(f.dir, "a.tf"))
	if err != nil || info.Mode().Perm() != 0o640 {
		t.Fatalf("a.tf mode after update: %v %v, want 0640", info.Mode(), err)
	}
	if strings.Contains(f.read("b.yaml"), ":latest") {
		t.Fatal("b.yaml was not pinned")
	}
	entries, _ := os.ReadDir(f.dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".pin-") || strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("a temporary file was left behind: %s", e.Name())
		}
	}
}

// TestReleaseSetCache: the second load fetches one index per channel and no
// manifest; offline, it needs nothing from the store; a tampered cache entry
// is not trusted.
func TestReleaseSetCache(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.release("1.5.0", channels.Stable, "a")
	f.release("1.6.0-edge.1", channels.Edge, "b")
	f.release("1.6.0-edge.2", channels.Edge, "c")
	v, err := signing.LoadVerifierFiles(f.pubPath)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	opts := ReleaseSetOptions{Source: f.store.String(), Product: "storage-service", Channel: channels.Edge, Verifier: v, CacheDir: cache, Now: f.clk.Now}
	first, err := LoadReleaseSet(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if first.IndexFetches != 2 || first.ManifestFetches != 3 || first.Newest != "1.6.0-edge.2" || len(first.Releases) != 3 {
		t.Fatalf("first load: %d index and %d manifest fetches, newest %s, %d releases", first.IndexFetches, first.ManifestFetches, first.Newest, len(first.Releases))
	}
	second, err := LoadReleaseSet(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.IndexFetches != 2 || second.ManifestFetches != 0 {
		t.Fatalf("second load: %d index and %d manifest fetches, want 2 and 0", second.IndexFetches, second.ManifestFetches)
	}
	offline := opts
	offline.Offline = true
	offline.Source = f.store.String() // same key in the cache
	os.RemoveAll(f.store.String())    // nothing left to fetch
	third, err := LoadReleaseSet(ctx, offline)
	if err != nil || len(third.Releases) != 3 || third.IndexFetches != 0 {
		t.Fatalf("offline load from the cache: %v, %+v", err, third)
	}
	// Flip a byte of a cached manifest: the digest no longer matches, so it is
	// not served from the cache, and offline there is nothing else.
	entries, _ := os.ReadDir(filepath.Join(cache, "manifests"))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			p := filepath.Join(cache, "manifests", e.Name())
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte("bags_api"), []byte("bags_apj"), 1), 0o644)
			break
		}
	}
	fourth, err := LoadReleaseSet(ctx, offline)
	if err != nil {
		t.Fatal(err)
	}
	if len(fourth.Releases) != 2 {
		t.Fatalf("a tampered cache entry was used: %d releases", len(fourth.Releases))
	}
}

// TestReleaseSetRollback: audit's release set refuses an index older than
// the one pin.lock recorded, as update does.
func TestReleaseSetRollback(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.release("1.5.0", channels.Stable, "a")
	old := map[string][]byte{}
	for _, n := range []string{"stable.json", "stable.json.sig"} {
		old[n], _ = os.ReadFile(filepath.Join(f.store.String(), "channels", n))
	}
	f.write("main.tf", demoTF)
	f.init(channels.Stable)
	f.release("1.6.0", channels.Stable, "b")
	if _, err := f.update(UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	lock, err := LoadLock(f.cfg.LockPath())
	if err != nil {
		t.Fatal(err)
	}
	for n, b := range old {
		os.WriteFile(filepath.Join(f.store.String(), "channels", n), b, 0o644)
	}
	v, _ := f.cfg.Verifier()
	_, err = LoadReleaseSet(ctx, ReleaseSetOptions{Source: f.store.String(), Product: "storage-service", Channel: channels.Stable, Verifier: v, Lock: lock, Now: f.clk.Now})
	if exitcode.Of(err) != exitcode.Trust || !strings.Contains(err.Error(), "below 2") {
		t.Fatalf("audit's release set on a replayed index: %v", err)
	}
}

// TestReleaseSetHiddenStable: for an edge consumer whose lock knows stable,
// audit must not accept a store that stopped serving the stable index.
func TestReleaseSetHiddenStable(t *testing.T) {
	f := newFixture(t)
	f.release("1.5.0", channels.Stable, "a")
	f.release("1.6.0-edge.1", channels.Edge, "b")
	f.write("main.tf", demoTF)
	f.init(channels.Edge)
	if _, err := f.update(UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	lock, _ := LoadLock(f.cfg.LockPath())
	os.Remove(filepath.Join(f.store.String(), "channels", "stable.json"))
	v, _ := f.cfg.Verifier()
	_, err := LoadReleaseSet(context.Background(), ReleaseSetOptions{Source: f.store.String(), Product: "storage-service", Channel: channels.Edge, Verifier: v, Lock: lock, Now: f.clk.Now})
	if exitcode.Of(err) != exitcode.Trust || !strings.Contains(err.Error(), "now missing") {
		t.Fatalf("audit with the stable index hidden: %v", err)
	}
}

// TestMatcherRenamingMirror: a registryMap entry may rename a repository;
// files naming only the mirror's name must still be scanned and matched.
func TestMatcherRenamingMirror(t *testing.T) {
	rel := &manifest.Release{Components: []manifest.Component{{Name: "bags_api", Repository: "public.ecr.aws/y1p3h6z3/bags_api"}}}
	m := NewMatcher(rel, map[string]string{"public.ecr.aws/y1p3h6z3/bags_api": "mirror.example.com/storage/bags"})
	ref := "mirror.example.com/storage/bags:latest"
	if !m.MayContain([]byte("image: " + ref + "\n")) {
		t.Fatal("a file naming only the renamed mirror is skipped unscanned")
	}
	if c, ok := m.Match(ref); !ok || c != "bags_api" {
		t.Fatalf("Match(%s) = %q, %v", ref, c, ok)
	}
	if m.Target("bags_api") != "mirror.example.com/storage/bags" {
		t.Fatalf("target %s", m.Target("bags_api"))
	}
}

// TestHelmTemplateDoesNotBlock: a chart template naming a managed repository
// is not valid YAML; it is reported, and the other files are still pinned.
func TestHelmTemplateDoesNotBlock(t *testing.T) {
	f := newFixture(t)
	f.release("1.5.0", channels.Stable, "a")
	f.write("values.yaml", "image: public.ecr.aws/y1p3h6z3/bags_api:latest\n")
	tmpl := "spec:\n  containers:\n    {{- range .Values.extra }}\n    - image: public.ecr.aws/y1p3h6z3/notifier:{{ .tag }}\n    {{- end }}\n"
	f.write("templates/deploy.yaml", tmpl)
	f.init(channels.Stable)
	plan, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(f.read("values.yaml"), ":latest") || f.read("templates/deploy.yaml") != tmpl {
		t.Fatal("values.yaml not pinned, or the template was touched")
	}
	if len(plan.Warnings) != 1 || plan.Warnings[0].File != "templates/deploy.yaml" || !strings.Contains(plan.Warnings[0].Message, "template") {
		t.Fatalf("warnings: %+v", plan.Warnings)
	}
}

func TestMatcherMentions(t *testing.T) {
	rel := &manifest.Release{Components: []manifest.Component{{Name: "bags_api", Repository: "registry.example/storage/bags_api"}}}
	m := NewMatcher(rel, nil)
	for s, want := range map[string]bool{
		"${var.registry}/bags_api:${var.tag}":               true,
		"registry.example/storage/bags_api:${var.tag}":      true,
		"registry.example/storage/bags_api_extra:latest":    false, // another repository
		"registry.example/storagex/bags_api:latest":         false, // a whole reference, not ours
		"see registry.example/storage/bags_api for details": true,
	} {
		if _, got := m.Mentions(s); got != want {
			t.Errorf("Mentions(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestLockStableWithRepeatedReferences: a file naming one component several
// times keeps each reference's recorded old value across no-op runs.
func TestLockStableWithRepeatedReferences(t *testing.T) {
	f := newFixture(t)
	f.release("1.5.0", channels.Stable, "a")
	other := manifest.Digest([]byte("somewhere else"))
	f.write("a.yaml", "a: public.ecr.aws/y1p3h6z3/bags_api:latest@"+other+"\nb: public.ecr.aws/y1p3h6z3/bags_api:latest\nc: public.ecr.aws/y1p3h6z3/bags_api:latest\n")
	f.init(channels.Stable)
	if _, err := f.update(UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	first := f.read("pin.lock")
	if !strings.Contains(first, "latest@"+other) {
		t.Fatal("the first update did not record line 1's old value")
	}
	for i := 0; i < 2; i++ {
		plan, err := f.update(UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if plan.Changed() || f.read("pin.lock") != first {
			t.Fatalf("no-op run %d changed pin.lock", i+2)
		}
	}
}

// TestTagMarkerWithoutDigestWarns: a split value pinned only by its tag is
// written, and said to pin nothing by itself.
func TestTagMarkerWithoutDigestWarns(t *testing.T) {
	f := newFixture(t)
	f.release("1.5.0", channels.Stable, "a")
	f.write("values.yaml", "image:\n  repository: public.ecr.aws/y1p3h6z3/bags_api # pin:bags_api:repo\n  tag: latest # pin:bags_api:tag\n")
	f.init(channels.Stable)
	plan, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.read("values.yaml"), "tag: 1.5.0 # pin:bags_api:tag") {
		t.Fatalf("values.yaml:\n%s", f.read("values.yaml"))
	}
	found := false
	for _, w := range plan.Warnings {
		found = found || (w.Line == 3 && strings.Contains(w.Message, "without a digest marker"))
	}
	if !found {
		t.Fatalf("no tag-only warning: %+v", plan.Warnings)
	}
	res, err := Check(context.Background(), f.cfg, CheckOptions{})
	if err != nil || len(res.Notes) == 0 {
		t.Fatalf("check does not repeat the warning: %v %+v", err, res)
	}
}
