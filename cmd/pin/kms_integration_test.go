package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/internal/testenv"
)

// TestIntegrationKMSKeyReleases is the KMS acceptance test: an ECC_NIST_P256
// key in local-kms (an AWS KMS API emulator on loopback) signs releases
// created and promoted with --key awskms:///alias/NAME in a real registry
// (Debian's docker-registry) and in a directory store; stock cosign verifies
// them with the public key pin keys public printed, and a consumer's pin
// update trusts them with that key. No password is set: a KMS key needs none.
func TestIntegrationKMSKeyReleases(t *testing.T) {
	// Not parallel: the AWS SDK reads its endpoint and credentials from the process environment (testenv.SetAWSEnv).
	host := testenv.Registry(t)
	testenv.Cosign(t)
	testenv.SetAWSEnv(t, testenv.LocalKMS(t))
	key := testenv.CreateKMSKey(t, "alias/storage-service-releases", "ECC_NIST_P256")
	seed(t, host, services)
	dir := t.TempDir()

	printed := runPin(t, dir, nil, "keys", "public", "--key", key).mustSucceed(t, "keys public")
	if !strings.HasPrefix(printed.out, "-----BEGIN PUBLIC KEY-----\n") {
		t.Fatalf("keys public printed:\n%s", printed.out)
	}
	runPin(t, dir, nil, "keys", "public", "--key", key, "--out", "kms.pub").mustSucceed(t, "keys public --out")
	pub := filepath.Join(dir, "kms.pub")
	if b, _ := os.ReadFile(pub); string(b) != printed.out {
		t.Fatalf("kms.pub differs from what keys public printed:\n%s", b)
	}

	repo := host + "/storage-service-releases"
	writeReleaseConfig(t, dir, host, "oci://"+repo)
	runPin(t, dir, nil, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", key).mustSucceed(t, "create")
	runPin(t, dir, nil, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", key).mustSucceed(t, "promote")
	runPin(t, dir, nil, "channel", "refresh", "--channel", "edge", "--key", key).mustSucceed(t, "refresh")
	for _, tag := range []string{"1.0.0-edge.1", "1.0.0", "channel-edge", "channel-stable"} {
		out, errOut, err := testenv.RunCosign(t, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--offline=true", repo+":"+tag)
		if err != nil {
			t.Fatalf("cosign verify %s:%s with the KMS public key: %v\n%s%s", repo, tag, err, out, errOut)
		}
	}
	// cosign must also be able to say no: a file key's public key is refused.
	copyKeys(t, dir)
	if _, _, err := testenv.RunCosign(t, "verify", "--key", filepath.Join(dir, "release.pub"), "--insecure-ignore-tlog=true", "--offline=true", repo+":1.0.0"); err == nil {
		t.Fatal("cosign verified a KMS-signed artifact with an unrelated key")
	}

	// A directory store, each document checked with cosign verify-blob.
	store := filepath.Join(dir, "dirstore")
	writeReleaseConfig(t, dir, host, store)
	runPin(t, dir, nil, "release", "create", "1.1.0-edge.1", "--channel", "edge", "--key", key).mustSucceed(t, "create in directory")
	runPin(t, dir, nil, "release", "promote", "1.1.0-edge.1", "--to", "stable", "--key", key).mustSucceed(t, "promote in directory")
	for _, doc := range []string{"releases/1.1.0-edge.1.json", "releases/1.1.0.json", "channels/edge.json", "channels/stable.json"} {
		p := filepath.Join(store, doc)
		out, errOut, err := testenv.RunCosign(t, "verify-blob", "--key", pub, "--signature", p+".sig", "--insecure-ignore-tlog=true", p)
		if err != nil || !strings.Contains(out+errOut, "Verified OK") {
			t.Fatalf("cosign verify-blob %s: %v\n%s%s", doc, err, out, errOut)
		}
	}

	// The consumer trusts the KMS public key like any other.
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
	runPin(t, project, nil, "init", "--source", "oci://"+repo, "--channel", "stable", "--key-file", pub).mustSucceed(t, "init")
	runPin(t, project, nil, "update").mustSucceed(t, "update")
	got, _ := os.ReadFile(filepath.Join(project, "images.tfvars"))
	if n := strings.Count(string(got), "@sha256:"); n != len(services) {
		t.Fatalf("update pinned %d of %d references:\n%s", n, len(services), got)
	}
	runPin(t, project, nil, "check").mustSucceed(t, "check")

	// A KMS key that does not exist is an operational failure (exit 1) naming
	// the reference, and publishes nothing.
	r := runPin(t, dir, nil, "release", "create", "1.2.0-edge.1", "--channel", "edge", "--key", "awskms:///alias/missing")
	if r.code != 1 || !strings.Contains(r.err, "awskms:///alias/missing") {
		t.Fatalf("missing KMS key: exit %d, %s", r.code, r.err)
	}
	if _, err := os.Stat(filepath.Join(store, "releases", "1.2.0-edge.1.json")); !os.IsNotExist(err) {
		t.Fatalf("a release was written without a key: %v", err)
	}
}
