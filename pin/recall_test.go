package pin

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/audit"
	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/projectfiles"
	"github.com/wellcomecollection/pin/rewrite"
)

// recallCorpus is issue 18's corpus (see audit's TestRecallCorpus).
const recallCorpus = "../testdata/recall"

// copyCorpus copies the corpus's files into dir.
func copyCorpus(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(recallCorpus, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(recallCorpus, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDefaultFilesReadWhatAuditReads: the default files: globs of pin
// update and check take exactly the files pin audit reads when it walks a
// directory, so that the two never see different files.
func TestDefaultFilesReadWhatAuditReads(t *testing.T) {
	names := []string{"Dockerfile", "Dockerfile.dev", "api.Dockerfile", "api.dockerfile", "Containerfile", "Containerfile.prod",
		"web.Containerfile", "main.tf", "prod.tfvars", "stack.tf.json", "values.yaml", "compose.yml", "package.json",
		"run.sh", "_helpers.tpl", "README.md", "Dockerfile.md.txt"}
	_ = filepath.WalkDir(recallCorpus, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, filepath.ToSlash(strings.TrimPrefix(p, recallCorpus+"/")))
		}
		return err
	})
	dir := t.TempDir()
	for _, n := range names {
		p := filepath.Join(dir, "sub", n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, _, err := FindFiles(dir, DefaultFiles)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, f := range files {
		listed[f.Rel] = true
	}
	for _, n := range names {
		rel := "sub/" + n
		_, audited := rewrite.FormatOf(n)
		audited = audited && !projectfiles.Own(filepath.Base(n))
		if listed[rel] != audited {
			t.Errorf("%s: listed by the default files: globs %v, read by pin audit %v", rel, listed[rel], audited)
		}
	}
}

// TestUpdateRecallCorpus runs pin update over the corpus and asserts that
// it manages exactly the product references pin audit finds there (one
// notion of an image for both), rewrites each byte-preservingly (a compose
// default inside ${VAR:-...}, a Helm chart's digest field, a # syntax=
// directive), and leaves a split image without a digest field to a warning
// that pin check reports as unpinned.
func TestUpdateRecallCorpus(t *testing.T) {
	f := newFixture(t)
	copyCorpus(t, f.dir)
	found, _, err := audit.ExtractPathsWith([]string{f.dir}, nil, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p1 := f.release("1.5.0", channels.Stable, "a")
	f.init(channels.Stable)
	m := NewMatcher(p1.Release, nil)
	var audited []string
	for _, fd := range found {
		repo, _, _ := rewrite.SplitRef(fd.Ref)
		if _, ok := m.Component(repo); ok && fd.Field == "" {
			rel, _ := filepath.Rel(f.dir, fd.Source)
			audited = append(audited, filepath.ToSlash(rel)+" "+fd.Ref)
		}
	}
	sort.Strings(audited)

	before := map[string]string{}
	for _, rel := range []string{"compose/docker-compose.yml", "helm/app/values.yaml", "dockerfile/product.Dockerfile"} {
		before[rel] = f.read(rel)
	}
	plan, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var managed []string
	for _, r := range plan.Refs {
		if !r.Marker {
			v := r.Value
			if r.Image != "" {
				v = r.Image
			}
			managed = append(managed, r.File+" "+v)
		}
	}
	for _, w := range plan.Warnings {
		if w.Message == "image split across fields has no digest field: not pinned" {
			managed = append(managed, w.File+" "+w.Value)
		}
	}
	sort.Strings(managed)
	if strings.Join(managed, "\n") != strings.Join(audited, "\n") {
		t.Errorf("pin update manages\n%s\npin audit finds\n%s", strings.Join(managed, "\n"), strings.Join(audited, "\n"))
	}
	if len(managed) < 10 {
		t.Fatalf("only %d product references in the corpus: %v", len(managed), managed)
	}

	bags, _ := p1.Release.Component("bags_api")
	notifier, _ := p1.Release.Component("notifier")
	verifier, _ := p1.Release.Component("bag_verifier")
	replaced := map[string][][2]string{
		"compose/docker-compose.yml": {
			{"${BAGS_API_IMAGE:-public.ecr.aws/y1p3h6z3/bags_api:1.4.0}", "${BAGS_API_IMAGE:-public.ecr.aws/y1p3h6z3/bags_api@" + bags.Digest + "}"},
			{"${NOTIFIER_IMAGE-public.ecr.aws/y1p3h6z3/notifier@sha256:1111111111111111111111111111111111111111111111111111111111111111}", "${NOTIFIER_IMAGE-public.ecr.aws/y1p3h6z3/notifier@" + notifier.Digest + "}"},
		},
		"helm/app/values.yaml": {
			{"    tag: latest\n    digest: \"\"\n", "    tag: latest\n    digest: \"" + bags.Digest + "\"\n"},
			{"tag: latest # pin:bag_verifier:tag", "tag: 1.5.0 # pin:bag_verifier:tag"}, // markers keep working
			{"digest: \"\" # pin:bag_verifier:digest", "digest: \"" + verifier.Digest + "\" # pin:bag_verifier:digest"},
		},
		"dockerfile/product.Dockerfile": {
			{"# syntax=public.ecr.aws/y1p3h6z3/notifier:frontend", "# syntax=public.ecr.aws/y1p3h6z3/notifier@" + notifier.Digest},
		},
	}
	for rel, reps := range replaced {
		want := before[rel]
		for _, r := range reps {
			if !strings.Contains(want, r[0]) {
				t.Fatalf("%s does not hold %q", rel, r[0])
			}
			want = strings.Replace(want, r[0], r[1], 1)
		}
		if got := f.read(rel); got != want {
			t.Errorf("%s after update:\n%s\nwant:\n%s", rel, got, want)
		}
	}

	res, err := Check(context.Background(), f.cfg, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var unpinned []string
	for _, fd := range res.Findings {
		unpinned = append(unpinned, fd.Kind+" "+fd.File+" "+fd.Found)
	}
	if want := "unpinned helm/app/values.yaml public.ecr.aws/y1p3h6z3/notifier:latest"; strings.Join(unpinned, "\n") != want {
		t.Errorf("check after update: %v, want only %q", unpinned, want)
	}
}
