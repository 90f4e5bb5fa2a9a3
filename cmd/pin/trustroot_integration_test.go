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
)

// TestIntegrationRootWithKMSIndexKey is the root of trust's acceptance test
// on the real parts: a root published to Debian's docker-registry (tag
// root-1) whose index role is a KMS key in local-kms and whose stable index
// needs that key and a person's; stock cosign verifies every root signature
// and each of the stable index's two signatures on its own; a consumer that
// trusts the root by fingerprint pins to the release, and refuses the stable
// index once it carries one signature.
func TestIntegrationRootWithKMSIndexKey(t *testing.T) {
	// Not parallel: the AWS SDK reads its endpoint and credentials from the process environment (testenv.SetAWSEnv).
	host := testenv.Registry(t)
	testenv.Cosign(t)
	testenv.SetAWSEnv(t, testenv.LocalKMS(t))
	kms := testenv.CreateKMSKey(t, "alias/storage-service-index", "ECC_NIST_P256")
	seed(t, host, services)
	dir := t.TempDir()
	copyKeys(t, dir)
	e := env{"COSIGN_PASSWORD": pw["COSIGN_PASSWORD"]}
	rootKeys(t, dir, e, "alice", "bob", "person")
	runPin(t, dir, nil, "keys", "public", "--key", kms, "--out", "kms.pub").mustSucceed(t, "keys public")
	repo := host + "/storage-service-releases"
	writeReleaseConfig(t, dir, host, "oci://"+repo)

	runPin(t, dir, e, "root", "init", "--product", "storage-service", "--root-key", "alice.pub", "--root-key", "bob.pub",
		"--root-threshold", "2", "--release-key", "release.pub", "--index-key", "kms.pub",
		"--stable-index-key", "kms.pub", "--stable-index-key", "person.pub", "--stable-threshold", "2").mustSucceed(t, "root init")
	runPin(t, dir, e, "root", "sign", "root.json", "--key", "env://PIN_KEY_ALICE").mustSucceed(t, "sign alice")
	runPin(t, dir, e, "root", "sign", "root.json", "--key", "env://PIN_KEY_BOB").mustSucceed(t, "sign bob")
	pub := runPin(t, dir, e, "root", "publish", "root.json").mustSucceed(t, "publish root")
	fp := fingerprintRE.FindStringSubmatch(pub.out)
	if fp == nil {
		t.Fatalf("no fingerprint: %s", pub.out)
	}

	// Every root signature, taken from the signature set, checks with cosign.
	sigs, err := os.ReadFile(filepath.Join(dir, "root.json.sigs"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := manifest.DecodeSignatures(sigs)
	if err != nil || len(set) != 2 {
		t.Fatalf("root.json.sigs: %d signatures, %v", len(set), err)
	}
	byID := map[string]string{keyIDOf(t, filepath.Join(dir, "alice.pub")): "alice.pub", keyIDOf(t, filepath.Join(dir, "bob.pub")): "bob.pub"}
	for _, s := range set {
		cosignBlob(t, dir, filepath.Join(dir, byID[s.KeyID]), filepath.Join(dir, "root.json"), s.Sig, true)
	}

	runPin(t, dir, e, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key", "--index-key", kms).mustSucceed(t, "create")
	// One signature cannot meet stable's threshold: the publisher refuses
	// before it writes anything.
	if r := runPin(t, dir, e, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key", "--index-key", kms); r.code != 2 || !strings.Contains(r.err, "needs 2 distinct keys") {
		t.Fatalf("promote without the person's key: exit %d: %s", r.code, r.err)
	}
	runPin(t, dir, e, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key", "--index-key", kms,
		"--co-sign-key", "env://PIN_KEY_PERSON").mustSucceed(t, "promote with the person's key")

	// The stable index carries two signatures; cosign checks each with its key.
	st, err := channels.NewOCIStore("oci://" + repo)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := st.GetChannel(context.Background(), channels.Stable)
	if err != nil || len(doc.More) != 1 {
		t.Fatalf("stable index: %d further signatures, %v", len(doc.More), err)
	}
	idxPath := filepath.Join(dir, "stable.json")
	if err := os.WriteFile(idxPath, doc.Bytes, 0o644); err != nil {
		t.Fatal(err)
	}
	cosignBlob(t, dir, filepath.Join(dir, "kms.pub"), idxPath, string(doc.Signature), true)
	cosignBlob(t, dir, filepath.Join(dir, "person.pub"), idxPath, doc.More[0].Sig, true)
	cosignBlob(t, dir, filepath.Join(dir, "person.pub"), idxPath, string(doc.Signature), false)

	project := filepath.Join(dir, "deployment")
	if err := os.MkdirAll(project, 0o755); err != nil {
		t.Fatal(err)
	}
	var tf strings.Builder
	for _, s := range services {
		tf.WriteString(s + " = \"" + serviceRepo(host, s) + ":latest\"\n")
	}
	if err := os.WriteFile(filepath.Join(project, "images.tfvars"), []byte(tf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runPin(t, project, nil, "init", "--source", "oci://"+repo, "--channel", "stable", "--root-sha256", fp[1]).mustSucceed(t, "init --root-sha256")
	runPin(t, project, nil, "update").mustSucceed(t, "update")
	got, _ := os.ReadFile(filepath.Join(project, "images.tfvars"))
	if n := strings.Count(string(got), "@sha256:"); n != len(services) {
		t.Fatalf("update pinned %d of %d references", n, len(services))
	}

	// Strip the person's signature: the consumer refuses stable (exit 3).
	doc.More = nil
	if err := st.PutChannel(context.Background(), channels.Stable, doc); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(project, "pin.lock"))
	if r := runPin(t, project, nil, "update"); r.code != 3 || !strings.Contains(r.err, "1 of the 2 required") {
		t.Fatalf("stable with one signature: exit %d: %s", r.code, r.err)
	}
	if after, _ := os.ReadFile(filepath.Join(project, "pin.lock")); string(after) != string(before) {
		t.Fatal("a refused update rewrote pin.lock")
	}
}

// cosignBlob runs stock cosign verify-blob over file with sig (base64) and
// the public key, and wants it to pass or fail.
func cosignBlob(t *testing.T, dir, pubKey, file, sig string, want bool) {
	t.Helper()
	sigPath := filepath.Join(dir, "one.sig")
	if err := os.WriteFile(sigPath, []byte(sig), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := testenv.RunCosign(t, "verify-blob", "--key", pubKey, "--signature", sigPath, "--insecure-ignore-tlog=true", file)
	ok := err == nil && strings.Contains(out+errOut, "Verified OK")
	if ok != want {
		t.Fatalf("cosign verify-blob %s with %s: verified %v, want %v\n%s%s", filepath.Base(file), filepath.Base(pubKey), ok, want, out, errOut)
	}
}
