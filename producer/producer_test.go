package producer

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/registry"
	"github.com/wellcomecollection/pin/signing"
)

const (
	commitA = "5f1c3e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e"
	commitB = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
)

var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is a product on an in-memory registry: bags_api (a two-platform
// index) and notifier built from commitA, tagged ref.<commitA>, and a
// release.yaml (ref.{revision} tags) publishing to a directory store.
type fixture struct {
	dir      string
	cfg      *releaseconfig.Config
	host     string
	requests *atomic.Int64 // requests the registry answered
	signer   *signing.Signer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), requests: &atomic.Int64{}}
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.host = strings.TrimPrefix(srv.URL, "http://")
	testenv.PushRevisionImage(t, f.host+"/y1p3h6z3/bags_api:ref."+commitA, commitA, commitA)
	testenv.PushRevisionImage(t, f.host+"/y1p3h6z3/notifier:ref."+commitA, commitA)
	yaml := "product: storage-service\nsource: https://github.com/wellcomecollection/storage-service\nstore: ./store\n" +
		"channels:\n  edge: {ttl: 168h}\n  stable: {ttl: 720h}\ncomponents:\n" +
		"  - name: bags_api\n    image: " + f.host + "/y1p3h6z3/bags_api:ref.{revision}\n" +
		"  - name: notifier\n    image: " + f.host + "/y1p3h6z3/notifier:ref.{revision}\n"
	path := filepath.Join(f.dir, "release.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.cfg, err = releaseconfig.Load(path); err != nil {
		t.Fatal(err)
	}
	priv, _, err := signing.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if f.signer, err = signing.LoadPrivateKey(priv, []byte("pw")); err != nil {
		t.Fatal(err)
	}
	f.requests.Store(0)
	return f
}

func (f *fixture) open(t *testing.T) *Producer {
	t.Helper()
	p, err := Open(context.Background(), f.cfg, Options{Signer: f.signer, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) createOptions(version, channel, revision string) CreateOptions {
	return CreateOptions{BuildOptions: BuildOptions{Revision: revision, Jobs: 4, Now: func() time.Time { return fixedNow }},
		Version: version, Channel: channel}
}

// TestNewCreateChecksBeforeFetching: what can be refused from the flags and
// release.yaml alone is refused with exit 2 before any registry request.
func TestNewCreateChecksBeforeFetching(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name, version, channel, revision, want string
	}{
		{"not semver", "1.0", "edge", commitA, "not a strict SemVer"},
		{"final on edge", "1.0.0", "edge", commitA, "edge takes X.Y.Z-edge.N"},
		{"unconfigured channel", "1.0.0", "stable", commitA, ""},
		{"no revision for {revision}", "1.0.0-edge.1", "edge", "", "release.yaml:8: component bags_api: image " + f.host + "/y1p3h6z3/bags_api:ref.{revision} needs a revision"},
		{"unsafe revision", "1.0.0-edge.1", "edge", "a/b", `"a/b" must be a git commit`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.cfg
			if tt.name == "unconfigured channel" {
				c := *f.cfg
				c.Channels = map[string]releaseconfig.Channel{"edge": f.cfg.Channels["edge"]}
				cfg, tt.want = &c, "does not configure channel stable"
			}
			_, err := NewCreate(cfg, f.createOptions(tt.version, tt.channel, tt.revision))
			if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("exit %d (%v), want 2 with %q", exitcode.Of(err), err, tt.want)
			}
			if n := f.requests.Load(); n != 0 {
				t.Fatalf("%d registry requests before the refusal, want none", n)
			}
		})
	}
}

// TestCreateRunPublishes builds a release from one commit, publishes it,
// and reruns it: a dry run writes nothing, the first run publishes, the
// rerun is a no-op; promotion copies the digests with TTLs from release.yaml.
func TestCreateRunPublishes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := NewCreate(f.cfg, f.createOptions("1.0.0-edge.1", "edge", commitA))
	if err != nil {
		t.Fatal(err)
	}
	dry, err := c.Run(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dry.Published != nil || len(dry.Release.Components) != 2 || dry.Release.Source.Revision != commitA {
		t.Fatalf("dry run: %+v", dry)
	}
	if _, err := os.Stat(filepath.Join(f.dir, "store")); !os.IsNotExist(err) {
		t.Fatalf("a dry run wrote the store: %v", err)
	}
	p := f.open(t)
	got, err := c.Run(ctx, p.Publisher)
	if err != nil {
		t.Fatal(err)
	}
	if got.Published == nil || got.Published.Unchanged || got.Published.Channel.Sequence != 1 {
		t.Fatalf("published %+v", got.Published)
	}
	if !got.Published.Channel.Expires.Equal(fixedNow.Add(168 * time.Hour)) {
		t.Errorf("edge expires %s, want release.yaml's 168h after %s", got.Published.Channel.Expires, fixedNow)
	}
	for i, comp := range got.Release.Components {
		if comp.Digest != dry.Release.Components[i].Digest || comp.Revision != "" {
			t.Errorf("component %s: %s (revision %q), dry run said %s", comp.Name, comp.Digest, comp.Revision, dry.Release.Components[i].Digest)
		}
	}
	if len(got.Release.Components[0].Platforms) != 2 {
		t.Errorf("bags_api platforms %+v, want 2", got.Release.Components[0].Platforms)
	}
	again, err := c.Run(ctx, p.Publisher)
	if err != nil || !again.Published.Unchanged {
		t.Fatalf("rerun: %v, %+v", err, again)
	}
	promoted, err := p.Promote(ctx, "1.0.0-edge.1", channels.Stable, "")
	if err != nil {
		t.Fatal(err)
	}
	if promoted.Release.Version != "1.0.0" || !promoted.Channel.Expires.Equal(fixedNow.Add(720*time.Hour)) {
		t.Errorf("promoted %s expiring %s, want 1.0.0 expiring 720h on", promoted.Release.Version, promoted.Channel.Expires)
	}
	refreshed, err := p.Refresh(ctx, channels.Edge, time.Hour)
	if err != nil || refreshed.Channel.Sequence != 2 || !refreshed.Channel.Expires.Equal(fixedNow.Add(time.Hour)) {
		t.Fatalf("refresh: %v, %+v", err, refreshed)
	}
	yanked, err := p.Yank(ctx, channels.Stable, "1.0.0", "broken")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := yanked.Channel.Entry("1.0.0"); !e.Yanked {
		t.Errorf("1.0.0 not yanked: %+v", yanked.Channel)
	}
}

// TestCreateAutoVersion takes the channel's next free version: unverified
// (and said so) in a dry run, with the publisher's key otherwise.
func TestCreateAutoVersion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := f.open(t)
	first, err := NewCreate(f.cfg, f.createOptions("1.0.0-edge.1", "edge", commitA))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Run(ctx, p.Publisher); err != nil {
		t.Fatal(err)
	}
	testenv.PushRevisionImage(t, f.host+"/y1p3h6z3/notifier:ref."+commitB, commitB)
	testenv.PushRevisionImage(t, f.host+"/y1p3h6z3/bags_api:ref."+commitB, commitB)
	var warnings []string
	o := f.createOptions(AutoVersion, "edge", commitB)
	o.Warn = func(w string) { warnings = append(warnings, w) }
	auto, err := NewCreate(f.cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	dry, err := auto.Run(ctx, nil)
	if err != nil || dry.Release.Version != "1.0.0-edge.2" {
		t.Fatalf("dry run auto: %v, %+v", err, dry)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "without verifying signatures") {
		t.Errorf("dry run auto warnings %q, want one about the unverified read", warnings)
	}
	got, err := auto.Run(ctx, p.Publisher)
	if err != nil || got.Release.Version != "1.0.0-edge.2" || got.Release.Source.Revision != commitB {
		t.Fatalf("auto: %v, %+v", err, got)
	}
	// A rerun of the same build finds its release instead of taking edge.3.
	if again, err := auto.Run(ctx, p.Publisher); err != nil || again.Release.Version != "1.0.0-edge.2" || !again.Published.Unchanged {
		t.Fatalf("auto rerun: %v, %+v", err, again)
	}
}

// TestBuildNamesWhatFailed: a component that does not resolve and a label
// from another commit are refused naming release.yaml's file:line, with
// the exit code of each kind of failure.
func TestBuildNamesWhatFailed(t *testing.T) {
	f := newFixture(t)
	testenv.PushRevisionImage(t, f.host+"/y1p3h6z3/bags_api:ref."+commitB, commitB)
	testenv.PushRevisionImage(t, f.host+"/y1p3h6z3/notifier:ref."+commitB, commitA) // tagged B, built from A
	for _, tt := range []struct {
		name, revision string
		code           int
		want           []string
	}{
		{"missing tag", "c0ffee0a9b8d", exitcode.Operational, []string{"2 of 2 components did not resolve; nothing was published", "component bags_api (" + f.host + "/y1p3h6z3/bags_api:ref.c0ffee0a9b8d, " + f.cfg.Path + ":8)"}},
		{"tag of another build", commitB, exitcode.Usage, []string{f.cfg.Path + ":10: component notifier: " + f.host + "/y1p3h6z3/notifier:ref." + commitB + " carries org.opencontainers.image.revision " + commitA, "nothing was published"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBuild(f.cfg, BuildOptions{Revision: tt.revision})
			if err != nil {
				t.Fatal(err)
			}
			built, err := b.Release(context.Background(), "1.0.0-edge.1")
			if built != nil || exitcode.Of(err) != tt.code {
				t.Fatalf("exit %d (%v), want %d", exitcode.Of(err), err, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestBuildRefusesMovedTag moves notifier's tag between the resolution and
// the confirmation (before the first manifest HEAD, which only the
// confirmation sends): the release is refused with exit 1 naming the tag
// and both digests.
func TestBuildRefusesMovedTag(t *testing.T) {
	f := newFixture(t)
	tag := f.host + "/y1p3h6z3/notifier:ref." + commitA
	var now string
	var once sync.Once
	rt := roundTripper(func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/") {
			once.Do(func() { now = testenv.PushRevisionImage(t, tag, commitA).String() }) // a rebuild of the same commit
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	b, err := NewBuild(f.cfg, BuildOptions{Revision: commitA, Registry: []registry.Option{registry.WithTransport(rt)}})
	if err != nil {
		t.Fatal(err)
	}
	built, err := b.Release(context.Background(), "1.0.0-edge.1")
	if built != nil || exitcode.Of(err) != exitcode.Operational {
		t.Fatalf("exit %d (%v), want 1", exitcode.Of(err), err)
	}
	for _, w := range []string{"1 tag(s) moved", "component notifier (" + f.cfg.Path + ":10): tag " + tag, "now " + now} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestOpenRefusesReadOnlyStore: an HTTPS store has no Put; publishing to it
// is a configuration error naming release.yaml.
func TestOpenRefusesReadOnlyStore(t *testing.T) {
	f := newFixture(t)
	cfg := *f.cfg
	cfg.Store = "https://releases.example.org/storage-service"
	_, err := Open(context.Background(), &cfg, Options{Signer: f.signer})
	if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), f.cfg.Path+": store https://releases.example.org/storage-service is read-only") {
		t.Fatalf("exit %d (%v), want 2 naming the read-only store", exitcode.Of(err), err)
	}
}
