package pin

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestUnifiedDiffApplies checks the diff pin prints with git apply, for a
// file with and without a final newline.
func TestUnifiedDiffApplies(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed: the diff's form is checked with git apply")
	}
	for name, tc := range map[string]struct{ old, new string }{
		"final newline":    {"FROM a:latest\nRUN x\n", "FROM a@sha256:1\nRUN x\n"},
		"no final newline": {"x = 1\nimage = \"a:latest\"", "x = 1\nimage = \"a@sha256:1\""},
		"middle of a file": {"1\n2\n3\n4\nimage: a\n5\n6\n7\n8\n", "1\n2\n3\n4\nimage: b\n5\n6\n7\n8\n"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "f"), []byte(tc.old), 0o644); err != nil {
				t.Fatal(err)
			}
			patch := filepath.Join(t.TempDir(), "p.diff")
			os.WriteFile(patch, []byte(UnifiedDiff("f", []byte(tc.old), []byte(tc.new))), 0o644)
			cmd := exec.Command(git, "apply", "--unsafe-paths", "--directory=.", patch)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				b, _ := os.ReadFile(patch)
				t.Fatalf("git apply: %v\n%s\n%s", err, out, b)
			}
			got, _ := os.ReadFile(filepath.Join(dir, "f"))
			if string(got) != tc.new {
				t.Fatalf("applied diff gives %q, want %q", got, tc.new)
			}
		})
	}
}
