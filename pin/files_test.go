package pin

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestGlobsMayEnter(t *testing.T) {
	tests := []struct {
		globs []string
		dir   string
		want  bool
	}{
		{DefaultFiles, "deploy", true},
		{DefaultFiles, "a/b/c", true},
		{[]string{"k8s/*.yaml"}, "k8s", true},
		{[]string{"k8s/*.yaml"}, "vendor", false},
		{[]string{"k8s/*.yaml"}, "k8s/sub", false},
		{[]string{"k8s/**/*.yaml"}, "k8s/sub/deeper", true},
		{[]string{"*.tf"}, "modules", false},
		{[]string{"env-*/main.tf"}, "env-prod", true},
		{[]string{"env-*/main.tf"}, "other", false},
		{[]string{"a**/x.tf"}, "abc", true},
	}
	for _, tt := range tests {
		if got := globsMayEnter(tt.globs, tt.dir); got != tt.want {
			t.Errorf("globsMayEnter(%q, %q) = %v, want %v", tt.globs, tt.dir, got, tt.want)
		}
	}
}

// TestFindFilesSymlinks: a symlink out of the project is refused alike
// whether it leads to a file or a directory; a symlinked directory is never
// skipped unseen.
func TestFindFilesSymlinks(t *testing.T) {
	outside := t.TempDir()
	os.MkdirAll(filepath.Join(outside, "dir"), 0o755)
	os.WriteFile(filepath.Join(outside, "dir", "app.yaml"), []byte("image: x\n"), 0o644)
	os.WriteFile(filepath.Join(outside, "benign.yaml"), []byte("a: b\n"), 0o644)
	tests := []struct {
		name    string
		globs   []string
		setup   func(dir string)
		escaped []string
	}{
		{"directory leading out", DefaultFiles, func(dir string) {
			os.Symlink(filepath.Join(outside, "dir"), filepath.Join(dir, "deploy"))
		}, []string{"deploy"}},
		{"file leading out, holding nothing managed", DefaultFiles, func(dir string) {
			os.Symlink(filepath.Join(outside, "benign.yaml"), filepath.Join(dir, "shared.yaml"))
		}, []string{"shared.yaml"}},
		{"directory leading out where no glob goes", []string{"k8s/*.yaml"}, func(dir string) {
			os.Symlink(filepath.Join(outside, "dir"), filepath.Join(dir, "vendor"))
		}, nil},
		{"directory inside, target walked too", DefaultFiles, func(dir string) {
			os.MkdirAll(filepath.Join(dir, "real"), 0o755)
			os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "alias"))
		}, nil},
		{"directory inside, target out of the globs' reach", []string{"deploy/*.yaml"}, func(dir string) {
			os.MkdirAll(filepath.Join(dir, "real"), 0o755)
			os.WriteFile(filepath.Join(dir, "real", "app.yaml"), []byte("a: b\n"), 0o644)
			os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "deploy"))
		}, []string{"deploy"}},
		{"dangling link", DefaultFiles, func(dir string) {
			os.Symlink(filepath.Join(outside, "gone"), filepath.Join(dir, "gone.yaml"))
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(dir)
			_, escaped, err := FindFiles(dir, tt.globs)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(escaped, tt.escaped) {
				t.Fatalf("escaped %q, want %q", escaped, tt.escaped)
			}
		})
	}
}
