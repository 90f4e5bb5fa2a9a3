package mirror

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
)

// seedStorageService pushes 20 components shaped like the storage service's
// (every third a two-platform index, 3 layers of 64 KiB per image) and
// returns their release.
func seedStorageService(b *testing.B, host string) *manifest.Release {
	b.Helper()
	rel := &manifest.Release{Version: "1.0.0"}
	for i := 0; i < 20; i++ {
		c := manifest.Component{Name: fmt.Sprintf("svc%02d", i), Repository: fmt.Sprintf("%s/ns/svc%02d", host, i)}
		ref := must(name.ParseReference(c.Repository + ":latest"))
		if i%3 == 0 {
			idx := must(testenv.RandomIndex(2))
			if err := remote.WriteIndex(ref, idx); err != nil {
				b.Fatal(err)
			}
			c.Digest, c.MediaType = must(idx.Digest()).String(), string(types.OCIImageIndex)
			for _, d := range must(idx.IndexManifest()).Manifests {
				c.Platforms = append(c.Platforms, manifest.Platform{OS: d.Platform.OS, Architecture: d.Platform.Architecture, Digest: d.Digest.String()})
			}
		} else {
			img := must(random.Image(64<<10, 3))
			if err := remote.Write(ref, img); err != nil {
				b.Fatal(err)
			}
			c.Digest, c.MediaType = must(img.Digest()).String(), string(types.DockerManifestSchema2)
		}
		rel.Components = append(rel.Components, c)
	}
	return rel
}

// BenchmarkMirrorFirstCopy copies 20 components into an empty in-memory registry.
func BenchmarkMirrorFirstCopy(b *testing.B) {
	src := memRegistry(b)
	rel := seedStorageService(b, src)
	var requests int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dst := memRegistry(b)
		c := registry.NewClient()
		b.StartTimer()
		if _, err := Mirror(context.Background(), rel, dst+"/m", Options{Client: c}); err != nil {
			b.Fatal(err)
		}
		requests += c.Requests()
	}
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
}

// BenchmarkMirrorRerun is the idempotent second run: every manifest is
// already in the mirror, so nothing is uploaded.
func BenchmarkMirrorRerun(b *testing.B) {
	src, dst := memRegistry(b), memRegistry(b)
	rel := seedStorageService(b, src)
	if _, err := Mirror(context.Background(), rel, dst+"/m", Options{}); err != nil {
		b.Fatal(err)
	}
	var requests int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := registry.NewClient()
		res, err := Mirror(context.Background(), rel, dst+"/m", Options{Client: c})
		if err != nil {
			b.Fatal(err)
		}
		if res.Total.BlobsUploaded != 0 || res.Total.Manifests != 0 {
			b.Fatalf("rerun copied: %+v", res.Total)
		}
		requests += c.Requests()
	}
	b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
}
