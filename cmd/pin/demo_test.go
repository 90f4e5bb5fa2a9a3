package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoKeep runs the demo and then works in what it kept: the pinned
// config passes pin check offline and online against the exported store.
func TestDemoKeep(t *testing.T) {
	t.Parallel()
	keep := filepath.Join(t.TempDir(), "demo")
	r := runPin(t, "", nil, "demo", "--keep", keep).mustSucceed(t, "demo")
	for _, want := range []string{
		"pushed 20 image(s)",
		"published 1.0.0-edge.1",
		"published 1.0.0 (",
		"pinned 20 reference(s) in 2 file(s) to 1.0.0",
		"pinned 2 reference(s) in 1 file(s) to 1.1.0",
		"consistent: one release, 1.1.0 (the newest)",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("demo output:\n%s", r.out)
	}
	for _, p := range []string{"keys/release.key", "keys/release.pub", "release.yaml", "store/channels/stable.json.sig", "store/releases/1.1.0.json", "deployment/pin.yaml", "deployment/pin.lock"} {
		if _, err := os.Stat(filepath.Join(keep, p)); err != nil {
			t.Errorf("demo --keep did not leave %s: %v", p, err)
		}
	}
	if info, err := os.Stat(filepath.Join(keep, "keys/release.key")); err == nil && info.Mode().Perm() != 0o600 {
		t.Errorf("the demo's private key is %v, want 0600", info.Mode().Perm())
	}
	project := filepath.Join(keep, "deployment")
	runPin(t, project, nil, "check").mustSucceed(t, "check in the kept project")
	runPin(t, project, nil, "check", "--online").mustSucceed(t, "check --online against the kept store")
	a := runPin(t, project, nil, "audit", "--format", "json", "--cache-dir", filepath.Join(keep, "cache"), "--fail-on", "unpinned,outdated,mixed").mustSucceed(t, "audit in the kept project")
	if !strings.Contains(a.out, `"consistent": true`) {
		t.Fatalf("audit --format json of the kept project:\n%s", a.out)
	}
}
