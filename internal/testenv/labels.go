package testenv

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RevisionLabel is the config label CI sets to the git commit an image was
// built from.
const RevisionLabel = "org.opencontainers.image.revision"

// RevisionImage returns a small random image whose config labels it with
// revision (no revision label when revision is "").
func RevisionImage(t testing.TB, revision string) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatalf("random image: %v", err)
	}
	labels := map[string]string{"org.opencontainers.image.source": "https://github.com/wellcomecollection/storage-service"}
	if revision != "" {
		labels[RevisionLabel] = revision
	}
	if img, err = mutate.Config(img, v1.Config{Labels: labels}); err != nil {
		t.Fatalf("label image: %v", err)
	}
	return img
}

// PushRevisionImage pushes to ref an image labelled with revisions[0], or,
// given several revisions, an OCI index whose children (the platforms of
// Platforms, in order) carry them one each; "" leaves an image unlabelled.
// It returns the digest pushed and fails the test on any error.
func PushRevisionImage(t testing.TB, ref string, revisions ...string) v1.Hash {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatalf("push to %q: %v", ref, err)
	}
	if len(revisions) == 0 || len(revisions) > len(Platforms) {
		t.Fatalf("push to %s: %d revisions, want 1 to %d", ref, len(revisions), len(Platforms))
	}
	if len(revisions) == 1 {
		img := RevisionImage(t, revisions[0])
		if err := remote.Write(r, img); err != nil {
			t.Fatalf("push to %s: %v", ref, err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatalf("push to %s: digest: %v", ref, err)
		}
		return d
	}
	adds := make([]mutate.IndexAddendum, len(revisions))
	for i, rev := range revisions {
		p := Platforms[i]
		adds[i] = mutate.IndexAddendum{Add: RevisionImage(t, rev), Descriptor: v1.Descriptor{Platform: &p}}
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatalf("push index to %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatalf("push index to %s: digest: %v", ref, err)
	}
	return d
}
