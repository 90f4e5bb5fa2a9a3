//go:build nokeyless

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A build without keyless support says so (exit 2) when asked to sign
// keylessly or to trust an identity, and writes nothing.
func TestNoKeylessBuildRefuses(t *testing.T) {
	t.Parallel()
	dir, _ := producerSetup(t, dirStore)
	os.WriteFile(filepath.Join(dir, "release.yaml"), append(mustReadFile(t, filepath.Join(dir, "release.yaml")), []byte("identities:\n  - issuer: https://token.actions.githubusercontent.com\n    subject: https://github.com/o/r/.github/workflows/release.yml@refs/heads/main\n")...), 0o644)
	r := runPin(t, dir, env{"SIGSTORE_ID_TOKEN": "a.b.c"}, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "sigstore")
	if r.code != 2 || !strings.Contains(r.err, "built without keyless") {
		t.Fatalf("keyless create: exit %d, %s", r.code, r.err)
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); !os.IsNotExist(err) {
		t.Fatalf("a refused create made the store: %v", err)
	}
	project := t.TempDir()
	os.WriteFile(filepath.Join(project, "pin.yaml"), []byte("source: ./store\nproduct: storage-service\nchannel: stable\nkeys: []\nidentities:\n  - issuer: https://token.actions.githubusercontent.com\n    subject: https://github.com/o/r/.github/workflows/release.yml@refs/heads/main\n"), 0o644)
	if r := runPin(t, project, nil, "update"); r.code != 2 || !strings.Contains(r.err, "built without keyless") {
		t.Fatalf("update trusting an identity: exit %d, %s", r.code, r.err)
	}
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
