package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/wellcomecollection/pin/pin"
)

// rootKeys makes unencrypted key pairs for env:// references (fast: no
// scrypt), writing NAME.pub into dir; the env maps PIN_KEY_NAME to the PEM.
func rootKeys(t *testing.T, dir string, e env, names ...string) {
	t.Helper()
	for _, n := range names {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		e["PIN_KEY_"+strings.ToUpper(n)] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		pub, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n+".pub"), pub, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var fingerprintRE = regexp.MustCompile(`sha256 ([0-9a-f]{64})`)

// TestRootCeremony runs the key ceremony through the CLI on a directory
// store: a first root signed by two of three root keys, releases and indexes
// signed by their role keys, a consumer that trusts the root by fingerprint,
// a routine rotation of the index key that the consumer follows without
// editing pin.yaml, and the refusals along the way.
func TestRootCeremony(t *testing.T) {
	t.Parallel()
	dir, host := producerSetup(t, dirStore)
	e := env{}
	rootKeys(t, dir, e, "alice", "bob", "carol", "ci", "index2")
	key := func(n string) string { return "env://PIN_KEY_" + strings.ToUpper(n) }

	runPin(t, dir, e, "root", "init", "--product", "storage-service", "--root-key", "alice.pub", "--root-key", "bob.pub",
		"--root-key", "carol.pub", "--root-threshold", "2", "--release-key", "release.pub", "--index-key", "ci.pub").mustSucceed(t, "root init")
	runPin(t, dir, e, "root", "sign", "root.json", "--key", key("alice")).mustSucceed(t, "sign alice")
	if r := runPin(t, dir, e, "root", "publish", "root.json"); r.code != 3 || !strings.Contains(r.err, "1 of the 2 required") {
		t.Fatalf("publish with one of two root signatures: exit %d: %s", r.code, r.err)
	}
	runPin(t, dir, e, "root", "sign", "root.json", "--key", key("bob")).mustSucceed(t, "sign bob")
	pub := runPin(t, dir, e, "root", "publish", "root.json").mustSucceed(t, "publish")
	m := fingerprintRE.FindStringSubmatch(pub.out)
	if m == nil {
		t.Fatalf("publish printed no fingerprint: %s", pub.out)
	}
	for _, f := range []string{"store/root/1.json", "store/root/1.json.sigs"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("published root: %v", err)
		}
	}

	// The release key may not sign indexes any more: the root gives that to ci.
	both := env{"COSIGN_PASSWORD": pw["COSIGN_PASSWORD"]}
	for k, v := range e {
		both[k] = v
	}
	if r := runPin(t, dir, both, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key"); r.code != 2 || !strings.Contains(r.err, "not listed for role index") {
		t.Fatalf("index signed by the release key: exit %d: %s", r.code, r.err)
	}
	runPin(t, dir, both, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key", "--index-key", key("ci")).mustSucceed(t, "create")

	consumer := t.TempDir()
	// A project with something to pin: an update that finds nothing fails.
	tf := "locals {\n  bags = \"" + serviceRepo(host, "bags_api") + ":latest\"\n}\n"
	if err := os.WriteFile(filepath.Join(consumer, "main.tf"), []byte(tf), 0o644); err != nil {
		t.Fatal(err)
	}
	runPin(t, consumer, nil, "init", "--source", filepath.Join(dir, "store"), "--channel", "edge", "--root-sha256", m[1]).mustSucceed(t, "init --root-sha256")
	pinYAML, _ := os.ReadFile(filepath.Join(consumer, "pin.yaml"))
	runPin(t, consumer, nil, "update").mustSucceed(t, "update")
	if r := runPin(t, consumer, nil, "init", "--force", "--source", filepath.Join(dir, "store"), "--channel", "edge", "--root-sha256", strings.Repeat("0", 64)); r.code != 3 || !strings.Contains(r.err, "none has sha256 000") {
		t.Fatalf("init with a wrong fingerprint: exit %d: %s", r.code, r.err)
	}
	if again, _ := os.ReadFile(filepath.Join(consumer, "pin.yaml")); string(again) != string(pinYAML) {
		t.Fatal("init with a wrong fingerprint rewrote pin.yaml")
	}

	// Routine rotation of the index key: root 2, signed by two root keys.
	runPin(t, dir, e, "root", "add-key", "root.json", "--role", "index", "--key-file", "index2.pub").mustSucceed(t, "add-key")
	ciID := keyIDOf(t, filepath.Join(dir, "ci.pub"))
	runPin(t, dir, e, "root", "remove-key", "root.json", "--role", "index", "--key-id", ciID[:12]).mustSucceed(t, "remove-key")
	runPin(t, dir, e, "root", "sign", "root.json", "--key", key("carol")).mustSucceed(t, "sign carol")
	runPin(t, dir, e, "root", "sign", "root.json", "--key", key("alice")).mustSucceed(t, "sign alice 2")
	runPin(t, dir, e, "root", "publish", "root.json").mustSucceed(t, "publish 2")
	if r := runPin(t, dir, both, "channel", "refresh", "--channel", "edge", "--key", "release.key", "--index-key", key("ci")); r.code != 2 || !strings.Contains(r.err, "not listed for role index in root version 2") {
		t.Fatalf("refresh with the revoked index key: exit %d: %s", r.code, r.err)
	}
	runPin(t, dir, both, "channel", "refresh", "--channel", "edge", "--key", "release.key", "--index-key", key("index2")).mustSucceed(t, "refresh with index2")

	upd := runPin(t, consumer, nil, "update").mustSucceed(t, "update after rotation")
	if !strings.Contains(upd.err, "keys that sign channel edge changed in root version 2") {
		t.Errorf("update did not say it followed the rotation: %s", upd.err)
	}
	lock, err := pin.LoadLock(filepath.Join(consumer, "pin.lock"))
	if err != nil || len(lock.Roots) != 1 {
		t.Fatalf("pin.lock roots after rotation: %+v, %v", lock, err)
	}
	if after, _ := os.ReadFile(filepath.Join(consumer, "pin.yaml")); string(after) != string(pinYAML) {
		t.Fatal("following a rotation edited pin.yaml")
	}
	runPin(t, consumer, nil, "check").mustSucceed(t, "check offline after rotation")
}

func keyIDOf(t *testing.T, pubPath string) string {
	t.Helper()
	b, err := os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	der, err := cryptoutils.MarshalPublicKeyToDER(pub)
	if err != nil {
		t.Fatal(err)
	}
	return sha256Hex(der)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
