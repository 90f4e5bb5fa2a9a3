package projectfiles

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestOwn(t *testing.T) {
	for _, tt := range []struct {
		name string
		own  bool
	}{
		{"pin.yaml", true}, {"pin.lock", true}, {".pin.lock.next", true}, {".pin.lck", true},
		{".main.tf.pin-123", true}, {"main.tf", false}, {"pin.yml", false}, {".pin-abc", false},
	} {
		if got := Own(tt.name); got != tt.own {
			t.Errorf("Own(%q) = %v, want %v", tt.name, got, tt.own)
		}
	}
}

// TestWalk: one walker for update, check and audit: skipped directories,
// pin's own files at any depth, staged files reported, symlinks followed
// inside the root and reported outside it.
func TestWalk(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	write := func(rel string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a.yaml", "a/b.tf", "pin.yaml", "pin.lock", "sub/pin.yaml", ".git/config", "node_modules/x/y.json", ".terraform/m/main.tf", ".main.tf.pin-42"} {
		write(f)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.tf"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.tf"), filepath.Join(root, "out.tf")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a/b.tf", filepath.Join(root, "in.tf")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("missing.tf", filepath.Join(root, "dangling.tf")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a", filepath.Join(root, "dirin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "dirout")); err != nil {
		t.Fatal(err)
	}
	var rels []string
	modes := map[string]os.FileMode{}
	dirs := map[string]string{} // symlinked directory -> its target relative to root
	w, err := Walk(root, func(e Entry) error {
		if e.Dir {
			dirs[e.Rel] = e.TargetRel
			return nil
		}
		rels = append(rels, e.Rel)
		modes[e.Rel] = e.Mode
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a/b.tf", "a.yaml", "in.tf"}; !reflect.DeepEqual(rels, want) {
		t.Errorf("visited %v, want %v", rels, want)
	}
	if want := map[string]string{"dirin": "a", "dirout": ""}; !reflect.DeepEqual(dirs, want) {
		t.Errorf("symlinked directories %v, want %v (handed to visit, target inside or \"\")", dirs, want)
	}
	if modes["in.tf"] != 0o644 || modes["a.yaml"] != 0 {
		t.Errorf("modes %v: a symlink's target mode is read, a plain file's is not", modes)
	}
	if !reflect.DeepEqual(w.Escaped, []string{"out.tf"}) {
		t.Errorf("escaped %v, want [out.tf]", w.Escaped)
	}
	if len(w.Staged) != 1 || filepath.Base(w.Staged[0]) != ".main.tf.pin-42" {
		t.Errorf("staged %v", w.Staged)
	}
}
