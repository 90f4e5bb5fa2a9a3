package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/internal/testenv"
)

// TestIntegrationRealRegistryAndCosign is the producer's acceptance test: a
// release of 20 images is created on edge in a real registry (Debian's
// docker-registry, distribution 2.8), promoted, yanked and refreshed, and
// stock cosign verifies what was published, both as OCI artifacts and as a
// directory store's blobs. A key made by `cosign generate-key-pair` signs too.
func TestIntegrationRealRegistryAndCosign(t *testing.T) {
	t.Parallel()
	host := testenv.Registry(t)
	testenv.Cosign(t)
	seed(t, host, services)
	dir := t.TempDir()

	// The signing key comes from stock cosign: pin must load its format.
	if out, errOut, err := testenv.RunCosignEnv(t, []string{"COSIGN_PASSWORD=s3cret"}, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "cosign")); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s%s", err, out, errOut)
	}
	key, pub := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	repo := host + "/storage-service-releases"
	writeReleaseConfig(t, dir, host, "oci://"+repo)

	runPin(t, dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", key).mustSucceed(t, "create")
	runPin(t, dir, pw, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", key).mustSucceed(t, "promote")
	runPin(t, dir, pw, "release", "yank", "1.0.0-edge.1", "--channel", "edge", "--reason", "superseded by 1.0.0", "--key", key).mustSucceed(t, "yank")
	runPin(t, dir, pw, "channel", "refresh", "--channel", "stable", "--key", key).mustSucceed(t, "refresh")

	for _, tag := range []string{"1.0.0-edge.1", "1.0.0", "channel-edge", "channel-stable"} {
		out, errOut, err := testenv.RunCosign(t, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--offline=true", repo+":"+tag)
		if err != nil {
			t.Fatalf("cosign verify %s:%s: %v\n%s%s", repo, tag, err, out, errOut)
		}
	}
	// And the wrong key is refused by cosign too.
	runPin(t, dir, pw, "keys", "generate", "--out", "other").mustSucceed(t, "keys generate")
	if _, _, err := testenv.RunCosign(t, "verify", "--key", filepath.Join(dir, "other.pub"), "--insecure-ignore-tlog=true", "--offline=true", repo+":1.0.0"); err == nil {
		t.Fatal("cosign verified an artifact with an unrelated key")
	}

	// The same documents, read back and verified by pin over the registry.
	show := runPin(t, dir, nil, "channel", "show", "stable", "--config", "release.yaml", "--key-file", pub).mustSucceed(t, "channel show")
	if !strings.Contains(show.out, "sequence 2") {
		t.Fatalf("stable after promote and refresh:\n%s", show.out)
	}

	// A directory store, checked blob by blob with cosign verify-blob.
	store := filepath.Join(dir, "dirstore")
	writeReleaseConfig(t, dir, host, store)
	runPin(t, dir, pw, "release", "create", "1.1.0-edge.1", "--channel", "edge", "--key", key).mustSucceed(t, "create in directory")
	runPin(t, dir, pw, "release", "promote", "1.1.0-edge.1", "--to", "stable", "--key", key).mustSucceed(t, "promote in directory")
	for _, doc := range []string{"releases/1.1.0-edge.1.json", "releases/1.1.0.json", "channels/edge.json", "channels/stable.json"} {
		p := filepath.Join(store, doc)
		out, errOut, err := testenv.RunCosign(t, "verify-blob", "--key", pub, "--signature", p+".sig", "--insecure-ignore-tlog=true", p)
		if err != nil || !strings.Contains(out+errOut, "Verified OK") {
			t.Fatalf("cosign verify-blob %s: %v\n%s%s", doc, err, out, errOut)
		}
	}
	// A flipped byte is caught by cosign as well.
	p := filepath.Join(store, "releases", "1.1.0.json")
	b, _ := os.ReadFile(p)
	os.WriteFile(p, []byte(strings.Replace(string(b), "bags_api", "bags_apj", 1)), 0o644)
	if _, _, err := testenv.RunCosign(t, "verify-blob", "--key", pub, "--signature", p+".sig", "--insecure-ignore-tlog=true", p); err == nil {
		t.Fatal("cosign verify-blob accepted a tampered manifest")
	}
}
