package testenv

import (
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Platforms lists, in order, the platforms PushRandomImage gives the children
// of an index.
var Platforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
	{OS: "linux", Architecture: "arm", Variant: "v7"},
	{OS: "linux", Architecture: "ppc64le"},
	{OS: "linux", Architecture: "s390x"},
}

// PushRandomImage pushes a small random image to ref (a tag or repository
// reference such as "127.0.0.1:5000/bags_api:latest") and returns the digest
// the registry now serves under it. With platforms > 1 it pushes an OCI image
// index whose children are random images for the first platforms entries of
// Platforms (linux/amd64, linux/arm64, ...). It fails the test on any error.
func PushRandomImage(t testing.TB, ref string, platforms int) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatalf("push random image: parse %q: %v", ref, err)
	}
	if platforms > len(Platforms) {
		t.Fatalf("push random image to %s: %d platforms asked, at most %d", ref, platforms, len(Platforms))
	}
	if platforms <= 1 {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatalf("push random image to %s: %v", ref, err)
		}
		if err := remote.Write(r, img); err != nil {
			t.Fatalf("push random image to %s: %v", ref, err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatalf("push random image to %s: digest: %v", ref, err)
		}
		return d
	}
	idx, err := RandomIndex(platforms)
	if err != nil {
		t.Fatalf("push random index to %s: %v", ref, err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatalf("push random index to %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatalf("push random index to %s: digest: %v", ref, err)
	}
	return d
}

// RandomIndex builds an OCI image index of random single-layer images, one
// for each of the first n entries of Platforms.
func RandomIndex(n int) (v1.ImageIndex, error) {
	if n < 1 || n > len(Platforms) {
		return nil, fmt.Errorf("random index: %d platforms asked, between 1 and %d allowed", n, len(Platforms))
	}
	adds := make([]mutate.IndexAddendum, 0, n)
	for i := 0; i < n; i++ {
		img, err := random.Image(512, 1)
		if err != nil {
			return nil, fmt.Errorf("random image for %s: %w", Platforms[i].String(), err)
		}
		p := Platforms[i]
		adds = append(adds, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	return mutate.AppendManifests(empty.Index, adds...), nil
}
