package channels

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
)

const product = "storage-service"

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func newKey(t testing.TB) (*signing.Signer, *signing.Verifier) {
	t.Helper()
	s, err := signing.NewEphemeralSigner()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := s.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.NewVerifier(map[string][]byte{"test.pub": pub})
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func digestOf(s string) string { return manifest.Digest([]byte(s)) }

func testRelease(version string, salt string) *manifest.Release {
	return &manifest.Release{
		SchemaVersion: manifest.SchemaVersion,
		Kind:          manifest.KindRelease,
		Product:       product,
		Version:       version,
		Source:        manifest.Source{Repository: "https://github.com/wellcomecollection/storage-service"},
		Components: []manifest.Component{
			{Name: "bags_api", Repository: "public.ecr.aws/y1p3h6z3/bags_api", Tag: "latest", Digest: digestOf("bags" + salt), MediaType: "application/vnd.oci.image.manifest.v1+json"},
			{Name: "notifier", Repository: "public.ecr.aws/y1p3h6z3/notifier", Tag: "latest", Digest: digestOf("notifier" + salt), MediaType: "application/vnd.oci.image.manifest.v1+json"},
		},
	}
}

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newPublisher(t *testing.T) (*Publisher, *Reader, *clock) {
	t.Helper()
	s, v := newKey(t)
	c := &clock{now: t0}
	store := NewDirStore(t.TempDir())
	return &Publisher{Store: store, Signer: s, Product: product, Now: c.Now, TTLs: map[string]time.Duration{Edge: time.Hour, Stable: 720 * time.Hour}},
		newReader(t, store, v, c.Now), c
}

// newReader reads store trusting v's keys for product, every check enforced.
func newReader(t testing.TB, store ReadStore, v *signing.Verifier, now func() time.Time) *Reader {
	t.Helper()
	rd, err := NewReader(store, Keys(v), TrustOptions{Product: product, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

func TestCheckVersion(t *testing.T) {
	tests := []struct {
		channel, version string
		ok               bool
	}{
		{Stable, "1.5.0", true},
		{Stable, "1.5.0-edge.1", false},
		{Stable, "v1.5.0", false},
		{Stable, "1.5", false},
		{Stable, "1.5.0+build.1", false},
		{Edge, "1.5.0-edge.1", true},
		{Edge, "1.5.0-edge.0", true},
		{Edge, "1.5.0-edge.01", false},
		{Edge, "1.5.0-edge.x", false},
		{Edge, "1.5.0-rc.1", false},
		// Above 2^64 the semver library orders the identifier as a string
		// (edge.18446744073709551616 < edge.9): refused by the rules.
		{Edge, "1.5.0-edge.9223372036854775807", true},
		{Edge, "1.5.0-edge.9223372036854775808", false},
		{Edge, "1.5.0-edge.18446744073709551616", false},
		{Edge, "1.5.0", false},
		{"beta", "1.5.0", false},
	}
	for _, tt := range tests {
		_, err := CheckVersion(tt.channel, tt.version)
		if (err == nil) != tt.ok {
			t.Errorf("CheckVersion(%s, %s) = %v, want ok=%v", tt.channel, tt.version, err, tt.ok)
		}
	}
}

func TestSelect(t *testing.T) {
	entry := func(v string, yanked bool) manifest.Entry {
		return manifest.Entry{Version: v, Digest: digestOf(v), Created: t0, Yanked: yanked}
	}
	indexes := map[string]*manifest.Channel{
		Stable: {Channel: Stable, Releases: []manifest.Entry{entry("1.4.0", false), entry("1.5.0", false), entry("1.5.1", true), entry("2.0.0", false)}},
		Edge:   {Channel: Edge, Releases: []manifest.Entry{entry("1.5.1-edge.1", false), entry("1.5.2-edge.1", false), entry("2.1.0-edge.3", false)}},
	}
	tests := []struct {
		channel, constraint, want string
	}{
		{Stable, "", "2.0.0"},
		{Stable, "~1.5", "1.5.0"},       // 1.5.1 is yanked
		{Stable, ">=1.4 <1.5", "1.4.0"}, // range
		{Edge, "", "2.1.0-edge.3"},
		{Edge, "~1.5", "1.5.2-edge.1"}, // prereleases match on X.Y.Z, no -0 trick
		{Edge, "^2", "2.1.0-edge.3"},
		{Edge, "=2.0.0", "2.0.0"}, // edge sees stable
		{Stable, ">=3", ""},
	}
	for _, tt := range tests {
		t.Run(tt.channel+" "+tt.constraint, func(t *testing.T) {
			cs, err := ParseConstraint(tt.constraint)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := Select(Visible(tt.channel, indexes), cs)
			if tt.want == "" {
				if ok {
					t.Fatalf("selected %s, want none", got.Version)
				}
				return
			}
			if !ok || got.Version != tt.want {
				t.Fatalf("selected %q (ok=%v), want %q", got.Version, ok, tt.want)
			}
		})
	}
}

func TestPublishLifecycle(t *testing.T) {
	ctx := context.Background()
	pub, rd, clk := newPublisher(t)

	p1, err := pub.Create(ctx, testRelease("1.5.0-edge.1", "a"), Edge, 168*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if p1.Channel.Sequence != 1 || !p1.Channel.Expires.Equal(t0.Add(168*time.Hour)) {
		t.Fatalf("edge index: sequence %d expires %s", p1.Channel.Sequence, p1.Channel.Expires)
	}

	// The reader verifies the index and the release it lists.
	vc, err := rd.Channel(ctx, Edge)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := vc.Index.Entry("1.5.0-edge.1")
	vr, err := rd.Release(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if vr.Digest != p1.ReleaseDigest {
		t.Fatalf("release digest %s, want %s", vr.Digest, p1.ReleaseDigest)
	}

	// Same version again: refused, nothing changes.
	if _, err := pub.Create(ctx, testRelease("1.5.0-edge.1", "b"), Edge, time.Hour); exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate create: %v (exit %d)", err, exitcode.Of(err))
	}

	clk.now = t0.Add(time.Hour)
	p2, err := pub.Promote(ctx, "1.5.0-edge.1", Stable, "", 720*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if p2.Release.Version != "1.5.0" || p2.Release.PromotedFrom == nil || p2.Release.PromotedFrom.Digest != p1.ReleaseDigest {
		t.Fatalf("promoted release: %+v", p2.Release)
	}
	for i, c := range p2.Release.Components {
		if c.Digest != p1.Release.Components[i].Digest {
			t.Fatalf("promotion changed %s's digest", c.Name)
		}
	}
	// Edge after stable 1.5.0 must move ahead.
	if err := pub.CheckCreate(ctx, Edge, "1.5.0-edge.2"); exitcode.Of(err) != exitcode.Usage {
		t.Fatalf("edge behind stable: %v", err)
	}
	if _, err := pub.Promote(ctx, "1.5.0-edge.1", Stable, "1.6.0", time.Hour); exitcode.Of(err) != exitcode.Usage {
		t.Fatalf("promote --as other version: %v", err)
	}

	y, err := pub.Yank(ctx, Stable, "1.5.0", "broke ingests", 720*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if y.Channel.Sequence != 2 || !y.Channel.Releases[0].Yanked {
		t.Fatalf("after yank: %+v", y.Channel)
	}
	if _, err := pub.Yank(ctx, Stable, "1.5.0", "again", time.Hour); exitcode.Of(err) != exitcode.Usage {
		t.Fatalf("second yank: %v", err)
	}
	if _, err := pub.Yank(ctx, Stable, "9.9.9", "nope", time.Hour); exitcode.Of(err) != exitcode.Usage {
		t.Fatalf("yank unknown: %v", err)
	}

	// The yank followed the promotion to edge (sequence 2, expiring an hour after the yank, with edge's TTL).
	clk.now = t0.Add(3 * time.Hour) // edge has expired
	if _, err := rd.Channel(ctx, Edge); exitcode.Of(err) != exitcode.Trust || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired edge: %v", err)
	}
	r, err := pub.Refresh(ctx, Edge, 168*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if r.Channel.Sequence != 3 || !r.Channel.Releases[0].Yanked {
		t.Fatalf("refresh: sequence %d, %+v; want 3 with 1.5.0-edge.1 yanked", r.Channel.Sequence, r.Channel.Releases)
	}
	vc2, err := rd.Channel(ctx, Edge)
	if err != nil {
		t.Fatalf("refreshed edge: %v", err)
	}
	known := func(seq int64, digest string) error {
		tr, err := NewTrusted(Keys(mustVerifier(t, pub.Signer)), TrustOptions{Product: product, Now: clk.Now, Known: map[string]KnownIndex{Edge: {Sequence: seq, Digest: digest}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = tr.UpdateChannel(ctx, Edge, vc2.Doc)
		return err
	}
	if err := known(4, ""); exitcode.Of(err) != exitcode.Trust || !errors.Is(err, ErrRollback) {
		t.Fatalf("rollback not caught: %v", err)
	}
	if err := known(3, vc.Digest); exitcode.Of(err) != exitcode.Trust || !errors.Is(err, ErrFork) {
		t.Fatalf("fork not caught: %v", err)
	}
	if err := known(3, vc2.Digest); err != nil {
		t.Fatalf("same index: %v", err)
	}
}

func TestCreateRefusesBadVersions(t *testing.T) {
	ctx := context.Background()
	pub, _, _ := newPublisher(t)
	for _, tt := range []struct{ channel, version string }{
		{Stable, "1.5.0-edge.1"}, {Edge, "1.5.0"}, {Stable, "01.5.0"}, {Edge, "1.5.0-beta"}, {"nightly", "1.5.0"},
	} {
		_, err := pub.Create(ctx, testRelease(tt.version, "x"), tt.channel, time.Hour)
		if exitcode.Of(err) != exitcode.Usage {
			t.Errorf("create %s on %s: %v (exit %d), want usage error", tt.version, tt.channel, err, exitcode.Of(err))
		}
	}
	entries, _ := os.ReadDir(pub.Store.(*DirStore).root)
	if len(entries) != 0 {
		t.Fatalf("refused creates wrote %d entries", len(entries))
	}
}

// TestReaderTrustFailures tampers with what a store serves; each case must be a trust error.
func TestReaderTrustFailures(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		mutate func(t *testing.T, root string, pub *Publisher)
		read   func(rd *Reader) error
	}{
		{"tampered index byte", func(t *testing.T, root string, _ *Publisher) {
			flip(t, filepath.Join(root, "channels", "edge.json"), `"sequence":1`, `"sequence":9`)
		}, readEdge},
		{"tampered manifest byte", func(t *testing.T, root string, _ *Publisher) {
			flip(t, filepath.Join(root, "releases", "1.5.0-edge.1.json"), `bags_api`, `bags_apx`)
		}, readEdgeRelease},
		{"wrong key", func(t *testing.T, root string, _ *Publisher) {
			other, _ := newKey(t)
			b, _ := os.ReadFile(filepath.Join(root, "channels", "edge.json"))
			sig, _ := other.SignBlob(context.Background(), b)
			os.WriteFile(filepath.Join(root, "channels", "edge.json.sig"), sig, 0o644)
		}, readEdge},
		{"stable served as edge", func(t *testing.T, root string, pub *Publisher) {
			if _, err := pub.Promote(context.Background(), "1.5.0-edge.1", Stable, "", time.Hour); err != nil {
				t.Fatal(err)
			}
			for _, ext := range []string{".json", ".json.sig"} {
				b, _ := os.ReadFile(filepath.Join(root, "channels", "stable"+ext))
				os.WriteFile(filepath.Join(root, "channels", "edge"+ext), b, 0o644)
			}
		}, readEdge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pub, rd, _ := newPublisher(t)
			if _, err := pub.Create(ctx, testRelease("1.5.0-edge.1", "a"), Edge, time.Hour); err != nil {
				t.Fatal(err)
			}
			tc.mutate(t, pub.Store.(*DirStore).root, pub)
			if err := tc.read(rd); exitcode.Of(err) != exitcode.Trust {
				t.Fatalf("got %v (exit %d), want a trust failure", err, exitcode.Of(err))
			}
		})
	}
}

func readEdge(rd *Reader) error {
	_, err := rd.Channel(context.Background(), Edge)
	return err
}

func readEdgeRelease(rd *Reader) error {
	vc, err := rd.Channel(context.Background(), Edge)
	if err != nil {
		return fmt.Errorf("index should have verified: %v", err) // loses the class, so the test fails
	}
	e, _ := vc.Index.Entry("1.5.0-edge.1")
	_, err = rd.Release(context.Background(), e)
	return err
}

func flip(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHTTPStoreServesDirLayout(t *testing.T) {
	ctx := context.Background()
	pub, _, clk := newPublisher(t)
	if _, err := pub.Create(ctx, testRelease("1.5.0-edge.1", "a"), Edge, time.Hour); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(pub.Store.(*DirStore).root)))
	defer srv.Close()
	hs, err := NewHTTPStore(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	rd := newReader(t, hs, mustVerifier(t, pub.Signer), clk.Now)
	vc, err := rd.Channel(ctx, Edge)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Release(ctx, vc.Index.Releases[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := hs.GetChannel(ctx, Stable); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing channel over HTTP: %v", err)
	}
	if _, err := Writable(hs); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("HTTP store accepted a write: %v", err)
	}
	if _, err := OpenWritable(srv.URL, OpenOptions{HTTPClient: srv.Client()}); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("an https:// location opened for writing: %v", err)
	}
	if _, err := NewHTTPStore("http://example.invalid/releases", nil); err == nil {
		t.Fatal("plain http to a non-loopback host must be refused")
	}
}

func mustVerifier(t *testing.T, s *signing.Signer) *signing.Verifier {
	t.Helper()
	pem, err := s.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.NewVerifier(map[string][]byte{"k": pem})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestKeyRotation: a new signing key can take over a channel only when the
// old key is listed in AlsoTrust; consumers who trust both keep verifying.
func TestKeyRotation(t *testing.T) {
	ctx := context.Background()
	oldPub, _, clk := newPublisher(t)
	if _, err := oldPub.Create(ctx, testRelease("1.5.0-edge.1", "a"), Edge, time.Hour); err != nil {
		t.Fatal(err)
	}
	newSigner, newVerifier := newKey(t)
	rotating := &Publisher{Store: oldPub.Store, Signer: newSigner, Product: product, Now: clk.Now}
	if _, err := rotating.Refresh(ctx, Edge, time.Hour); exitcode.Of(err) != exitcode.Trust || !strings.Contains(err.Error(), "previousKeys") {
		t.Fatalf("new key without the old one listed: %v", err)
	}
	oldPEM, err := oldPub.Signer.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	rotating.AlsoTrust = map[string][]byte{"old.pub": oldPEM}
	if _, err := rotating.Promote(ctx, "1.5.0-edge.1", Stable, "", time.Hour); err != nil {
		t.Fatalf("promote an old-key release with the new key: %v", err)
	}
	if _, err := rotating.Refresh(ctx, Edge, time.Hour); err != nil {
		t.Fatal(err)
	}
	rd := newReader(t, oldPub.Store, newVerifier, clk.Now)
	if _, err := rd.Channel(ctx, Edge); err != nil {
		t.Fatalf("consumer trusting the new key: %v", err)
	}
}

// TestYankFollowsPromotion: yanking a promoted release also yanks the edge
// release with the same digests, so edge consumers cannot select it.
func TestYankFollowsPromotion(t *testing.T) {
	ctx := context.Background()
	pub, rd, _ := newPublisher(t)
	if _, err := pub.Create(ctx, testRelease("1.6.0-edge.1", "a"), Edge, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Promote(ctx, "1.6.0-edge.1", Stable, "", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Yank(ctx, Stable, "1.6.0", "corrupts bags", time.Hour); err != nil {
		t.Fatal(err)
	}
	edge, err := rd.Channel(ctx, Edge)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := edge.Index.Entry("1.6.0-edge.1")
	if !e.Yanked || !strings.Contains(e.Reason, "corrupts bags") {
		t.Fatalf("edge entry after yanking its promotion: %+v", e)
	}
	stable, _ := rd.Channel(ctx, Stable)
	if _, ok := Select(Visible(Edge, map[string]*manifest.Channel{Edge: edge.Index, Stable: stable.Index}), nil); ok {
		t.Fatal("an edge consumer can still select the withdrawn digests")
	}
}

// TestReaderRefusesMisbuiltIndex: a signed stable index that lists a
// prerelease is refused, so stable consumers never get one.
func TestReaderRefusesMisbuiltIndex(t *testing.T) {
	ctx := context.Background()
	pub, rd, clk := newPublisher(t)
	idx := &manifest.Channel{SchemaVersion: 1, Kind: manifest.KindChannel, Product: product, Channel: Stable, Sequence: 1,
		Issued: clk.now, Expires: clk.now.Add(time.Hour),
		Releases: []manifest.Entry{{Version: "1.5.0-edge.1", Digest: digestOf("x"), Created: clk.now}}}
	b, err := idx.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := pub.Signer.SignBlob(ctx, b)
	if err := pub.Store.PutChannel(ctx, Stable, Document{Bytes: b, Signature: sig}); err != nil {
		t.Fatal(err)
	}
	if _, err := rd.Channel(ctx, Stable); exitcode.Of(err) != exitcode.Trust || !strings.Contains(err.Error(), "may not hold") {
		t.Fatalf("stable index listing a prerelease: %v", err)
	}
}

// TestHTTPStorePlainHTTPOnlyOnLoopback: plain http is accepted for a literal
// loopback address or "localhost" only, never for a host name that merely
// starts with "127.", and a redirect may not carry a plain-HTTP store off
// loopback (checked before anything is dialled).
func TestHTTPStorePlainHTTPOnlyOnLoopback(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080/r", true},
		{"http://127.4.5.6/r", true},
		{"http://[::1]:8080/r", true},
		{"http://localhost:8080/r", true},
		{"https://releases.example/r", true},
		{"http://127.0.0.1.nip.example/r", false},
		{"http://127.attacker.example/r", false},
		{"http://localhost.attacker.example/r", false},
		{"http://10.0.0.1/r", false},
		{"http://[::ffff:8.8.8.8]/r", false},
	} {
		_, err := NewHTTPStore(tc.url, nil)
		if (err == nil) != tc.ok {
			t.Errorf("NewHTTPStore(%s): %v, want ok=%v", tc.url, err, tc.ok)
		}
	}

	var offLoopbackDialled bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://releases.attacker.invalid"+r.URL.Path, http.StatusFound)
	}))
	defer srv.Close()
	client := srv.Client()
	client.Transport = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			offLoopbackDialled = true
			return nil, fmt.Errorf("test refuses to dial %s", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	hs, err := NewHTTPStore(srv.URL, client)
	if err != nil {
		t.Fatal(err)
	}
	_, err = hs.GetChannel(context.Background(), Stable)
	if err == nil || !strings.Contains(err.Error(), "must stay on loopback") {
		t.Fatalf("redirect off loopback: %v", err)
	}
	if offLoopbackDialled {
		t.Fatal("the redirect target was dialled")
	}
}
