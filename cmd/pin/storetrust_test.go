package main

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// signWithEnvKey signs data as cosign sign-blob does (base64 ASN.1 ECDSA
// over SHA-256) with the private key rootKeys put in e for name.
func signWithEnvKey(t *testing.T, e env, name string, data []byte) []byte {
	t.Helper()
	block, _ := pem.Decode([]byte(e["PIN_KEY_"+strings.ToUpper(name)]))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, k.(*ecdsa.PrivateKey), sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return []byte(base64.StdEncoding.EncodeToString(sig))
}

// rootedStore publishes, through the CLI, a directory store under a root of
// trust: root key alice, release key rel, index key ci, and a stricter
// index-stable role (ci and dana, threshold 2); release 1.0.0-edge.1 on edge
// promoted to 1.0.0 on stable with both stable signatures. It returns the
// producer's directory, the registry host, the env holding the private keys
// and the root's fingerprint.
func rootedStore(t *testing.T, store func(host, dir string) string) (dir, host string, e env, fingerprint string) {
	t.Helper()
	dir, host = producerSetup(t, store)
	e = env{}
	rootKeys(t, dir, e, "alice", "rel", "ci", "dana", "index2")
	runPin(t, dir, e, "root", "init", "--product", "storage-service", "--root-key", "alice.pub", "--release-key", "rel.pub", "--index-key", "ci.pub",
		"--stable-index-key", "ci.pub", "--stable-index-key", "dana.pub", "--stable-threshold", "2").mustSucceed(t, "root init")
	runPin(t, dir, e, "root", "sign", "root.json", "--key", envKey("alice")).mustSucceed(t, "root sign")
	m := fingerprintRE.FindStringSubmatch(runPin(t, dir, e, "root", "publish", "root.json").mustSucceed(t, "root publish").out)
	if m == nil {
		t.Fatal("root publish printed no fingerprint")
	}
	runPin(t, dir, e, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", envKey("rel"), "--index-key", envKey("ci")).mustSucceed(t, "create")
	runPin(t, dir, e, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", envKey("rel"), "--index-key", envKey("ci"), "--co-sign-key", envKey("dana")).mustSucceed(t, "promote")
	return dir, host, e, m[1]
}

func envKey(name string) string { return "env://PIN_KEY_" + strings.ToUpper(name) }

// TestShowVerifiesThroughRootChain: pin channel show and pin release show
// verify with a root of trust (pin.yaml's, --root FILE or --root-sha256),
// following the store's newer roots to the current role keys; a document
// signed by a key the newest root revoked is refused (exit 3) though the
// key itself, given with --key-file, still verifies it. A stable index
// whose role needs two signatures is read over HTTPS with both (.sigs) and
// refused with one.
func TestShowVerifiesThroughRootChain(t *testing.T) {
	t.Parallel()
	dir, host, e, fp := rootedStore(t, dirStore)
	static := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(dir, "store"))))
	t.Cleanup(static.Close)

	// A consumer over HTTPS (loopback http) trusting the root by fingerprint.
	consumer := t.TempDir()
	tf := "locals {\n  bags = \"" + serviceRepo(host, "bags_api") + ":latest\"\n}\n"
	if err := os.WriteFile(filepath.Join(consumer, "main.tf"), []byte(tf), 0o644); err != nil {
		t.Fatal(err)
	}
	runPin(t, consumer, nil, "init", "--source", static.URL, "--channel", "stable", "--root-sha256", fp).mustSucceed(t, "init over HTTPS, threshold-2 stable")
	runPin(t, consumer, nil, "update").mustSucceed(t, "update over HTTPS, threshold-2 stable")

	// Threshold 2 over HTTPS: both signatures verify; with the .sigs gone, one is refused.
	sigs := filepath.Join(dir, "store", "channels", "stable.json.sigs")
	saved, err := os.ReadFile(sigs)
	if err != nil {
		t.Fatalf("promote with a co-signer wrote no .sigs: %v", err)
	}
	runPin(t, dir, nil, "channel", "show", "stable", "--source", static.URL, "--root-sha256", fp).mustSucceed(t, "show stable over HTTPS with two signatures")
	if err := os.Remove(sigs); err != nil {
		t.Fatal(err)
	}
	lockBefore, _ := os.ReadFile(filepath.Join(consumer, "pin.lock"))
	for _, args := range [][]string{
		{"channel", "show", "stable", "--source", static.URL, "--root-sha256", fp},
		{"update", "--dir", consumer},
	} {
		wd := dir
		if args[0] == "update" {
			wd, args = consumer, args[:1]
		}
		if r := runPin(t, wd, nil, args...); r.code != 3 || !strings.Contains(r.err, "1 of the 2 required") {
			t.Fatalf("%v with one of two stable signatures over HTTPS: exit %d\n%s", args, r.code, r.err)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(consumer, "pin.lock")); string(after) != string(lockBefore) {
		t.Fatal("a refused update rewrote pin.lock")
	}
	if err := os.WriteFile(sigs, saved, 0o644); err != nil {
		t.Fatal(err)
	}

	// Rotate the index key: root 2 replaces ci by index2 in role index.
	runPin(t, dir, e, "root", "add-key", "root.json", "--role", "index", "--key-file", "index2.pub").mustSucceed(t, "add-key")
	runPin(t, dir, e, "root", "remove-key", "root.json", "--role", "index", "--key-id", keyIDOf(t, filepath.Join(dir, "ci.pub"))[:12]).mustSucceed(t, "remove-key")
	runPin(t, dir, e, "root", "sign", "root.json", "--key", envKey("alice")).mustSucceed(t, "sign root 2")
	runPin(t, dir, e, "root", "publish", "root.json").mustSucceed(t, "publish root 2")
	runPin(t, dir, e, "channel", "refresh", "--channel", "edge", "--key", envKey("rel"), "--index-key", envKey("index2")).mustSucceed(t, "refresh edge with index2")
	root1 := filepath.Join(dir, "store", "root", "1.json")

	shows := []struct {
		name string
		wd   string
		args []string
	}{
		{"release.yaml and --root-sha256", dir, []string{"channel", "show", "edge", "--root-sha256", fp}},
		{"--source and --root FILE", dir, []string{"channel", "show", "edge", "--source", "./store", "--root", root1}},
		{"over HTTPS with --root-sha256", dir, []string{"channel", "show", "edge", "--source", static.URL, "--root-sha256", fp}},
		{"the project's pin.yaml", consumer, []string{"channel", "show", "stable"}},
		{"release show, the project's pin.yaml", consumer, []string{"release", "show", "1.0.0"}},
		{"release show, --config pin.yaml", dir, []string{"release", "show", "1.0.0-edge.1", "--config", filepath.Join(consumer, "pin.yaml")}},
		{"release list, --root FILE", dir, []string{"release", "list", "--root", root1}},
	}
	for _, s := range shows {
		t.Run(s.name, func(t *testing.T) {
			r := runPin(t, s.wd, nil, s.args...).mustSucceed(t, strings.Join(s.args, " "))
			if !strings.Contains(r.err, "verifying with root of trust version 2") || strings.Contains(r.err, "not verified") {
				t.Fatalf("did not verify with root 2:\n%s", r.err)
			}
		})
	}

	// The revoked key signs the edge index: the root chain refuses it; the
	// key itself, vouched for with --key-file, still accepts it.
	edge := filepath.Join(dir, "store", "channels", "edge.json")
	b, err := os.ReadFile(edge)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(edge+".sig", signWithEnvKey(t, e, "ci", b), 0o644); err != nil {
		t.Fatal(err)
	}
	refusals := []struct {
		name string
		wd   string
		args []string
	}{
		{"--root-sha256", dir, []string{"channel", "show", "edge", "--root-sha256", fp}},
		{"--root FILE (root 1 lists the key; root 2 revoked it)", dir, []string{"channel", "show", "edge", "--root", root1}},
		{"over HTTPS", dir, []string{"channel", "show", "edge", "--source", static.URL, "--root-sha256", fp, "-o", "json"}},
		{"release show, through the edge index", dir, []string{"release", "show", "1.0.0-edge.1", "--root-sha256", fp}},
	}
	for _, s := range refusals {
		t.Run("revoked: "+s.name, func(t *testing.T) {
			r := runPin(t, s.wd, nil, s.args...)
			// Nothing of the document is printed (-o json prints the error as JSON).
			if r.code != 3 || !strings.Contains(r.err, "role index of root version 2") || strings.Contains(r.out, "sequence") {
				t.Fatalf("index signed by the revoked key: exit %d\nstdout %q\n%s", r.code, r.out, r.err)
			}
		})
	}
	runPin(t, dir, nil, "channel", "show", "edge", "--key-file", "ci.pub").mustSucceed(t, "the revoked key, given by hand")

	if r := runPin(t, dir, nil, "channel", "show", "edge", "--key-file", "ci.pub", "--root-sha256", fp); r.code != 2 || !strings.Contains(r.err, "one of --key-file, --root and --root-sha256") {
		t.Fatalf("two trust flags: exit %d\n%s", r.code, r.err)
	}
	if r := runPin(t, dir, nil, "channel", "show", "edge", "--root-sha256", strings.Repeat("ab", 32)); r.code != 3 || !strings.Contains(r.err, "none has sha256 abab") {
		t.Fatalf("unknown fingerprint: exit %d\n%s", r.code, r.err)
	}
}
