package reponame

import (
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/manifest"
)

func TestMirrorMap(t *testing.T) {
	rel := &manifest.Release{Components: []manifest.Component{
		{Name: "bags_api", Repository: "up.example/y1/bags_api"},
		{Name: "notifier", Repository: "up.example/y1/notifier"},
		{Name: "fluentbit", Repository: "up.example/l7/fluentbit"},
		{Name: "nginx", Repository: "up.example/l7/nginx_apigw"},
		{Name: "odd", Repository: "other.example/z/odd-image"},
	}}
	got := MirrorMap(rel, "mirror.example/storage/")
	want := map[string]string{
		"up.example/y1":             "mirror.example/storage",
		"up.example/l7":             "mirror.example/storage",
		"up.example/l7/nginx_apigw": "mirror.example/storage/nginx",
		"other.example/z/odd-image": "mirror.example/storage/odd",
	}
	if strings.Join(Lines(got), "\n") != strings.Join(Lines(want), "\n") {
		t.Fatalf("MirrorMap:\n%s\nwant:\n%s", strings.Join(Lines(got), "\n"), strings.Join(Lines(want), "\n"))
	}
}

func TestParsePrefix(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"registry.example.org/storage", "registry.example.org/storage", true},
		{"oci://127.0.0.1:5000/m/", "127.0.0.1:5000/m", true},
		{"localhost:5000", "localhost:5000", true},
		{"storage", "", false},
		{"registry.example.org/storage:1.0", "", false},
		{"registry.example.org/s@sha256:00", "", false},
		{"", "", false},
		{"Registry.example.org/UPPER", "", false},
	} {
		got, err := ParsePrefix(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParsePrefix(%q) = %q, %v", tc.in, got, err)
		}
	}
}
