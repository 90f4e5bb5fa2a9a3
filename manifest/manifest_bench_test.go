package manifest

import (
	"fmt"
	"testing"
	"time"
)

// benchRelease is a release of 20 components, as the storage service has.
func benchRelease() *Release {
	r := sampleRelease()
	r.Components = nil
	for i := range 20 {
		r.Components = append(r.Components, Component{Name: fmt.Sprintf("svc_%02d", 19-i), Repository: fmt.Sprintf("public.ecr.aws/y1p3h6z3/svc_%02d", 19-i),
			Tag: "latest", Digest: Digest([]byte{byte(i)}), MediaType: "application/vnd.oci.image.manifest.v1+json"})
	}
	return r
}

// benchChannel is a channel index listing 200 releases, newest first (so
// Encode has to sort them).
func benchChannel() *Channel {
	c := &Channel{SchemaVersion: SchemaVersion, Kind: KindChannel, Product: "storage-service", Channel: "stable", Sequence: 200,
		Issued: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), Expires: time.Date(2026, 12, 27, 12, 0, 0, 0, time.UTC)}
	for i := 199; i >= 0; i-- {
		c.Releases = append(c.Releases, Entry{Version: fmt.Sprintf("1.%d.%d", i/10, i%10), Digest: Digest([]byte{byte(i), byte(i >> 8)}),
			Created: c.Issued.Add(-time.Duration(200-i) * time.Hour)})
	}
	return c
}

// BenchmarkEncodeRelease measures the canonical encoding of a 20-component
// release (validate, sort, marshal, re-marshal with sorted keys): what is
// signed and hashed on every release create, promote and verify.
func BenchmarkEncodeRelease(b *testing.B) {
	r := benchRelease()
	for b.Loop() {
		out, err := r.Encode()
		if err != nil || len(out) < 2000 {
			b.Fatalf("%d bytes, %v", len(out), err)
		}
	}
}

// BenchmarkDecodeRelease measures the strict decode and validation of the same release.
func BenchmarkDecodeRelease(b *testing.B) {
	enc, err := benchRelease().Encode()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		r, err := DecodeRelease(enc, Expect{Product: "storage-service"})
		if err != nil || len(r.Components) != 20 {
			b.Fatalf("%v", err)
		}
	}
}

// BenchmarkEncodeChannel measures the canonical encoding of a 200-release
// channel index, SemVer sort included.
func BenchmarkEncodeChannel(b *testing.B) {
	c := benchChannel()
	for b.Loop() {
		out, err := c.Encode()
		if err != nil || len(out) < 200*100 {
			b.Fatalf("%d bytes, %v", len(out), err)
		}
	}
}
