package pin

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/fuzzseed"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/rewrite"
)

// fuzzPubPEM is a fixed public key (its private half was thrown away), so
// that the committed seeds do not change each time they are written.
const fuzzPubPEM = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8YVwEnrE1WvoHPB6kRldK6d3oOOf
IU2DqvE/Z2W5QWqynldXHvPsrJW6YXveY3Gviw//0kWj4+U07Dj9WjHWdg==
-----END PUBLIC KEY-----
`

// fuzzConfigDir is a directory holding release.pub, the key file the seed
// configs name.
func fuzzConfigDir(f *testing.F) string {
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "release.pub"), []byte(fuzzPubPEM), 0o644); err != nil {
		f.Fatal(err)
	}
	return dir
}

// FuzzParseConfig loads arbitrary bytes as pin.yaml. It never panics; every
// error names the file and a line of it (each line of a multi-error
// message); and every config it accepts is valid (a channel name, a style,
// globs that compile) and survives Encode, the pin.yaml `pin init` writes:
// parsing the encoded config gives the same config.
func FuzzParseConfig(f *testing.F) {
	dir := fuzzConfigDir(f)
	base := Config{Source: "oci://127.0.0.1:5000/storage/releases", Product: "storage-service", Channel: "stable",
		Keys: []string{"release.pub"}, Files: DefaultFiles, Style: StyleDigest}
	inline := base
	inline.Source, inline.Channel, inline.Constraint, inline.Style = "../releases", "edge", "~1.5", StyleTagDigest
	inline.Keys = []string{fuzzPubPEM, "release.pub"}
	inline.Files = []string{"infra/**/*.tf", "k8s/*.yaml", "Dockerfile"}
	inline.RegistryMap = map[string]string{"public.ecr.aws/y1p3h6z3": "127.0.0.1:5000/mirror/storage"}
	fuzzseed.Add(f,
		base.Encode(), inline.Encode(),
		[]byte("source: x\nproduct: p\nchannel: stable\nkeys: [release.pub]\nsourc: y\n"),
		[]byte("source: x\nproduct: p\nchannel: [stable]\nkeys: release.pub\n"),
		[]byte("a: &a [*a]\n"),
		[]byte("keys:\n  - |\n    -----BEGIN PUBLIC KEY-----\n    nope\n    -----END PUBLIC KEY-----\n"),
	)
	path := filepath.Join(dir, "pin.yaml")
	fileLine := regexp.MustCompile("^" + regexp.QuoteMeta(path) + `:[1-9][0-9]*: `)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(path, b)
		if err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				if !fileLine.MatchString(l) {
					t.Fatalf("error line %q does not start with %s:<line>", l, path)
				}
			}
			return
		}
		if channels.ValidName(c.Channel) != nil || (c.Style != StyleDigest && c.Style != StyleTagDigest) || len(c.Files) == 0 || len(c.Keys) == 0 {
			t.Fatalf("accepted an invalid config: %+v", c)
		}
		w := *c
		w.Source = c.SourceAsWritten
		enc := w.Encode()
		again, err := ParseConfig(path, enc)
		if err != nil {
			t.Fatalf("the config pin init would write does not load: %v\n%s", err, enc)
		}
		normKeys := func(ks []string) []string {
			out := make([]string, len(ks))
			for i, k := range ks {
				if strings.Contains(k, "\n") {
					k = strings.TrimRight(k, "\n") + "\n"
				}
				out[i] = k
			}
			return out
		}
		if again.Source != c.Source || again.SourceAsWritten != c.SourceAsWritten || again.Product != c.Product || again.Channel != c.Channel ||
			again.Constraint != c.Constraint || again.Style != c.Style || !reflect.DeepEqual(again.Files, c.Files) ||
			!reflect.DeepEqual(normKeys(again.Keys), normKeys(c.Keys)) || len(again.RegistryMap) != len(c.RegistryMap) {
			t.Fatalf("config changed across encode and parse:\n%+v\n%+v\n%s", c, again, enc)
		}
		for k, v := range c.RegistryMap {
			if again.RegistryMap[k] != v {
				t.Fatalf("registryMap %q: %q, was %q", k, again.RegistryMap[k], v)
			}
		}
	})
}

// FuzzLoadLock loads arbitrary bytes as pin.lock. It never panics; a
// refusal is a usage error (exit 2) naming the file; and a lock it accepts
// encodes to bytes that load to a lock encoding to the same bytes.
func FuzzLoadLock(f *testing.F) {
	rel := fuzzseed.Files(f, filepath.Join("..", "manifest", "testdata"), fuzzseed.Suffix("release.json"))[0]
	l := &Lock{SchemaVersion: LockSchemaVersion, Source: "oci://127.0.0.1:5000/storage/releases", Product: "storage-service", Channel: "edge",
		Channels:       map[string]LockedIndex{"edge": {Sequence: 7, Digest: manifest.Digest([]byte("edge"))}, "stable": {Sequence: 3, Digest: manifest.Digest([]byte("stable"))}},
		Version:        "1.5.0-edge.2",
		ReleaseChannel: "edge", ManifestDigest: manifest.Digest(rel), Manifest: string(rel), Signature: "MEUCIQDx",
		References: []LockedReference{
			{File: "main.tf", Line: 3, Component: "bags_api", Field: "ref", Old: "public.ecr.aws/y1p3h6z3/bags_api:latest", New: "public.ecr.aws/y1p3h6z3/bags_api@" + manifest.Digest([]byte("b"))},
			{File: "k8s/deploy.yaml", Line: 12, Component: "notifier", Field: "tag", Old: "latest", New: "1.5.0-edge.2"},
		}}
	good, err := l.Encode()
	if err != nil {
		f.Fatal(err)
	}
	fuzzseed.Add(f, good,
		[]byte(strings.Replace(string(good), `"schemaVersion": 1`, `"schemaVersion": 2`, 1)),
		[]byte(strings.Replace(string(good), `"references": [`, `"extra": 1, "references": [`, 1)),
		[]byte(`{"schemaVersion":1,"manifestDigest":"sha256:`+strings.Repeat("0", 64)+`","references":null}`),
	)
	path := filepath.Join(f.TempDir(), "pin.lock")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		l, err := LoadLock(path)
		if err != nil {
			if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), path) {
				t.Fatalf("refusal is not a usage error naming %s: %v", path, err)
			}
			return
		}
		if l == nil || !manifest.ValidDigest(l.ManifestDigest) || l.SchemaVersion != LockSchemaVersion {
			t.Fatalf("accepted an invalid lock: %+v", l)
		}
		enc, err := l.Encode()
		if err != nil {
			t.Fatalf("a lock that loaded does not encode: %v", err)
		}
		if err := os.WriteFile(path, enc, 0o644); err != nil {
			t.Fatal(err)
		}
		again, err := LoadLock(path)
		if err != nil {
			t.Fatalf("the encoded lock does not load: %v\n%s", err, enc)
		}
		if enc2, err := again.Encode(); err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("lock bytes changed across load and encode (%v):\n%s\n%s", err, enc, enc2)
		}
	})
}

// fuzzMatcher matches the storage service's components, two of them
// mirrored (one renamed by the mirror), as `pin update` would.
func fuzzMatcher() (*Matcher, *manifest.Release, map[string]string) {
	rel := &manifest.Release{Version: "1.5.0"}
	for _, s := range []string{"bags_api", "ingests_api", "notifier", "bag_verifier"} {
		rel.Components = append(rel.Components, manifest.Component{Name: s, Repository: "public.ecr.aws/y1p3h6z3/" + s, Digest: manifest.Digest([]byte(s))})
	}
	rel.Components = append(rel.Components, manifest.Component{Name: "fluentbit", Repository: "public.ecr.aws/l7a1d1z4/fluentbit", Digest: manifest.Digest([]byte("f"))},
		manifest.Component{Name: "registry", Repository: "localhost:5000/library/registry", Digest: manifest.Digest([]byte("r"))})
	mirror := map[string]string{"public.ecr.aws/l7a1d1z4": "127.0.0.1:5000/mirror", "public.ecr.aws/y1p3h6z3/notifier": "mirror.example.com/storage/notify"}
	return NewMatcher(rel, mirror), rel, mirror
}

// FuzzMatcher checks the matcher, pin's reference parser, against
// go-containerregistry's. A match is a reference the parser accepts, whose
// repository (split off by rewrite.SplitRef) is the matched component's;
// every strictly valid reference naming its registry and a managed
// repository matches; a match is never also a mention; and whatever
// `pin update` writes for a match matches the same component again.
func FuzzMatcher(f *testing.F) {
	m, rel, mirror := fuzzMatcher()
	managed := map[string]string{}
	for _, c := range rel.Components {
		for _, r := range []string{c.Repository, m.Target(c.Name)} {
			repo, err := name.NewRepository(r, name.StrictValidation)
			if err != nil {
				f.Fatal(err)
			}
			managed[repo.Name()] = c.Name
		}
	}
	if len(mirror) == 0 || len(managed) != len(rel.Components)+2 {
		f.Fatalf("managed repositories %v", managed)
	}
	var seeds [][]byte
	for _, s := range []string{"public.ecr.aws/y1p3h6z3/bags_api:latest", "public.ecr.aws/y1p3h6z3/bags_api:1.5.0@" + manifest.Digest([]byte("x")),
		"mirror.example.com/storage/notify@" + manifest.Digest([]byte("x")), "127.0.0.1:5000/mirror/fluentbit:2", "localhost:5000/library/registry",
		"index.docker.io/library/ubuntu:24.04", "${var.registry}/bags_api:${var.tag}", "bags_api:latest", "public.ecr.aws/y1p3h6z3/bags_api_extra:1",
		"PUBLIC.ECR.AWS/y1p3h6z3/bags_api", "public.ecr.aws:443/y1p3h6z3/bags_api:x"} {
		seeds = append(seeds, []byte(s))
	}
	fuzzseed.Add(f, seeds...)
	f.Fuzz(func(t *testing.T, b []byte) {
		s := string(b)
		c, ok := m.Match(s)
		_, mentioned := m.Mentions(s)
		if !ok {
			if want, valid := oracleMatch(s, managed); valid {
				t.Fatalf("Match(%q) = false; it is a valid reference to %s", s, want)
			}
			return
		}
		if _, err := name.ParseReference(s, name.WeakValidation); err != nil {
			t.Fatalf("Match(%q) = %s, but it does not parse: %v", s, c, err)
		}
		repo, _, _ := rewrite.SplitRef(s)
		if got, ok := m.Component(repo); !ok || got != c {
			t.Fatalf("Match(%q) = %s, but its repository %q is %q (%v)", s, c, repo, got, ok)
		}
		if mentioned {
			t.Fatalf("%q both matches and is mentioned", s)
		}
		comp, _ := rel.Component(c)
		for _, style := range []string{StyleDigest, StyleTagDigest} {
			for _, field := range []rewrite.Field{rewrite.FieldRef, rewrite.FieldRepo} {
				nv := NewValue(field, m.Target(c), comp, rel.Version, style)
				if got, ok := m.Match(nv); !ok || got != c {
					t.Fatalf("pin writes %q for %q, which matches %q (%v), not %s", nv, s, got, ok, c)
				}
			}
		}
	})
}

// oracleMatch is an independent statement of which strings are managed
// references: go-containerregistry's strict parser accepts them, they
// name their registry, hold no quoting or interpolation characters, and
// their repository is managed.
func oracleMatch(s string, managed map[string]string) (string, bool) {
	if len(s) > 512 || strings.ContainsAny(s, " \t\r\n\"'${}") {
		return "", false
	}
	i := strings.IndexByte(s, '/')
	if i < 0 || (!strings.ContainsAny(s[:i], ".:") && s[:i] != "localhost") {
		return "", false
	}
	ref, err := name.ParseReference(s, name.StrictValidation)
	if err != nil {
		return "", false
	}
	c, ok := managed[ref.Context().Name()]
	return c, ok
}

// updatePaths are the file names FuzzUpdateSplice scans its input as,
// chosen by the input's first byte.
var updatePaths = []string{"main.tf", "task.json", "values.yaml", "Dockerfile"}

// FuzzUpdateSplice is the rewrite contract with pin's own matcher and the
// values `pin update` writes (both styles, mirrors applied): the input's
// first byte picks the format (bits 0-1) and style (bit 2), the rest is the
// file. Scanning never panics and refuses only with a *rewrite.ParseError
// naming the file; replacing every reference changes only the bytes in the
// spans; the result scans to the new values exactly at the new spans; and
// a second update changes nothing.
func FuzzUpdateSplice(f *testing.F) {
	var seeds [][]byte
	for sel, suffixes := range [][]string{{".tf", ".tfvars"}, {".json"}, {".yaml", ".yml"}, {"dockerfile"}} {
		roots := []string{filepath.Join("..", "rewrite", "testdata"), filepath.Join("..", "examples")}
		if sel%2 == 1 {
			roots = roots[:1] // the examples hold no JSON and no Dockerfile
		}
		for _, root := range roots {
			keep := fuzzseed.Suffix(suffixes...)
			for _, b := range fuzzseed.Files(f, root, func(rel string) bool { return keep(rel) && !strings.Contains(rel, "/fuzz/") }) {
				seeds = append(seeds, append([]byte{byte(sel | 4*(len(seeds)%2))}, b...))
			}
		}
	}
	fuzzseed.Add(f, seeds...)
	m, rel, _ := fuzzMatcher()
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		path, style, data := updatePaths[in[0]&3], StyleDigest, in[1:]
		if in[0]&4 != 0 {
			style = StyleTagDigest
		}
		res, err := rewrite.Scan(path, data, m)
		if err != nil {
			var pe *rewrite.ParseError
			if !errors.As(err, &pe) || pe.File != path {
				t.Fatalf("refusal is not a parse error naming %s: %v", path, err)
			}
			return
		}
		for _, r := range res.Refs {
			if _, ok := rel.Component(r.Component); !ok {
				if !r.Marker {
					t.Fatalf("ref %+v names no component of the release", r)
				}
				return // a marker naming another component: pin refuses the update
			}
		}
		newValue := func(r rewrite.Ref) string {
			c, _ := rel.Component(r.Component)
			return NewValue(r.Field, m.Target(c.Name), c, rel.Version, style)
		}
		var edits []rewrite.Edit
		for _, r := range res.Refs {
			edits = append(edits, rewrite.Edit{Start: r.Start, End: r.End, New: newValue(r)})
		}
		out, err := rewrite.Apply(data, edits)
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		again, err := rewrite.Scan(path, out, m)
		if err != nil || len(again.Refs) != len(res.Refs) {
			t.Fatalf("rewritten file scans to %v refs (was %d), error %v\n%q", again, len(res.Refs), err, out)
		}
		prev, shift := 0, 0
		for i, r := range res.Refs {
			if !bytes.Equal(data[prev:r.Start], out[prev+shift:r.Start+shift]) {
				t.Fatalf("bytes before ref %d changed\n%q\n%q", i, data, out)
			}
			e, got := edits[i], again.Refs[i]
			start := r.Start + shift
			if got.Start != start || got.End != start+len(e.New) || got.Value != e.New || got.Component != r.Component || got.Field != r.Field {
				t.Fatalf("ref %d after the update is %+v, want %q at %d for %s\n%q", i, got, e.New, start, r.Component, out)
			}
			shift += len(e.New) - (r.End - r.Start)
			prev = r.End
		}
		if !bytes.Equal(data[prev:], out[prev+shift:]) {
			t.Fatalf("bytes after the last ref changed\n%q\n%q", data, out)
		}
		for i, r := range again.Refs {
			if v := newValue(r); v != r.Value {
				t.Fatalf("a second update would change ref %d from %q to %q", i, r.Value, v)
			}
		}
	})
}
