package rewrite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"gopkg.in/yaml.v3"

	"github.com/wellcomecollection/pin/internal/fuzzseed"
)

// The fuzz tests of this package check the rewriter contract on arbitrary
// input. For every file a scanner accepts:
//
//   - every reference's span lies in the file, holds its value, and its
//     Line and Column describe its start; spans are sorted and disjoint;
//   - the file parses with the format's own parser (hcl/v2, encoding/json,
//     yaml.v3; the Dockerfile scanner is its own parser);
//   - replacing every reference changes only the bytes inside the spans
//     (checkSpliced), and the result still parses with that parser;
//   - scanning the result finds the new values exactly at the new spans,
//     for the same components and fields, and replacing them again changes
//     nothing (a second `pin update` is a no-op).
//
// A file a scanner refuses must be refused with a *ParseError naming the
// file and a line inside it. Nothing may panic.

// rewriter is one format: its scanner, the name it is given, and the
// format's own parser, which knows nothing of pin.
type rewriter struct {
	path  string
	scan  func(string, []byte, Matcher) (*Result, error)
	parse func([]byte) error
}

var (
	hclRewriter = rewriter{path: "dir/main.tf", scan: ScanHCL, parse: func(b []byte) error {
		if _, diags := hclsyntax.ParseConfig(b, "main.tf", hcl.InitialPos); diags.HasErrors() {
			return diags
		}
		return nil
	}}
	jsonRewriter = rewriter{path: "dir/task.json", scan: ScanJSON, parse: func(b []byte) error {
		// UseNumber: 1e1000 is JSON, though no float64 holds it.
		dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if _, err := dec.Token(); err != io.EOF {
			return fmt.Errorf("data after the JSON value (%v)", err)
		}
		return nil
	}}
	yamlRewriter       = rewriter{path: "dir/values.yaml", scan: ScanYAML, parse: parseYAMLStream}
	dockerfileRewriter = rewriter{path: "dir/Dockerfile", scan: ScanDockerfile, parse: func(b []byte) error {
		_, err := ScanDockerfile("Dockerfile", b, testMatcher{})
		return err
	}}
)

// parseYAMLStream decodes every document of data, as pin's consumers would.
func parseYAMLStream(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// fuzzNewValue is what the fuzz tests write: testNewValue, except that
// every second whole reference gets the tag+digest style, so both styles
// pin writes are spliced and rescanned.
func fuzzNewValue() func(Ref) string {
	n := 0
	return func(r Ref) string {
		n++
		if r.Field == FieldRef && n%2 == 0 {
			return testRepoFor(r.Component) + ":1.5.0@" + testDigest
		}
		return testNewValue(r)
	}
}

// check is the property every rewriter's fuzz test asserts on data.
func (rw rewriter) check(t *testing.T, data []byte) {
	res, err := rw.scan(rw.path, data, testMatcher{})
	if err != nil {
		checkParseError(t, rw.path, data, err)
		return
	}
	checkRefs(t, data, res)
	if err := rw.parse(data); err != nil {
		t.Fatalf("the scanner accepted a file its format's parser refuses (%v):\n%q", err, data)
	}
	edits := testEdits(res, fuzzNewValue())
	out, err := Apply(data, edits)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	checkSpliced(t, data, out, edits)
	if err := rw.parse(out); err != nil {
		t.Fatalf("rewritten file no longer parses: %v\n%q", err, out)
	}
	again, err := rw.scan(rw.path, out, testMatcher{})
	if err != nil {
		t.Fatalf("rewritten file no longer scans: %v\n%q", err, out)
	}
	if len(again.Refs) != len(res.Refs) {
		t.Fatalf("rewritten file has %d refs, had %d\nbefore %q\nafter  %q", len(again.Refs), len(res.Refs), data, out)
	}
	shift := 0
	for i, r := range res.Refs {
		e, got := edits[i], again.Refs[i]
		want := Ref{Start: r.Start + shift, End: r.Start + shift + len(e.New), Value: e.New, Component: r.Component, Field: r.Field, Marker: r.Marker}
		want.Line, want.Column = lineCol(out, want.Start)
		if r.Image != "" && got.Image != "" {
			want.Image = got.Image // a split image is recomposed from its rewritten fields
		}
		if got != want {
			t.Fatalf("ref %d after the rewrite is %+v, want %+v\n%q", i, got, want, out)
		}
		shift += len(e.New) - (r.End - r.Start)
	}
	if len(again.Warnings) != len(res.Warnings) {
		t.Fatalf("the rewrite changed the warnings: %+v, were %+v\n%q", again.Warnings, res.Warnings, out)
	}
	twice, err := Apply(out, testEdits(again, fuzzNewValue()))
	if err != nil {
		t.Fatalf("apply again: %v", err)
	}
	if !bytes.Equal(twice, out) {
		t.Fatalf("a second update changed the file:\n%q\n%q", out, twice)
	}
}

// checkParseError: a refusal is a *ParseError naming the file and a line
// that exists.
func checkParseError(t *testing.T, path string, data []byte, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error is not a *ParseError: %v", err)
	}
	lines := 1 + bytes.Count(data, []byte("\n"))
	// Only a parser that panicked (recovered) cannot say where it failed.
	recovered := pe.Line == 0 && strings.Contains(pe.Msg, "parser failed")
	if pe.File != path || (pe.Line < 1 && !recovered) || pe.Line > lines {
		t.Fatalf("parse error %q names %s:%d; the file is %s with %d lines", err, pe.File, pe.Line, path, lines)
	}
	if !strings.HasPrefix(err.Error(), path+":") {
		t.Fatalf("parse error %q does not start with the file name", err)
	}
}

// checkRefs: spans sorted, disjoint, inside the file, holding their values,
// at the Line and Column they claim; warnings on lines of the file.
func checkRefs(t *testing.T, data []byte, res *Result) {
	t.Helper()
	prevEnd := 0
	for _, r := range res.Refs {
		if r.Start < prevEnd || r.End < r.Start || r.End > len(data) {
			t.Fatalf("ref %+v: span out of order, overlapping or outside the file (%d bytes)", r, len(data))
		}
		prevEnd = r.End
		if got := string(data[r.Start:r.End]); got != r.Value {
			t.Fatalf("ref %+v: span holds %q, not its value", r, got)
		}
		if l, c := lineCol(data, r.Start); l != r.Line || c != r.Column {
			t.Fatalf("ref %+v: Start is at %d:%d", r, l, c)
		}
		if _, ok := ParseField(string(r.Field)); !ok || r.Component == "" {
			t.Fatalf("ref %+v: no component or an unknown field", r)
		}
	}
	lines := 1 + bytes.Count(data, []byte("\n"))
	for _, w := range res.Warnings {
		if w.Line < 1 || w.Line > lines || w.Component == "" || w.Message == "" {
			t.Fatalf("warning %+v: not on a line of the file (%d lines), or says nothing", w, lines)
		}
	}
}

// rewriteSeeds are the seed inputs of one format: every input and golden
// output under testdata/<format>/, and the repository's examples in it.
func rewriteSeeds(f *testing.F, format string, exampleSuffixes ...string) [][]byte {
	seeds := fuzzseed.Files(f, filepath.Join("testdata", format), func(rel string) bool { return !strings.HasSuffix(rel, ".scan.txt") })
	if len(exampleSuffixes) > 0 {
		seeds = append(seeds, fuzzseed.Files(f, filepath.Join("..", "examples"), fuzzseed.Suffix(exampleSuffixes...))...)
	}
	return seeds
}

func FuzzScanHCL(f *testing.F) {
	fuzzseed.Add(f, rewriteSeeds(f, "hcl", ".tf", ".tfvars")...)
	fuzzseed.Add(f,
		[]byte("x = \"public.ecr.aws/y1p3h6z3/bags_api:latest\" # pin:bags_api:ref\n"),
		[]byte("repository = \"public.ecr.aws/y1p3h6z3/notifier\" # pin:notifier:repo\ntag = \"latest\" # pin:notifier:tag\ndigest = \"\" // pin:notifier:digest\n"),
		[]byte("m = { a = [\"public.ecr.aws/y1p3h6z3/bag_tagger:a\", \"x\"], b = \"public.ecr.aws/y1p3h6z3/bag_tracker@"+testDigest+"\" }\n"),
	)
	f.Fuzz(func(t *testing.T, data []byte) { hclRewriter.check(t, data) })
}

func FuzzScanJSON(f *testing.F) {
	fuzzseed.Add(f, rewriteSeeds(f, "json")...)
	fuzzseed.Add(f,
		[]byte(`{"a":["public.ecr.aws/y1p3h6z3/bags_api:latest",{"b":"x\"y"}]}`),
		[]byte("\xef\xbb\xbf[\"public.ecr.aws/l7a1d1z4/nginx_apigw:1\", \"public.ecr.aws/y1p3h6z3/notifier\\u0041\"]"),
	)
	f.Fuzz(func(t *testing.T, data []byte) { jsonRewriter.check(t, data) })
}

func FuzzScanYAML(f *testing.F) {
	fuzzseed.Add(f, rewriteSeeds(f, "yaml", ".yaml", ".yml")...)
	fuzzseed.Add(f,
		[]byte("a: &x public.ecr.aws/y1p3h6z3/bags_api:latest\nb: *x\nc: 'public.ecr.aws/y1p3h6z3/notifier:1' # pin:notifier:ref\n---\n- {image: \"public.ecr.aws/y1p3h6z3/bag_tagger\"}\n"),
	)
	f.Fuzz(func(t *testing.T, data []byte) { yamlRewriter.check(t, data) })
}

func FuzzScanDockerfile(f *testing.F) {
	fuzzseed.Add(f, rewriteSeeds(f, "dockerfile")...)
	fuzzseed.Add(f,
		[]byte("ARG B=\"public.ecr.aws/y1p3h6z3/bags_api:latest\"\nFROM ${B} AS x\nCOPY --from=x / /\n"),
		[]byte("# escape=`\nFROM --platform=$BUILDPLATFORM `\n  public.ecr.aws/y1p3h6z3/notifier:1 AS b\nCOPY --from=public.ecr.aws/y1p3h6z3/bag_tagger:2 / /\n"),
	)
	f.Fuzz(func(t *testing.T, data []byte) { dockerfileRewriter.check(t, data) })
}

// FuzzSplitRef checks SplitRef, which pin and audit use to take a reference
// apart, against go-containerregistry's parser: the parts always put back
// together into the input, and for every reference the parser accepts they
// are the parser's repository, tag and digest.
func FuzzSplitRef(f *testing.F) {
	fuzzseed.Add(f,
		[]byte("public.ecr.aws/y1p3h6z3/bags_api:latest"),
		[]byte("public.ecr.aws/y1p3h6z3/bags_api:1.5.0@"+testDigest),
		[]byte("public.ecr.aws/y1p3h6z3/bags_api@"+testDigest),
		[]byte("localhost:5000/storage/bags_api"),
		[]byte("127.0.0.1:5000/a/b:c@sha256:abc"),
		[]byte("ubuntu"),
		[]byte("a/b@c:d"),
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		s := string(b)
		repo, tag, digest := SplitRef(s)
		at := ""
		if strings.Contains(s, "@") {
			at = "@" + digest
		}
		if s != repo+":"+tag+at && (tag != "" || s != repo+at) {
			t.Fatalf("SplitRef(%q) = %q, %q, %q: the parts do not put back together", s, repo, tag, digest)
		}
		if strings.Contains(repo, "@") || strings.Contains(tag, "@") || strings.Contains(tag, "/") {
			t.Fatalf("SplitRef(%q) = %q, %q, %q: separator left in a part", s, repo, tag, digest)
		}
		ref, err := name.ParseReference(s, name.WeakValidation)
		if err != nil {
			return
		}
		r, err := name.NewRepository(repo, name.WeakValidation)
		if err != nil || r.Name() != ref.Context().Name() {
			t.Fatalf("SplitRef(%q) repository %q (%v); the parser says %q", s, repo, err, ref.Context().Name())
		}
		switch ref := ref.(type) {
		case name.Tag:
			if digest != "" || (tag != ref.TagStr() && !(tag == "" && ref.TagStr() == name.DefaultTag)) {
				t.Fatalf("SplitRef(%q) = tag %q digest %q; the parser says tag %q", s, tag, digest, ref.TagStr())
			}
		case name.Digest:
			if digest != ref.DigestStr() {
				t.Fatalf("SplitRef(%q) digest %q; the parser says %q", s, digest, ref.DigestStr())
			}
		}
	})
}
