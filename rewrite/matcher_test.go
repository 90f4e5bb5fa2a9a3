package rewrite

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// update rewrites the golden files under testdata/<format>/ instead of
// comparing against them: go test ./rewrite -update.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// testRepos maps each managed repository of the storage service to its
// component, as a release of storage-service would.
var testRepos = func() map[string]string {
	m := map[string]string{}
	for _, svc := range strings.Fields(`bags_api ingests_api ingests_indexer ingests_tracker ingests_worker
		notifier bag_versioner bag_register bag_tagger bag_replicator bag_root_finder bag_tracker bag_verifier
		bag_unpacker bag_indexer file_finder file_indexer replica_aggregator`) {
		m["public.ecr.aws/y1p3h6z3/"+svc] = svc
	}
	m["public.ecr.aws/l7a1d1z4/fluentbit"] = "fluentbit"
	m["public.ecr.aws/l7a1d1z4/nginx_apigw"] = "nginx_apigw"
	return m
}()

// testRepoFor returns the managed repository of a component.
func testRepoFor(component string) string {
	for repo, c := range testRepos {
		if c == component {
			return repo
		}
	}
	return "registry.example.com/unknown/" + component
}

// testMatcher is the Matcher the rewriter tests share. It behaves like the
// consumer workflow's matcher: a whole reference (repository with an
// explicit registry, optional :tag, optional @sha256:<64 hex>, nothing else)
// whose repository is managed matches; a string that holds a managed
// repository without being such a reference mentions it.
type testMatcher struct{}

var _ Matcher = testMatcher{}

// Match parses s with go-containerregistry's strict rules and looks its
// repository up.
func (testMatcher) Match(s string) (string, bool) {
	repo, ok := testParseRepo(s)
	if !ok {
		return "", false
	}
	c, ok := testRepos[repo]
	return c, ok
}

// testParseRepo returns the repository of a whole image reference.
func testParseRepo(s string) (string, bool) {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return "", false
	}
	if ref, err := name.ParseReference(s, name.StrictValidation); err == nil {
		if d, ok := ref.(name.Digest); ok && !strings.HasPrefix(d.DigestStr(), "sha256:") {
			return "", false
		}
		return ref.Context().Name(), true
	}
	// Strict validation insists on a tag; a bare repository is a reference too.
	if r, err := name.NewRepository(s, name.StrictValidation); err == nil {
		return r.Name(), true
	}
	return "", false
}

// Mentions reports a managed repository inside a string that is not itself
// a whole managed reference: the full repository, or `/<component>` followed
// by ':' or '@' or at the end when the string interpolates something.
func (m testMatcher) Mentions(s string) (string, bool) {
	if _, ok := m.Match(s); ok {
		return "", false
	}
	for repo, c := range testRepos {
		if strings.Contains(s, repo) {
			return c, true
		}
	}
	for _, c := range testRepos {
		last := "/" + c
		if strings.Contains(s, last+":") || strings.Contains(s, last+"@") ||
			(strings.HasSuffix(s, last) && strings.Contains(s, "${")) {
			return c, true
		}
	}
	return "", false
}

// testDigest is the digest the golden files pin every reference to.
const testDigest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// testNewValue is what `pin update` would write into a reference: the
// repository pinned by digest for a whole reference, and the matching part
// for a marked repo, tag or digest value.
func testNewValue(r Ref) string {
	switch r.Field {
	case FieldRepo:
		return testRepoFor(r.Component)
	case FieldTag:
		return "1.5.0"
	case FieldDigest:
		return testDigest
	}
	return testRepoFor(r.Component) + "@" + testDigest
}

// testEdits turns every reference of res into an edit with newFor's value
// (testNewValue when newFor is nil).
func testEdits(res *Result, newFor func(Ref) string) []Edit {
	if newFor == nil {
		newFor = testNewValue
	}
	var edits []Edit
	for _, r := range res.Refs {
		edits = append(edits, Edit{Start: r.Start, End: r.End, New: newFor(r)})
	}
	return edits
}

// renderScan prints what a scan found, one reference or warning a line,
// or the error.
func renderScan(res *Result, err error) []byte {
	var b bytes.Buffer
	if err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
		return b.Bytes()
	}
	for _, r := range res.Refs {
		marker := ""
		if r.Marker {
			marker = " (marker)"
		}
		if r.Image != "" {
			marker = fmt.Sprintf(" (of split image %s)", r.Image)
		}
		fmt.Fprintf(&b, "ref %d:%d [%d,%d) %s %s%s %q\n", r.Line, r.Column, r.Start, r.End, r.Component, r.Field, marker, r.Value)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(&b, "warning %d %s %q: %s\n  hint: %s\n", w.Line, w.Component, w.Value, w.Message, w.Hint)
	}
	return b.Bytes()
}

// goldenScan scans testdata/<format>/<file> with scan and compares two
// golden files next to it: <name>.scan.txt (the references and warnings,
// or the error) and <name>.out.<ext> (<name>.out.txt for a name without
// an extension, such as Dockerfile; the file with every reference
// replaced by testNewValue, exactly what `pin update` would write; absent
// when the scan fails). With -update it writes them instead.
func goldenScan(t *testing.T, format, file string, scan func(string, []byte, Matcher) (*Result, error)) {
	t.Helper()
	in := filepath.Join("testdata", format, file)
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	res, serr := scan(in, data, testMatcher{})
	base, ext := file, ""
	if i := strings.IndexByte(file, '.'); i > 0 {
		base, ext = file[:i], file[i:]
	}
	files := map[string][]byte{filepath.Join("testdata", format, base+".scan.txt"): renderScan(res, serr)}
	if ext == "" {
		ext = ".txt" // a bare "x.out" would match the repository's .gitignore
	}
	outPath := filepath.Join("testdata", format, base+".out"+ext)
	if serr == nil {
		out, err := Apply(data, testEdits(res, nil))
		if err != nil {
			t.Fatalf("%s: apply: %v", in, err)
		}
		files[outPath] = out
	}
	for path, got := range files {
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./rewrite -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", in, path, got, want)
		}
	}
}

// goldenInputs lists the inputs under testdata/<format>, leaving out the
// golden files themselves.
func goldenInputs(t testing.TB, format string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("testdata", format))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasSuffix(n, ".scan.txt") || strings.Contains(n, ".out.") || strings.HasSuffix(n, ".out") {
			continue
		}
		names = append(names, n)
	}
	return names
}

// checkSpliced asserts that out is data with only the spans of edits
// replaced: every byte between and around the spans is unchanged.
func checkSpliced(t *testing.T, data, out []byte, edits []Edit) {
	t.Helper()
	prevIn, prevOut := 0, 0
	for _, e := range sortedEdits(edits) {
		gap := e.Start - prevIn
		if prevOut+gap > len(out) || !bytes.Equal(data[prevIn:e.Start], out[prevOut:prevOut+gap]) {
			t.Fatalf("bytes before edit [%d,%d) changed", e.Start, e.End)
		}
		prevOut += gap
		if !strings.HasPrefix(string(out[prevOut:]), e.New) {
			t.Fatalf("edit [%d,%d) not written", e.Start, e.End)
		}
		prevOut += len(e.New)
		prevIn = e.End
	}
	if !bytes.Equal(data[prevIn:], out[prevOut:]) {
		t.Fatalf("bytes after the last edit changed")
	}
}

// sortedEdits returns edits ordered by start.
func sortedEdits(edits []Edit) []Edit {
	es := append([]Edit(nil), edits...)
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].Start < es[j-1].Start; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
	return es
}

func TestTestMatcher(t *testing.T) {
	tests := []struct {
		s        string
		match    string
		mentions string
	}{
		{s: "public.ecr.aws/y1p3h6z3/bags_api:latest", match: "bags_api"},
		{s: "public.ecr.aws/y1p3h6z3/bags_api", match: "bags_api"},
		{s: "public.ecr.aws/y1p3h6z3/bags_api@" + testDigest, match: "bags_api"},
		{s: "public.ecr.aws/y1p3h6z3/bags_api:env.stage@" + testDigest, match: "bags_api"},
		{s: "public.ecr.aws/l7a1d1z4/nginx_apigw:0123", match: "nginx_apigw"},
		{s: "public.ecr.aws/y1p3h6z3/bags_api@sha256:abc", mentions: "bags_api"},
		{s: "public.ecr.aws/y1p3h6z3/bags_api:${var.tag}", mentions: "bags_api"},
		{s: "${var.registry}/bags_api:latest", mentions: "bags_api"},
		{s: "${var.registry}/bags_api", mentions: "bags_api"},
		{s: "run public.ecr.aws/y1p3h6z3/bags_api:latest now", mentions: "bags_api"},
		{s: "example.com/bags_api:latest", mentions: "bags_api"},
		{s: "public.ecr.aws/y1p3h6z3/other:latest"},
		{s: "bags_api"},
		{s: "latest"},
		{s: ""},
	}
	for _, tt := range tests {
		c, ok := testMatcher{}.Match(tt.s)
		if c != tt.match || ok != (tt.match != "") {
			t.Errorf("Match(%q) = %q, %v; want %q", tt.s, c, ok, tt.match)
		}
		c, ok = testMatcher{}.Mentions(tt.s)
		if c != tt.mentions || ok != (tt.mentions != "") {
			t.Errorf("Mentions(%q) = %q, %v; want %q", tt.s, c, ok, tt.mentions)
		}
	}
}
