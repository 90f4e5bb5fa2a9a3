package pin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
	"github.com/wellcomecollection/pin/trustroot"
)

// rootFixture is a producer with a root of trust (root, release and index
// keys apart) and a consumer that trusts that root by its fingerprint.
type rootFixture struct {
	*fixture
	keys map[string]*signing.Signer
	root *manifest.Root // the newest root published
}

func newRootFixture(t *testing.T, roles map[string][]string) *rootFixture {
	t.Helper()
	f := &rootFixture{fixture: newFixture(t), keys: map[string]*signing.Signer{}}
	r := trustroot.NewRoot("storage-service", t0.Add(365*24*time.Hour))
	for _, role := range []string{manifest.RoleRoot, manifest.RoleRelease, manifest.RoleIndex, "index-stable"} {
		for _, n := range roles[role] {
			f.addKey(r, role, n)
		}
	}
	f.publishRoot(r, "root")
	f.pub.Signer = f.key("release")
	f.pub.IndexSigner = f.key(roles[manifest.RoleIndex][0])
	return f
}

func (f *rootFixture) key(name string) *signing.Signer {
	f.t.Helper()
	if s, ok := f.keys[name]; ok {
		return s
	}
	s, err := signing.NewEphemeralSigner()
	if err != nil {
		f.t.Fatal(err)
	}
	f.keys[name] = s
	return s
}

func (f *rootFixture) addKey(r *manifest.Root, role, name string) {
	f.t.Helper()
	pem, err := f.key(name).PublicKeyPEM()
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := trustroot.AddKey(r, role, pem); err != nil {
		f.t.Fatal(err)
	}
}

// publishRoot signs r with the named keys and publishes it; the publisher
// then works under it.
func (f *rootFixture) publishRoot(r *manifest.Root, signers ...string) {
	f.t.Helper()
	b, err := r.Encode()
	if err != nil {
		f.t.Fatal(err)
	}
	s := trustroot.Signed{Bytes: b}
	for _, n := range signers {
		if s, err = trustroot.Sign(context.Background(), f.key(n), s); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := f.store.PutRoot(context.Background(), r.Version, s); err != nil {
		f.t.Fatal(err)
	}
	tr, err := trustroot.Parse(s, "")
	if err != nil {
		f.t.Fatal(err)
	}
	f.root, f.pub.Root = r, tr
}

func (f *rootFixture) initByRoot(channel string) {
	f.t.Helper()
	b, err := f.root.Encode()
	if err != nil {
		f.t.Fatal(err)
	}
	cfg, err := Init(context.Background(), InitOptions{Path: filepath.Join(f.dir, "pin.yaml"), Source: f.store.String(),
		Channel: channel, RootSHA256: strings.TrimPrefix(manifest.Digest(b), "sha256:"), Now: f.clk.Now})
	if err != nil {
		f.t.Fatal(err)
	}
	f.cfg = cfg
}

// TestStolenIndexKeyRecovery: a thief with the index key publishes sequence
// 10^9; every consumer that saw it refuses the producer's real indexes. The
// producer alone recovers by rotating the index key in a new root: consumers
// follow the root, forget the thief's sequence, and accept the real index,
// while the stolen key's indexes are refused from then on. pin.yaml is never edited.
func TestStolenIndexKeyRecovery(t *testing.T) {
	ctx := context.Background()
	f := newRootFixture(t, map[string][]string{manifest.RoleRoot: {"root"}, manifest.RoleRelease: {"release"}, manifest.RoleIndex: {"index1"}})
	f.release("1.5.0", channels.Stable, "a")
	f.write("infra/main.tf", demoTF)
	f.initByRoot(channels.Stable)
	if !strings.Contains(f.read("pin.yaml"), "root: ") || strings.Contains(f.read("pin.yaml"), "keys:") {
		t.Fatalf("pin init --root-sha256 wrote no root:\n%s", f.read("pin.yaml"))
	}
	pinYAML := f.read("pin.yaml")
	if _, err := f.update(UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	// The thief signs, with the stolen index key, the real index at sequence 10^9.
	f.clk.now = t0.Add(time.Hour)
	cur, err := f.store.GetChannel(ctx, channels.Stable)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := manifest.DecodeChannel(cur.Bytes, manifest.Expect{})
	if err != nil {
		t.Fatal(err)
	}
	idx.Sequence = 1_000_000_000
	idx.Issued, idx.Expires = f.clk.now, f.clk.now.Add(24*time.Hour)
	b, err := idx.Encode()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := f.key("index1").SignBlob(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutChannel(ctx, channels.Stable, channels.Document{Bytes: b, Signature: sig}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.update(UpdateOptions{}); err != nil {
		t.Fatalf("the thief's index is validly signed, the consumer takes it: %v", err)
	}
	lock, err := LoadLock(f.cfg.LockPath())
	if err != nil || lock.Channels[channels.Stable].Sequence != 1_000_000_000 {
		t.Fatalf("lock after the theft: %+v, %v", lock, err)
	}

	// Without a new root, the producer's next real index (sequence 1e9+1 is
	// out of its reach: it publishes what it has, the thief's index stays
	// signed by a trusted key) cannot help: show that a lower sequence is refused.
	low := *idx
	low.Sequence = 2
	b2, _ := low.Encode()
	sig2, _ := f.key("index1").SignBlob(ctx, b2)
	if err := f.store.PutChannel(ctx, channels.Stable, channels.Document{Bytes: b2, Signature: sig2}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.update(UpdateOptions{}); exitcode.Of(err) != exitcode.Trust || !strings.Contains(err.Error(), "below 1000000000") {
		t.Fatalf("before recovery: err = %v, want the rollback refusal", err)
	}

	// Recovery: root 2 replaces the index key, signed by the root key.
	next := trustroot.NextDraft(f.root, t0.Add(365*24*time.Hour))
	f.addKey(next, manifest.RoleIndex, "index2")
	if _, err := trustroot.RemoveKey(next, manifest.RoleIndex, mustID(t, f.key("index1"))); err != nil {
		t.Fatal(err)
	}
	f.publishRoot(next, "root")
	f.pub.IndexSigner = f.key("index2")
	f.clk.now = t0.Add(2 * time.Hour)
	// The producer publishes the next index with the new key, building on
	// the last one published under root 1 (pin channel refresh does this).
	prevRoot, err := trustroot.Parse(mustSigned(t, f.store, 1), "")
	if err != nil {
		t.Fatal(err)
	}
	f.pub.PreviousRoots = []*trustroot.Trusted{prevRoot}
	if _, err := f.pub.Refresh(ctx, channels.Stable, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	plan, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatalf("after rotating the index key: %v", err)
	}
	if !strings.Contains(strings.Join(plan.RootNotes, "\n"), "sequence recorded in pin.lock (1000000000) is forgotten") {
		t.Errorf("notes: %q", plan.RootNotes)
	}
	lock, err = LoadLock(f.cfg.LockPath())
	if err != nil || lock.Channels[channels.Stable].Sequence != 3 || len(lock.Roots) != 1 {
		t.Fatalf("lock after recovery: %+v, %v", lock, err)
	}
	if f.read("pin.yaml") != pinYAML {
		t.Fatal("recovery edited pin.yaml")
	}

	// The stolen key is revoked: the thief's next index is refused, and
	// writes nothing.
	f.clk.now = t0.Add(3 * time.Hour)
	idx.Sequence = 2_000_000_000
	idx.Issued, idx.Expires = f.clk.now, f.clk.now.Add(24*time.Hour)
	b4, _ := idx.Encode()
	sig4, _ := f.key("index1").SignBlob(ctx, b4)
	if err := f.store.PutChannel(ctx, channels.Stable, channels.Document{Bytes: b4, Signature: sig4}); err != nil {
		t.Fatal(err)
	}
	before := snap(t, f.dir)
	if _, err := f.update(UpdateOptions{}); exitcode.Of(err) != exitcode.Trust {
		t.Fatalf("the revoked key's index: err = %v, want a trust error", err)
	}
	if after := snap(t, f.dir); len(after) != len(before) {
		t.Fatal("a trust failure wrote files")
	} else {
		for p, v := range before {
			if after[p] != v {
				t.Fatalf("a trust failure changed %s", p)
			}
		}
	}

	// pin check verifies offline with the chain pin.lock carries.
	if _, err := Check(ctx, f.cfg, CheckOptions{}); err != nil {
		t.Fatalf("offline check after the rotation: %v", err)
	}
}

func mustSigned(t *testing.T, st *channels.DirStore, version int64) trustroot.Signed {
	t.Helper()
	s, err := st.GetRoot(context.Background(), version)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustID(t *testing.T, s *signing.Signer) string {
	t.Helper()
	id, err := trustroot.KeyID(s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestStableThresholdTwo: stable needs CI and a person, edge CI alone.
func TestStableThresholdTwo(t *testing.T) {
	f := newRootFixture(t, map[string][]string{manifest.RoleRoot: {"root"}, manifest.RoleRelease: {"release"},
		manifest.RoleIndex: {"ci"}, "index-stable": {"ci", "person"}})
	st := f.root.Roles["index-stable"]
	st.Threshold = 2
	f.root.Roles["index-stable"] = st
	f.root.Version = 2 // root 1 had threshold 1; root 2 raises it
	f.publishRoot(f.root, "root")

	// CI alone cannot publish stable: the publisher refuses before writing.
	f.pub.CoSigners = nil
	f.clk.now = t0
	rel := &manifest.Release{SchemaVersion: 1, Kind: manifest.KindRelease, Product: "storage-service", Version: "1.5.0",
		Source: manifest.Source{Repository: "https://github.com/wellcomecollection/storage-service"},
		Components: []manifest.Component{{Name: "bags_api", Repository: "public.ecr.aws/y1p3h6z3/bags_api",
			Digest: manifest.Digest([]byte("x")), MediaType: "application/vnd.oci.image.manifest.v1+json"}}}
	f.pub.CoSigners = []*signing.Signer{f.key("person")}
	if _, err := f.pub.Create(context.Background(), rel, channels.Stable, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	f.write("infra/main.tf", demoTF)
	f.initByRoot(channels.Stable)
	if _, err := f.update(UpdateOptions{}); err != nil {
		t.Fatalf("CI and a person signed stable: %v", err)
	}

	// A stable index with CI's signature alone is refused by the consumer.
	doc, err := f.store.GetChannel(context.Background(), channels.Stable)
	if err != nil || len(doc.More) != 1 {
		t.Fatalf("stable index: %d more signatures, %v", len(doc.More), err)
	}
	both := doc
	doc.More = nil
	if err := f.store.PutChannel(context.Background(), channels.Stable, doc); err != nil {
		t.Fatal(err)
	}
	if _, err := f.update(UpdateOptions{}); exitcode.Of(err) != exitcode.Trust || !strings.Contains(err.Error(), "1 of the 2 required") {
		t.Fatalf("one signature on stable: err = %v", err)
	}
	// The publisher, too, refuses to build on a stable index one key signed.
	if _, err := f.pub.Refresh(context.Background(), channels.Stable, time.Hour); exitcode.Of(err) != exitcode.Trust || !strings.Contains(err.Error(), "1 of the 2 required") {
		t.Fatalf("refresh over a one-signature stable index: err = %v", err)
	}
	// And it refuses a key the root does not list for the role.
	if err := f.store.PutChannel(context.Background(), channels.Stable, both); err != nil {
		t.Fatal(err)
	}
	f.pub.CoSigners = []*signing.Signer{f.key("release")}
	if _, err := f.pub.Refresh(context.Background(), channels.Stable, time.Hour); exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "not listed for role index-stable") {
		t.Fatalf("refresh co-signed by the release key: err = %v", err)
	}
	after, err := f.store.GetChannel(context.Background(), channels.Stable)
	if err != nil || string(after.Bytes) != string(both.Bytes) {
		t.Fatalf("a refused refresh changed the index: %v", err)
	}
}

// TestLegacyKeysKeepWorking: a pin.yaml with a plain keys: list works on a
// store that has a root, and each update says how to move on.
func TestLegacyKeysKeepWorking(t *testing.T) {
	f := newFixture(t)
	f.release("1.5.0", channels.Stable, "a")
	f.write("infra/main.tf", demoTF)
	f.init(channels.Stable)
	plan, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.RootNotes) != 0 {
		t.Fatalf("notes without a root in the store: %q", plan.RootNotes)
	}
	r := trustroot.NewRoot("storage-service", t0.Add(time.Hour*24*365))
	pem, _ := f.signer.PublicKeyPEM()
	for _, role := range []string{manifest.RoleRoot, manifest.RoleRelease, manifest.RoleIndex} {
		if _, err := trustroot.AddKey(r, role, pem); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := r.Encode()
	s, err := trustroot.Sign(context.Background(), f.signer, trustroot.Signed{Bytes: b})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutRoot(context.Background(), 1, s); err != nil {
		t.Fatal(err)
	}
	plan, err = f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.RootNotes) != 1 || !strings.HasSuffix(plan.RootNotes[0], RemedyTrustRoot) || !strings.Contains(plan.RootNotes[0], strings.TrimPrefix(manifest.Digest(b), "sha256:")) {
		t.Fatalf("notes: %q", plan.RootNotes)
	}
}

// TestReleaseThresholdTwo: a release role that needs two keys. The
// publisher refuses, writing nothing, to create a release one key signs; a
// co-signer the root lists for the release role signs the release (and
// only the release: the index role does not list it); the consumer takes
// the release with both signatures and refuses it with one.
func TestReleaseThresholdTwo(t *testing.T) {
	ctx := context.Background()
	f := newRootFixture(t, map[string][]string{manifest.RoleRoot: {"root"}, manifest.RoleRelease: {"release", "person"},
		manifest.RoleIndex: {"ci"}})
	r := f.root.Roles[manifest.RoleRelease]
	r.Threshold = 2
	f.root.Roles[manifest.RoleRelease] = r
	f.root.Version = 2
	f.publishRoot(f.root, "root")
	f.clk.now = t0
	newRelease := func() *manifest.Release {
		return &manifest.Release{SchemaVersion: 1, Kind: manifest.KindRelease, Product: "storage-service", Version: "1.5.0",
			Source: manifest.Source{Repository: "https://github.com/wellcomecollection/storage-service"},
			Components: []manifest.Component{{Name: "bags_api", Repository: "public.ecr.aws/y1p3h6z3/bags_api",
				Digest: manifest.Digest([]byte("x")), MediaType: "application/vnd.oci.image.manifest.v1+json"}}}
	}

	f.pub.CoSigners = nil
	storeDir := f.store.String()
	before := snap(t, storeDir)
	_, err := f.pub.Create(ctx, newRelease(), channels.Stable, 24*time.Hour)
	var te *channels.ThresholdError
	if !errors.As(err, &te) || te.Role != manifest.RoleRelease || te.Need != 2 || te.Given != 1 || exitcode.Of(err) != exitcode.Usage {
		t.Fatalf("one release key for a threshold of two: err = %v", err)
	}
	if after := snap(t, storeDir); len(after) != len(before) {
		t.Fatalf("a refused create wrote files: %d before, %d after", len(before), len(after))
	}

	// A co-signer listed for no role of the operation is refused too.
	f.pub.CoSigners = []*signing.Signer{f.key("stranger")}
	if _, err := f.pub.Create(ctx, newRelease(), channels.Stable, 24*time.Hour); exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "not listed for role index") {
		t.Fatalf("a co-signer the root lists nowhere: err = %v", err)
	}

	f.pub.CoSigners = []*signing.Signer{f.key("person")}
	if _, err := f.pub.Create(ctx, newRelease(), channels.Stable, 24*time.Hour); err != nil {
		t.Fatalf("release and person sign: %v", err)
	}
	rel, err := f.store.GetRelease(ctx, "1.5.0")
	if err != nil || len(rel.More) != 1 {
		t.Fatalf("release: %d further signatures, want 1 (%v)", len(rel.More), err)
	}
	idx, err := f.store.GetChannel(ctx, channels.Stable)
	if err != nil || len(idx.More) != 0 {
		t.Fatalf("the index got %d further signatures from a key its role does not list (%v)", len(idx.More), err)
	}
	f.write("infra/main.tf", demoTF)
	f.initByRoot(channels.Stable)

	// With the person's signature gone, the consumer refuses the release.
	sigs := filepath.Join(storeDir, "releases", "1.5.0.json.sigs")
	saved, err := os.ReadFile(sigs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(sigs); err != nil {
		t.Fatal(err)
	}
	if _, err := f.update(UpdateOptions{}); exitcode.Of(err) != exitcode.Trust || !strings.Contains(err.Error(), "1 of the 2 required") {
		t.Fatalf("a release with one of two signatures: err = %v", err)
	}
	if err := os.WriteFile(sigs, saved, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.update(UpdateOptions{}); err != nil {
		t.Fatalf("a release two keys signed: %v", err)
	}
}
