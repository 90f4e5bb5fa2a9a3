package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/signing"
)

// readRelease reads a release from the producer's store as consumers do.
func readRelease(t *testing.T, dir, version string) channels.Document {
	t.Helper()
	cfgB, err := os.ReadFile(filepath.Join(dir, "release.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var loc string
	for _, l := range strings.Split(string(cfgB), "\n") {
		if v, ok := strings.CutPrefix(l, "store: "); ok {
			loc = v
		}
	}
	if !strings.Contains(loc, "://") && !filepath.IsAbs(loc) {
		loc = filepath.Join(dir, loc) // a directory store, relative to release.yaml
	}
	st, err := channels.Open(loc, channels.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := st.GetRelease(context.Background(), version)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// signedBy reports whether sig is a valid signature of data by the key in pubFile.
func signedBy(t *testing.T, pubFile string, data, sig []byte) bool {
	t.Helper()
	v, err := signing.LoadVerifierFiles(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.VerifyBlob(context.Background(), data, sig)
	return err == nil
}

// TestReleaseResignAfterKeyRotation: the routine rotation of the release
// key. Root 2 adds rel2; pin release resign --all adds rel2's signature to
// every listed release without changing a byte of it; root 3 removes rel;
// a consumer pinned to a release signed before the rotation updates and
// checks as before, with the same digest in pin.lock. The same release
// without the new signature is refused under root 3 (exit 3): the re-sign
// is what keeps it valid. Refusals write nothing.
func TestReleaseResignAfterKeyRotation(t *testing.T) {
	t.Parallel()
	for name, store := range map[string]func(string, string) string{"directory": dirStore, "oci": ociStore} {
		t.Run(name, func(t *testing.T) {
			dir, host, e, fp := rootedStore(t, store)
			rootKeys(t, dir, e, "rel2")
			consumer := t.TempDir()
			tf := "locals {\n  bags = \"" + serviceRepo(host, "bags_api") + ":latest\"\n}\n"
			if err := os.WriteFile(filepath.Join(consumer, "main.tf"), []byte(tf), 0o644); err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(dir, "store")
			if name == "oci" {
				src = ociStore(host, "")
			}
			runPin(t, consumer, nil, "init", "--source", src, "--channel", "stable", "--root-sha256", fp).mustSucceed(t, "init")
			runPin(t, consumer, nil, "update").mustSucceed(t, "update")
			lock1, err := pin.LoadLock(filepath.Join(consumer, "pin.lock"))
			if err != nil || lock1 == nil {
				t.Fatal(err)
			}
			// audit caches the release manifests it verified, signatures included.
			audit1 := runPin(t, consumer, nil, "audit")
			if audit1.code != 0 {
				t.Fatalf("audit before the rotation: exit %d\n%s%s", audit1.code, audit1.out, audit1.err)
			}
			before := map[string]channels.Document{}
			for _, v := range []string{"1.0.0", "1.0.0-edge.1"} {
				before[v] = readRelease(t, dir, v)
			}

			// Root 2 lists both release keys.
			runPin(t, dir, e, "root", "add-key", "root.json", "--role", "release", "--key-file", "rel2.pub").mustSucceed(t, "add rel2")
			runPin(t, dir, e, "root", "sign", "root.json", "--key", envKey("alice")).mustSucceed(t, "sign root 2")
			runPin(t, dir, e, "root", "publish", "root.json").mustSucceed(t, "publish root 2")

			refusals := []struct {
				name string
				args []string
				code int
				want string
			}{
				{"neither versions nor --all", []string{"release", "resign", "--key", envKey("rel2")}, 2, "or pass --all"},
				{"an unlisted version", []string{"release", "resign", "9.9.9", "--key", envKey("rel2")}, 2, "not listed on any channel"},
				{"a key the release role does not list", []string{"release", "resign", "--all", "--key", envKey("ci")}, 2, "not listed for role release"},
			}
			for _, r := range refusals {
				snap := snapshotDir(t, dir)
				got := runPin(t, dir, e, r.args...)
				if got.code != r.code || !strings.Contains(got.err, r.want) {
					t.Fatalf("%s: exit %d, want %d with %q\n%s", r.name, got.code, r.code, r.want, got.err)
				}
				if !equalSnapshots(snap, snapshotDir(t, dir)) {
					t.Fatalf("%s: a refused resign wrote something", r.name)
				}
			}

			out := runPin(t, dir, e, "release", "resign", "--all", "--key", envKey("rel2")).mustSucceed(t, "resign --all")
			if !strings.Contains(out.out, "re-signed 1.0.0:") || !strings.Contains(out.out, "re-signed 1.0.0-edge.1:") {
				t.Fatalf("resign --all:\n%s", out.out)
			}
			for v, old := range before {
				doc := readRelease(t, dir, v)
				if string(doc.Bytes) != string(old.Bytes) {
					t.Fatalf("%s: re-signing changed the manifest's bytes", v)
				}
				if !signedBy(t, filepath.Join(dir, "rel2.pub"), doc.Bytes, doc.Signature) {
					t.Fatalf("%s: the first signature is not rel2's", v)
				}
				if len(doc.More) != 1 || !signedBy(t, filepath.Join(dir, "rel.pub"), doc.Bytes, []byte(doc.More[0].Sig)) {
					t.Fatalf("%s: rel's signature was not kept beside it: %+v", v, doc.More)
				}
			}
			if again := runPin(t, dir, e, "release", "resign", "--all", "--key", envKey("rel2")).mustSucceed(t, "resign again"); strings.Count(again.out, "already signed") != 2 {
				t.Fatalf("a rerun re-signed again:\n%s", again.out)
			}

			// Root 3 removes rel: it is revoked for every consumer.
			runPin(t, dir, e, "root", "remove-key", "root.json", "--role", "release", "--key-id", keyIDOf(t, filepath.Join(dir, "rel.pub"))[:12]).mustSucceed(t, "remove rel")
			runPin(t, dir, e, "root", "sign", "root.json", "--key", envKey("alice")).mustSucceed(t, "sign root 3")
			runPin(t, dir, e, "root", "publish", "root.json").mustSucceed(t, "publish root 3")

			runPin(t, consumer, nil, "update").mustSucceed(t, "update after the release key's removal")
			runPin(t, consumer, nil, "check").mustSucceed(t, "check offline after the release key's removal")
			// Its cache still holds the old key's signatures: audit reads the store again.
			runPin(t, consumer, nil, "audit").mustSucceed(t, "audit with a cache from before the re-sign")
			lock2, err := pin.LoadLock(filepath.Join(consumer, "pin.lock"))
			if err != nil || lock2.ManifestDigest != lock1.ManifestDigest || lock2.Version != lock1.Version || len(lock2.Roots) != 2 {
				t.Fatalf("pin.lock after rotation: %+v, %v (before: %s %s)", lock2, err, lock1.Version, lock1.ManifestDigest)
			}
			if !signedBy(t, filepath.Join(dir, "rel2.pub"), []byte(lock2.Manifest), []byte(lock2.Signature)) {
				t.Fatal("pin.lock does not carry the new key's signature")
			}
			runPin(t, dir, nil, "release", "show", "1.0.0", "--root-sha256", fp).mustSucceed(t, "show the re-signed release under root 3")

			// Without the new signature the same bytes are refused under root 3.
			if name == "directory" {
				p := filepath.Join(dir, "store", "releases", "1.0.0.json")
				if err := os.WriteFile(p+".sig", before["1.0.0"].Signature, 0o644); err != nil {
					t.Fatal(err)
				}
				os.Remove(p + ".sigs")
				if r := runPin(t, dir, nil, "release", "show", "1.0.0", "--root-sha256", fp); r.code != 3 || !strings.Contains(r.err, "role release of root version 3") {
					t.Fatalf("a release signed only by the removed key: exit %d\n%s", r.code, r.err)
				}
				// rel signed it while roots 1 and 2 listed rel: a late re-sign still vouches for it.
				runPin(t, dir, e, "release", "resign", "1.0.0", "--key", envKey("rel2")).mustSucceed(t, "resign a release signed under an earlier root")
				runPin(t, dir, nil, "release", "show", "1.0.0", "--root-sha256", fp).mustSucceed(t, "show after the late resign")
				// A release signed by a key no root ever listed for releases is not re-signed.
				b, _ := os.ReadFile(p)
				os.WriteFile(p+".sig", signWithEnvKey(t, e, "ci", b), 0o644)
				os.Remove(p + ".sigs")
				snap := snapshotDir(t, dir)
				if r := runPin(t, dir, e, "release", "resign", "1.0.0", "--key", envKey("rel2")); r.code != 3 || !strings.Contains(r.err, "release role of no root") {
					t.Fatalf("resign of a release no release key signed: exit %d\n%s", r.code, r.err)
				}
				if !equalSnapshots(snap, snapshotDir(t, dir)) {
					t.Fatal("a refused resign wrote something")
				}
			}
		})
	}
}

// TestIntegrationReleaseResignCosign: on docker-registry, a release
// re-signed with the new key verifies with stock cosign: its blob signature
// (cosign verify-blob, the new key's and the old key's kept beside it) and
// the re-pushed artifact's image signature (cosign verify), with the same
// manifest bytes.
func TestIntegrationReleaseResignCosign(t *testing.T) {
	t.Parallel()
	reg := testenv.Registry(t)
	testenv.Cosign(t)
	repo := reg + "/storage-service-releases"
	dir, _, e, _ := rootedStore(t, func(string, string) string { return "oci://" + repo })
	rootKeys(t, dir, e, "rel2")
	old := readRelease(t, dir, "1.0.0")
	runPin(t, dir, e, "root", "add-key", "root.json", "--role", "release", "--key-file", "rel2.pub").mustSucceed(t, "add rel2")
	runPin(t, dir, e, "root", "sign", "root.json", "--key", envKey("alice")).mustSucceed(t, "sign root 2")
	runPin(t, dir, e, "root", "publish", "root.json").mustSucceed(t, "publish root 2")
	runPin(t, dir, e, "release", "resign", "1.0.0", "--key", envKey("rel2")).mustSucceed(t, "resign")
	doc := readRelease(t, dir, "1.0.0")
	if manifest.Digest(doc.Bytes) != manifest.Digest(old.Bytes) {
		t.Fatal("re-signing changed the release's digest")
	}
	file := filepath.Join(dir, "1.0.0.json")
	if err := os.WriteFile(file, doc.Bytes, 0o644); err != nil {
		t.Fatal(err)
	}
	cosignBlob(t, dir, filepath.Join(dir, "rel2.pub"), file, string(doc.Signature), true)
	cosignBlob(t, dir, filepath.Join(dir, "rel.pub"), file, doc.More[0].Sig, true)
	cosignBlob(t, dir, filepath.Join(dir, "rel.pub"), file, string(doc.Signature), false)
	out, errOut, err := testenv.RunCosign(t, "verify", "--key", filepath.Join(dir, "rel2.pub"), "--insecure-ignore-tlog=true", "--offline=true", repo+":1.0.0")
	if err != nil {
		t.Fatalf("cosign verify of the re-pushed release artifact: %v\n%s%s", err, out, errOut)
	}
}
