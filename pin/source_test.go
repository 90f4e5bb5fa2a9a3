package pin

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSourceForConfigKeepsWhatWasTyped(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	for _, tt := range []struct{ typed, config, want string }{
		{"./releases", "pin.yaml", "./releases"},
		{"../releases", "pin.yaml", "../releases"},
		{"/srv/releases", "pin.yaml", "/srv/releases"},
		{"/srv/releases", "sub/pin.yaml", "/srv/releases"},
		{"oci://registry.example/releases", "sub/pin.yaml", "oci://registry.example/releases"},
		{"./releases", "sub/pin.yaml", filepath.Join("..", "releases")},
	} {
		if got := sourceForConfig(tt.typed, tt.config, dir); got != tt.want {
			t.Errorf("sourceForConfig(%q, %q) = %q, want %q", tt.typed, tt.config, got, tt.want)
		}
	}
}

func TestSameSource(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"../store", "../store", true},
		{"../store", ".././store", true},
		{"../store", "../stroe", false},
		{"oci://h/r", "oci://h/r", true},
		{"oci://h/r", "oci://h/other", false},
	} {
		if got := sameSource(tt.a, tt.b, "/p/q/pin.yaml"); got != tt.same {
			t.Errorf("sameSource(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}
