package pin

import (
	"reflect"
	"testing"

	"github.com/wellcomecollection/pin/manifest"
)

func TestReleaseNamespacesAndBound(t *testing.T) {
	rel := &manifest.Release{Components: []manifest.Component{
		{Repository: "public.ecr.aws/y1p3h6z3/bags_api"},
		{Repository: "public.ecr.aws/y1p3h6z3/notifier"},
		{Repository: "public.ecr.aws/l7a1d1z4/nginx"},
		{Repository: "registry.example/solo"},
		{Repository: "ghcr.io/org/team/deep/image"},
	}}
	want := []string{"ghcr.io/org/team/deep/", "public.ecr.aws/l7a1d1z4/", "public.ecr.aws/y1p3h6z3/", "registry.example/solo"}
	got := ReleaseNamespaces(rel)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("namespaces %v, want %v", got, want)
	}
	for _, tc := range []struct {
		repo string
		ok   bool
	}{
		{"public.ecr.aws/y1p3h6z3/bags_api", true},
		{"public.ecr.aws/y1p3h6z3/new/nested", true},
		{"public.ecr.aws/y1p3h6z3x/bags_api", false}, // not at a path boundary
		{"public.ecr.aws/other/bags_api", false},
		{"registry.example/solo", true},
		{"registry.example/solo2", false},
		{"registry.example/other", false}, // a bare repository never widens to its registry
		{"index.docker.io/library/redis", false},
	} {
		if got := repositoryAllowed(tc.repo, want); got != tc.ok {
			t.Errorf("repositoryAllowed(%s) = %v, want %v", tc.repo, got, tc.ok)
		}
	}
}
