package pin

import (
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

// mirrorFixture: 1.4.0 (yanked), 1.5.0 and 1.6.0 on stable, 1.7.0-edge.1 on edge.
func mirrorFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t)
	ctx := context.Background()
	f.release("1.4.0", channels.Stable, "a")
	f.release("1.5.0", channels.Stable, "b")
	f.release("1.6.0", channels.Stable, "c")
	f.release("1.7.0-edge.1", channels.Edge, "d")
	if _, err := f.pub.Yank(ctx, channels.Stable, "1.4.0", "broken", 168*time.Hour); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSelectReleaseForMirror(t *testing.T) {
	f := mirrorFixture(t)
	f.init(channels.Stable)
	v, err := signing.LoadVerifierFiles(f.pubPath)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := signing.NewEphemeralSigner()
	otherPEM, _ := other.PublicKeyPEM()
	otherPath := filepath.Join(t.TempDir(), "other.pub")
	os.WriteFile(otherPath, otherPEM, 0o644)
	wrong, err := signing.LoadVerifierFiles(otherPath)
	if err != nil {
		t.Fatal(err)
	}
	constrained := *f.cfg
	constrained.Constraint = "~1.5"
	for _, tc := range []struct {
		name, what string
		o          SelectOptions
		want       string
		code       int
	}{
		{"channel with pin.yaml", "stable", SelectOptions{Config: f.cfg}, "1.6.0", 0},
		{"pin.yaml's constraint", "stable", SelectOptions{Config: &constrained}, "1.5.0", 0},
		{"version", "1.5.0", SelectOptions{Config: f.cfg}, "1.5.0", 0},
		{"edge without pin.yaml", "edge", SelectOptions{Source: f.store.String(), Verifier: v}, "1.7.0-edge.1", 0},
		{"prerelease without pin.yaml", "1.7.0-edge.1", SelectOptions{Source: f.store.String(), Verifier: v}, "1.7.0-edge.1", 0},
		{"stable pin.yaml does not list edge", "1.7.0-edge.1", SelectOptions{Config: f.cfg}, "", exitcode.Usage},
		{"yanked", "1.4.0", SelectOptions{Config: f.cfg}, "", exitcode.Trust},
		{"not listed", "2.0.0", SelectOptions{Source: f.store.String(), Verifier: v}, "", exitcode.Usage},
		{"neither", "beta", SelectOptions{Config: f.cfg}, "", exitcode.Usage},
		{"wrong key", "stable", SelectOptions{Source: f.store.String(), Verifier: wrong}, "", exitcode.Trust},
		{"no key", "stable", SelectOptions{Source: f.store.String()}, "", exitcode.Usage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Now = f.clk.Now
			sel, err := SelectRelease(context.Background(), tc.what, tc.o)
			if tc.code != 0 {
				if err == nil || exitcode.Of(err) != tc.code {
					t.Fatalf("err = %v (exit %d), want exit %d", err, exitcode.Of(err), tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sel.Release.Release.Version != tc.want {
				t.Fatalf("selected %s, want %s", sel.Release.Release.Version, tc.want)
			}
		})
	}
}

// TestCopyDocumentsConsumerVerifiesMirror: the release documents copied into
// a site's own store verify with the publisher's key, and a consumer pinned
// to that store gets the same release; copying again writes nothing; a
// mirror holding different bytes is refused.
func TestCopyDocumentsConsumerVerifiesMirror(t *testing.T) {
	f := mirrorFixture(t)
	v, _ := signing.LoadVerifierFiles(f.pubPath)
	ctx := context.Background()
	sel, err := SelectRelease(ctx, "stable", SelectOptions{Source: f.store.String(), Verifier: v, Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	mirrorDir := filepath.Join(t.TempDir(), "mirror-store")
	dst := channels.NewDirStore(mirrorDir)
	cp, err := CopyDocuments(ctx, sel, dst, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cp.Releases, " ") != "1.4.0 1.5.0 1.6.0" || strings.Join(cp.Channels, " ") != "stable" {
		t.Fatalf("copied releases %v, channels %v", cp.Releases, cp.Channels)
	}
	again, err := CopyDocuments(ctx, sel, dst, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Releases)+len(again.Channels) != 0 || again.Present != 4 {
		t.Fatalf("second copy: %+v", again)
	}

	// The producer re-signs 1.5.0 (a release-key rotation): same bytes,
	// other signatures. The mirror takes them; the bytes stay.
	srcDoc, err := f.store.GetRelease(ctx, "1.5.0")
	if err != nil {
		t.Fatal(err)
	}
	resig, err := f.signer.SignBlob(ctx, srcDoc.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	srcDoc.Signature = resig
	if err := f.store.ResignRelease(ctx, "1.5.0", srcDoc); err != nil {
		t.Fatal(err)
	}
	sel, err = SelectRelease(ctx, "stable", SelectOptions{Source: f.store.String(), Verifier: v, Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	third, err := CopyDocuments(ctx, sel, dst, false)
	if err != nil {
		t.Fatalf("copy after the source re-signed 1.5.0: %v", err)
	}
	if strings.Join(third.Resigned, " ") != "1.5.0" || len(third.Releases) != 0 {
		t.Fatalf("copy after a re-sign: %+v", third)
	}
	if got, _ := dst.GetRelease(ctx, "1.5.0"); !channels.SameSignatures(got, srcDoc) || string(got.Bytes) != string(srcDoc.Bytes) {
		t.Fatal("the mirror did not take the source's new signatures")
	}

	// A consumer of the mirror store, trusting only the publisher's key.
	f.write("main.tf", demoTF)
	cfg, err := Init(ctx, InitOptions{Path: filepath.Join(f.dir, "pin.yaml"), Source: mirrorDir, Channel: channels.Stable, KeyFile: f.pubPath, Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := PlanUpdate(ctx, cfg, UpdateOptions{Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Release.Digest != sel.Release.Digest {
		t.Fatalf("consumer of the mirror store got %s %s, want %s", plan.Release.Release.Version, plan.Release.Digest, sel.Release.Digest)
	}

	// A mirror store whose copy of a release differs is refused (exit 3).
	p := filepath.Join(mirrorDir, "releases", "1.5.0.json")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), "bags_api", "bags_apj", 1)), 0o644)
	if _, err := CopyDocuments(ctx, sel, dst, false); exitcode.Of(err) != exitcode.Trust {
		t.Fatalf("copy over a different release: %v (exit %d), want exit 3", err, exitcode.Of(err))
	}
	// And the consumer reading it refuses it too.
	if _, err := PlanUpdate(ctx, cfg, UpdateOptions{Now: f.clk.Now, To: "1.5.0", AllowDowngrade: true}); exitcode.Of(err) != exitcode.Trust {
		t.Fatalf("update from a tampered mirror store: %v, want exit 3", err)
	}
}

// TestCopyDocumentsKeepsNewerIndex: a mirror store already holding a newer
// signed index is not rolled back.
func TestCopyDocumentsKeepsNewerIndex(t *testing.T) {
	f := mirrorFixture(t)
	v, _ := signing.LoadVerifierFiles(f.pubPath)
	ctx := context.Background()
	old, err := SelectRelease(ctx, "stable", SelectOptions{Source: f.store.String(), Verifier: v, Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.release("1.8.0", channels.Stable, "e")
	newer, err := SelectRelease(ctx, "stable", SelectOptions{Source: f.store.String(), Verifier: v, Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	dst := channels.NewDirStore(filepath.Join(t.TempDir(), "m"))
	if _, err := CopyDocuments(ctx, newer, dst, false); err != nil {
		t.Fatal(err)
	}
	cp, err := CopyDocuments(ctx, old, dst, false)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cp.Kept, " ") != "stable" || len(cp.Channels) != 0 {
		t.Fatalf("copying an older index over a newer one: %+v", cp)
	}
	doc, _ := dst.GetChannel(ctx, channels.Stable)
	if manifest.Digest(doc.Bytes) != newer.Indexes[channels.Stable].Digest {
		t.Fatal("the mirror's newer index was replaced")
	}
}

func TestCheckRegistryMap(t *testing.T) {
	rel := &manifest.Release{Product: "storage-service", Version: "1.5.0", Components: []manifest.Component{
		{Name: "bags_api", Repository: "up.example/y1/bags_api"},
		{Name: "notifier", Repository: "up.example/y1/notifier"},
		{Name: "fluentbit", Repository: "up.example/l7/fluentbit"},
	}}
	head := "source: ./store\nproduct: storage-service\nchannel: stable\nkeys: [release.pub]\n"
	for _, tc := range []struct {
		name, yaml, err string
	}{
		{"namespaces", "registryMap:\n  up.example/y1: m.example/s\n  up.example/l7: m.example/s\n", ""},
		{"whole repository wins", "registryMap:\n  up.example/y1: m.example/s\n  up.example/y1/notifier: m.example/other/n\n", ""},
		{"typo", "registryMap:\n  up.example/y1: m.example/s\n  up.example/y2: m.example/s\n", "pin.yaml:7: registryMap entry \"up.example/y2\" applies to no component"},
		{"two onto one", "registryMap:\n  up.example/y1/bags_api: m.example/s/x\n  up.example/y1/notifier: m.example/s/x\n", "maps both bags_api and notifier to m.example/s/x"},
		{"onto another component", "registryMap:\n  up.example/y1/notifier: up.example/y1/bags_api\n", "which is component bags_api's own repository"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeKey(t, dir)
			p := filepath.Join(dir, "pin.yaml")
			os.WriteFile(p, []byte(head+tc.yaml), 0o644)
			cfg, err := LoadConfig(p)
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.CheckRegistryMap(rel)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || exitcode.Of(err) != exitcode.Usage {
				t.Fatalf("err = %v (exit %d), want exit 2 with %q", err, exitcode.Of(err), tc.err)
			}
		})
	}
}

func TestRegistryMapSyntax(t *testing.T) {
	head := "source: ./store\nproduct: storage-service\nchannel: stable\nkeys: [release.pub]\nregistryMap:\n"
	for _, entry := range []string{
		"  up.example/y1: m.example/s:1.0\n",
		"  up.example/y1: m.example/s@sha256:00\n",
		"  y1: m.example/s\n",
		"  up.example/y1: up.example/y1/\n",
	} {
		dir := t.TempDir()
		writeKey(t, dir)
		p := filepath.Join(dir, "pin.yaml")
		os.WriteFile(p, []byte(head+entry), 0o644)
		_, err := LoadConfig(p)
		if err == nil || !strings.Contains(err.Error(), "pin.yaml:6: registryMap entry") || exitcode.Of(err) != exitcode.Usage {
			t.Errorf("%q: err = %v (exit %d), want exit 2 at pin.yaml:6", entry, err, exitcode.Of(err))
		}
	}
}

func writeKey(t *testing.T, dir string) {
	t.Helper()
	s, err := signing.NewEphemeralSigner()
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := s.PublicKeyPEM()
	if err := os.WriteFile(filepath.Join(dir, "release.pub"), pem, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCheckWithRegistryMap: after update pins to the mirror, check is clean;
// the upstream reference at the same digest is drift (the file no longer
// pulls from the mirror); an unknown map entry stops check with exit 2.
func TestCheckWithRegistryMap(t *testing.T) {
	f := newFixture(t)
	p := f.release("1.5.0", channels.Stable, "a")
	f.write("main.tf", demoTF)
	f.init(channels.Stable)
	f.cfg.RegistryMap = map[string]string{"public.ecr.aws/y1p3h6z3": "mirror.example/storage"}
	if _, err := f.update(UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	bags, _ := p.Release.Component("bags_api")
	if !strings.Contains(f.read("main.tf"), `"mirror.example/storage/bags_api@`+bags.Digest+`"`) {
		t.Fatalf("update did not pin to the mirror:\n%s", f.read("main.tf"))
	}
	res, err := Check(context.Background(), f.cfg, CheckOptions{Now: f.clk.Now})
	if err != nil || len(res.Findings) != 0 || res.References != 2 {
		t.Fatalf("check after a mirrored update: %v, %+v", err, res)
	}
	f.write("main.tf", strings.Replace(f.read("main.tf"), "mirror.example/storage/bags_api@", "public.ecr.aws/y1p3h6z3/bags_api@", 1))
	res, err = Check(context.Background(), f.cfg, CheckOptions{Now: f.clk.Now})
	if err != nil || len(res.Findings) != 1 || res.Findings[0].Kind != FindingDrift || res.Findings[0].Line != 5 {
		t.Fatalf("upstream reference with the mirror configured: %v, %+v", err, res)
	}
	f.cfg.RegistryMap["public.ecr.aws/nope"] = "mirror.example/other"
	if _, err := Check(context.Background(), f.cfg, CheckOptions{Now: f.clk.Now}); exitcode.Of(err) != exitcode.Usage {
		t.Fatalf("unknown map entry: %v, want exit 2", err)
	}
}
