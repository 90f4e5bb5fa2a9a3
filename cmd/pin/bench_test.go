package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
)

// BenchmarkAuditCached measures `pin audit` as a user runs it on 500 files
// holding 2,000 references, once the channel's manifests are cached: each run
// fetches and verifies the index, reads and re-verifies the cached
// manifests, extracts, judges and renders the table.
func BenchmarkAuditCached(b *testing.B) {
	ctx := context.Background()
	signer, err := signing.NewEphemeralSigner()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	pubPEM, _ := signer.PublicKeyPEM()
	pub := filepath.Join(dir, "release.pub")
	os.WriteFile(pub, pubPEM, 0o644)
	store := channels.NewDirStore(filepath.Join(dir, "store"))
	p := &channels.Publisher{Store: store, Signer: signer, Product: "storage-service", Now: time.Now}
	var rels []*manifest.Release
	for i, v := range []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"} {
		rel := &manifest.Release{SchemaVersion: 1, Kind: manifest.KindRelease, Product: "storage-service", Version: v,
			Source: manifest.Source{Repository: "https://github.com/wellcomecollection/storage-service"}}
		for _, s := range services {
			rel.Components = append(rel.Components, manifest.Component{Name: s, Repository: serviceRepo("public.ecr.aws", s),
				Digest: manifest.Digest([]byte(fmt.Sprint(s, i))), MediaType: "application/vnd.oci.image.manifest.v1+json"})
		}
		if _, err := p.Create(ctx, rel, channels.Stable, time.Hour); err != nil {
			b.Fatal(err)
		}
		rels = append(rels, rel)
	}
	deploy := filepath.Join(dir, "deploy")
	refs := 0
	for f := 0; f < 500; f++ {
		var y strings.Builder
		y.WriteString("services:\n")
		for j := 0; j < 4; j++ {
			c := rels[(f+j)%len(rels)].Components[(f*4+j)%len(services)]
			fmt.Fprintf(&y, "  s%d:\n    image: %s\n", j, c.Ref())
			refs++
		}
		sub := filepath.Join(deploy, fmt.Sprintf("d%02d", f/25))
		os.MkdirAll(sub, 0o755)
		os.WriteFile(filepath.Join(sub, fmt.Sprintf("compose-%03d.yaml", f)), []byte(y.String()), 0o644)
	}
	cache := filepath.Join(dir, "cache")
	args := []string{"audit", deploy, "--source", store.String(), "--key-file", pub, "--cache-dir", cache}
	var out, errb bytes.Buffer
	a := &app{In: strings.NewReader(""), Out: &out, Err: &errb, LookupEnv: func(string) (string, bool) { return "", false }, Now: time.Now}
	if code := run(ctx, a, args); code != 0 { // warms the cache
		b.Fatalf("audit: exit %d: %s", code, errb.String())
	}
	if got := strings.Count(out.String(), "\n") - 3; got != refs {
		b.Fatalf("audit listed %d references, want %d", got, refs)
	}
	b.ReportMetric(float64(refs), "refs")
	b.ResetTimer()
	for b.Loop() {
		out.Reset()
		if code := run(ctx, a, args); code != 0 {
			b.Fatalf("audit: exit %d: %s", code, errb.String())
		}
	}
}
