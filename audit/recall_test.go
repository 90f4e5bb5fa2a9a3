package audit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/rewrite"
)

// recallDir is the corpus of issue 18: one fixture per class of image
// reference pin used to miss or misread, and a copy of a multi-service
// repository's layout. testdata/recall/want.txt lists, per file, exactly
// the references an audit must find there: every one (recall) and nothing
// else (no false positives).
const recallDir = "../testdata/recall"

const recallHeader = `# Issue 18 corpus: every image reference pin audit --all must find (path:line<TAB>reference), and nothing else.
# Refresh with go test ./audit -run TestRecallCorpus -update, then read the diff: each line is a claim.
`

// recallLines renders found references as want.txt does: path:line<TAB>ref,
// with paths relative to the corpus.
func recallLines(t *testing.T, found []Found) []string {
	t.Helper()
	var out []string
	for _, f := range found {
		rel, err := filepath.Rel(recallDir, f.Source)
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%s:%d\t%s", filepath.ToSlash(rel), f.Line, f.Ref)
		if f.Field != "" {
			line += fmt.Sprintf("\t[%s %s]", f.Component, f.Field) // a marked field
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}

// formatOf names the format a corpus file is scored under in BENCHMARKS.md.
func formatOf(path string) string {
	switch f, _ := rewrite.FormatOf(path); f {
	case rewrite.FormatYAML:
		return "yaml"
	case rewrite.FormatHCL:
		return "terraform"
	case rewrite.FormatJSON:
		return "json"
	case rewrite.FormatDockerfile:
		return "dockerfile"
	}
	return "other"
}

// TestRecallCorpus walks the corpus as `pin audit --all` does and asserts
// that it finds exactly what want.txt lists; then names every file on its
// own and asserts the same references, so that walking and naming agree.
// It logs recall and false positives per format (BENCHMARKS.md).
func TestRecallCorpus(t *testing.T) {
	found, notes, err := ExtractPathsWith([]string{recallDir}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := recallLines(t, found)
	wantPath := filepath.Join(recallDir, "want.txt")
	if *update {
		if err := os.WriteFile(wantPath, []byte(recallHeader+strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(wantPath)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			want = append(want, l)
		}
	}
	sort.Strings(want)
	wantSet, gotSet := map[string]bool{}, map[string]bool{}
	for _, w := range want {
		wantSet[w] = true
	}
	for _, g := range got {
		gotSet[g] = true
	}
	type score struct{ want, found, fp int }
	scores := map[string]*score{}
	at := func(line string) *score {
		f := formatOf(line[:strings.LastIndexByte(line[:strings.IndexByte(line, '\t')], ':')])
		if scores[f] == nil {
			scores[f] = &score{}
		}
		return scores[f]
	}
	for _, w := range want {
		at(w).want++
		if gotSet[w] {
			at(w).found++
		} else {
			t.Errorf("missed: %s", w)
		}
	}
	for _, g := range got {
		if !wantSet[g] {
			at(g).fp++
			t.Errorf("false positive: %s", g)
		}
	}
	formats := make([]string, 0, len(scores))
	for f := range scores {
		formats = append(formats, f)
	}
	sort.Strings(formats)
	for _, f := range formats {
		s := scores[f]
		t.Logf("%-10s recall %d/%d, false positives %d", f, s.found, s.want, s.fp)
	}
	// The corpus's chart templates are passed over with a note, nothing else.
	for _, n := range notes {
		if n.Message != rewrite.TemplateMessage {
			t.Errorf("unexpected note %s", n)
		}
	}
	if len(notes) != 1 {
		t.Errorf("notes %v, want one for helm/redis/templates/deployment.yaml", notes)
	}

	// Named one by one, every file gives what the walk gave for it.
	byFile := map[string][]string{}
	for _, g := range got {
		f := g[:strings.LastIndexByte(g[:strings.IndexByte(g, '\t')], ':')]
		byFile[f] = append(byFile[f], g)
	}
	err = filepath.WalkDir(recallDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !wanted(d.Name()) {
			return err
		}
		fs, err := ExtractPaths([]string{p}, nil)
		if err != nil {
			t.Errorf("%s named: %v", p, err)
			return nil
		}
		rel, _ := filepath.Rel(recallDir, p)
		if g, w := strings.Join(recallLines(t, fs), "\n"), strings.Join(byFile[filepath.ToSlash(rel)], "\n"); g != w {
			t.Errorf("%s named finds\n%s\nwalked\n%s", rel, g, w)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAuditExamplesHasNoFalsePositives walks examples/ as `pin audit --all`
// does: every reference found must be an image reference the examples
// write as one (listed in testdata/recall/examples.txt).
func TestAuditExamplesHasNoFalsePositives(t *testing.T) {
	found, _, err := ExtractPathsWith([]string{"../examples"}, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	for _, f := range found {
		fmt.Fprintf(&b, "%s:%d\t%s\n", filepath.ToSlash(f.Source), f.Line, f.Ref)
	}
	path := filepath.Join(recallDir, "examples.txt")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("pin audit over examples/ found\n%s\nwant\n%s", b.Bytes(), want)
	}
}
