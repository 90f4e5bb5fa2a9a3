package manifest

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func sampleRelease() *Release {
	return &Release{
		SchemaVersion: SchemaVersion,
		Kind:          KindRelease,
		Product:       "storage-service",
		Version:       "1.5.0-edge.2",
		Created:       time.Date(2026, 11, 27, 12, 0, 0, 123, time.FixedZone("x", 3600)),
		Source:        Source{Repository: "https://github.com/wellcomecollection/storage-service", Revision: "abc<&>"},
		Components: []Component{
			{Name: "notifier", Repository: "public.ecr.aws/y1p3h6z3/notifier", Tag: "latest", Digest: Digest([]byte("n")), MediaType: "application/vnd.oci.image.manifest.v1+json"},
			{Name: "bags_api", Repository: "public.ecr.aws/y1p3h6z3/bags_api", Tag: "latest", Digest: Digest([]byte("b")), MediaType: "application/vnd.oci.image.index.v1+json",
				Platforms: []Platform{{OS: "linux", Architecture: "amd64", Digest: Digest([]byte("b1"))}, {OS: "linux", Architecture: "arm64", Variant: "v8", Digest: Digest([]byte("b2"))}}},
		},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs:\n got %s\nwant %s", p, got, want)
	}
}

func TestReleaseCanonicalBytes(t *testing.T) {
	b, err := sampleRelease().Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "release.json", b)
	// Canonical: sorted keys, no whitespace, no HTML escaping, components by name, UTC seconds.
	s := string(b)
	for _, want := range []string{`{"components":[{"digest"`, `"created":"2026-11-27T11:00:00Z"`, `abc<&>`} {
		if !strings.Contains(s, want) {
			t.Errorf("encoding lacks %s", want)
		}
	}
	if strings.ContainsAny(s, "\n\t") || strings.Contains(s, `": `) || strings.Contains(s, `, "`) {
		t.Error("encoding has insignificant whitespace")
	}
	r, err := DecodeRelease(b, Expect{Product: "storage-service", Version: "1.5.0-edge.2"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Fatal("decode then encode changed the bytes")
	}
	if r.Components[0].Name != "bags_api" {
		t.Fatal("components not sorted")
	}
}

func TestChannelCanonicalBytes(t *testing.T) {
	c := &Channel{SchemaVersion: 1, Kind: KindChannel, Product: "storage-service", Channel: "edge", Sequence: 7,
		Issued: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), Expires: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC),
		Releases: []Entry{
			{Version: "1.10.0-edge.1", Digest: Digest([]byte("c")), Created: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)},
			{Version: "1.9.0-edge.10", Digest: Digest([]byte("b")), Created: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), Yanked: true, Reason: "broken"},
			{Version: "1.9.0-edge.2", Digest: Digest([]byte("a")), Created: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		}}
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "channel.json", b)
	d, err := DecodeChannel(b, Expect{Product: "storage-service", Channel: "edge"})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{d.Releases[0].Version, d.Releases[1].Version, d.Releases[2].Version}
	if strings.Join(got, " ") != "1.9.0-edge.2 1.9.0-edge.10 1.10.0-edge.1" {
		t.Fatalf("releases not in SemVer order: %v", got)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := sampleRelease().Encode()
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	tests := []struct {
		name, doc, wantErr string
		want               Expect
	}{
		{"unknown field", strings.Replace(s, `"kind"`, `"extra":1,"kind"`, 1), "unknown field", Expect{}},
		{"trailing data", s + `{}`, "trailing data", Expect{}},
		{"wrong schema", strings.Replace(s, `"schemaVersion":1`, `"schemaVersion":2`, 1), "schemaVersion", Expect{}},
		{"wrong kind", strings.Replace(s, `"kind":"Release"`, `"kind":"Channel"`, 1), "kind", Expect{}},
		{"other product", s, "product", Expect{Product: "other"}},
		{"other version", s, "version", Expect{Version: "1.5.0"}},
		{"bad digest", strings.Replace(s, Digest([]byte("b")), "sha256:1234", 1), "components[0].digest", Expect{}},
		{"wrong type", strings.Replace(s, `"schemaVersion":1`, `"schemaVersion":"1"`, 1), "schemaVersion", Expect{}},
		{"loose version", strings.Replace(s, `"version":"1.5.0-edge.2"`, `"version":"v1.5"`, 1), "version", Expect{}},
		{"oversize", `{"kind":"` + strings.Repeat("x", MaxDocumentSize) + `"}`, "cap", Expect{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRelease([]byte(tt.doc), tt.want)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
	var fe *FieldError
	_, err = DecodeRelease([]byte(s), Expect{Product: "other"})
	if !errors.As(err, &fe) || fe.Field != "product" {
		t.Fatalf("want a FieldError naming product, got %v", err)
	}
}

func TestParseVersion(t *testing.T) {
	for v, ok := range map[string]bool{"1.5.0": true, "1.5.0-edge.1": true, "1.5": false, "v1.5.0": false, "1.5.0+b": false, "01.5.0": false} {
		if _, err := ParseVersion(v); (err == nil) != ok {
			t.Errorf("ParseVersion(%q) = %v, want ok=%v", v, err, ok)
		}
	}
}

func TestDiff(t *testing.T) {
	a := sampleRelease()
	b := sampleRelease()
	b.Components = append([]Component(nil), b.Components...)
	b.Components[0].Digest = Digest([]byte("n2"))
	b.Components = append(b.Components, Component{Name: "file_finder", Repository: "public.ecr.aws/y1p3h6z3/file_finder", Digest: Digest([]byte("f")), MediaType: "m"})
	a.Components = append(a.Components, Component{Name: "bag_tagger", Repository: "public.ecr.aws/y1p3h6z3/bag_tagger", Digest: Digest([]byte("t")), MediaType: "m"})
	var got []string
	for _, c := range Diff(a, b) {
		got = append(got, c.Name+":"+string(c.Kind))
	}
	want := "bag_tagger:removed bags_api:unchanged file_finder:added notifier:changed"
	if strings.Join(got, " ") != want {
		t.Fatalf("Diff = %v, want %s", got, want)
	}
}

// mixedRelease is sampleRelease made of two revisions, with bags_api's
// platforms disagreeing between themselves.
func mixedRelease() *Release {
	r := sampleRelease()
	r.Source.Revision = ""
	r.Components[0].Revision = strings.Repeat("d", 40)
	r.Components[1].Platforms[0].Revision = strings.Repeat("a", 40)
	r.Components[1].Platforms[1].Revision = strings.Repeat("b", 40)
	return r
}

func TestReleaseRevisions(t *testing.T) {
	// The golden written before per-component revisions existed still
	// decodes, re-encodes to the same bytes, and so keeps its digest.
	old, err := os.ReadFile(filepath.Join("testdata", "release.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := DecodeRelease(old, Expect{})
	if err != nil {
		t.Fatalf("a manifest without revisions no longer decodes: %v", err)
	}
	if again, err := r.Encode(); err != nil || !bytes.Equal(again, old) {
		t.Fatalf("re-encoding an old manifest changed it: %v\n%s", err, again)
	}
	if strings.Contains(string(old), `"revision":""`) {
		t.Fatal("an empty revision was encoded")
	}

	b, err := mixedRelease().Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "release-mixed.json", b)
	for i := 0; i < 3; i++ {
		again, err := mixedRelease().Encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("encoding is not deterministic: %v", err)
		}
	}
	d, err := DecodeRelease(b, Expect{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Components[1].Revision != strings.Repeat("d", 40) || d.Components[0].Platforms[1].Revision != strings.Repeat("b", 40) {
		t.Fatalf("revisions lost in a round trip: %+v", d.Components)
	}
	if again, _ := d.Encode(); !bytes.Equal(again, b) {
		t.Fatal("decode then encode changed a mixed manifest")
	}

	s := string(b)
	for name, tt := range map[string]struct{ doc, field string }{
		"control character": {strings.Replace(s, strings.Repeat("d", 40), "dd\\u0007", 1), "components[1].revision"},
		"surrounding space": {strings.Replace(s, strings.Repeat("d", 40), " dd", 1), "components[1].revision"},
		"too long":          {strings.Replace(s, strings.Repeat("d", 40), strings.Repeat("d", MaxRevisionLength+1), 1), "components[1].revision"},
		"platform":          {strings.Replace(s, strings.Repeat("a", 40), "a\\n", 1), "components[0].platforms[0].revision"},
		"wrong type":        {strings.Replace(s, `"`+strings.Repeat("d", 40)+`"`, `7`, 1), "revision"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeRelease([]byte(tt.doc), Expect{})
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasSuffix(fe.Field, tt.field) {
				t.Fatalf("got %v, want a FieldError naming %s", err, tt.field)
			}
		})
	}
}
