package audit

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// revisionOf is the source revision test release v was built from.
func revisionOf(v string) string {
	return strings.Repeat(strings.ReplaceAll(v, ".", "")[1:], 20)[:40]
}

func TestEvaluateTagsAndModuleRefs(t *testing.T) {
	cat := testCatalog(t)
	for _, r := range cat.Releases {
		r.Release.Source.Revision = revisionOf(r.Version)
	}
	const tag = ":ref.3f2b8a1c9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f70"
	notifier, nginx, bags := ecrY+"notifier"+tag, ecrL+"nginx_apigw"+tag, ecrY+"bags_api"+tag
	cat.TagDigest = map[string]string{
		notifier: d("notifier 1.5.0"),
		nginx:    d("nginx_apigw 1.3.0"),
		bags:     d("something pushed over the tag"),
	}
	tests := []struct {
		name     string
		found    Found
		status   Status
		releases []string
		reason   string
	}{
		{"tag resolving to the newest release's digest", ref(ecrY+"notifier", tag), StatusCurrent, []string{"1.5.0"}, "by tag ref.3f2b"},
		{"tag resolving to an older release's digest", ref(ecrL+"nginx_apigw", tag), StatusOutdated, []string{"1.3.0", "1.4.0", "1.4.1"}, "by tag ref.3f2b"},
		{"tag moved", ref(ecrY+"bags_api", tag), StatusMovedTag, nil, "now resolves to " + d("something pushed over the tag")},
		{"tag no release recorded", ref(ecrY+"bags_api", ":latest"), StatusUnpinned, nil, ""},
		{"module ref, full revision", Found{Source: "main.tf", Line: 2, Ref: revisionOf("1.5.0"), Field: FieldModuleRef}, StatusCurrent, []string{"1.5.0"}, "module ref"},
		{"module ref, short revision", Found{Source: "main.tf", Line: 2, Ref: revisionOf("1.4.0")[:7], Field: FieldModuleRef}, StatusOutdated, []string{"1.4.0"}, "module ref"},
		{"module ref no release was built from", Found{Source: "main.tf", Line: 2, Ref: "b601f2a", Field: FieldModuleRef}, StatusUnknownDigest, nil, "no release on the channel was built from b601f2a"},
		{"module ref too short to name a commit", Found{Source: "main.tf", Line: 2, Ref: revisionOf("1.5.0")[:4], Field: FieldModuleRef}, StatusUnknownDigest, nil, "no release"},
		{"module without a ref", Found{Source: "main.tf", Line: 2, Ref: "", Field: FieldModuleRef}, StatusUnpinned, nil, "default branch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Evaluate([]Found{tt.found}, cat, true)
			if len(rep.Findings) != 1 {
				t.Fatalf("%d findings", len(rep.Findings))
			}
			f := rep.Findings[0]
			if f.Status != tt.status || !reflect.DeepEqual(f.Releases, tt.releases) || !strings.Contains(f.Reason, tt.reason) {
				t.Errorf("got %s %v reason %q, want %s %v reason containing %q", f.Status, f.Releases, f.Reason, tt.status, tt.releases, tt.reason)
			}
		})
	}
	rep := Evaluate([]Found{ref(ecrY+"bags_api", tag)}, cat, false)
	if got := rep.Failed([]string{"moved-tag"}); !reflect.DeepEqual(got, []string{"moved-tag"}) {
		t.Errorf("--fail-on moved-tag: failed %v", got)
	}
	rep = Evaluate([]Found{ref(ecrY+"notifier", tag), {Source: "main.tf", Line: 2, Ref: revisionOf("1.5.0"), Field: FieldModuleRef}}, cat, false)
	if !rep.Summary.Consistent || rep.Summary.Version != "1.5.0" {
		t.Errorf("a verified tag and a module ref of 1.5.0: summary %+v, want consistent 1.5.0", rep.Summary)
	}
}

func TestTagsToVerify(t *testing.T) {
	cat := testCatalog(t)
	const tag = ":ref.3f2b8a1c9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f70"
	found := []Found{ref(ecrY+"notifier", tag), ref(ecrY+"notifier", tag), ref(ecrY+"bags_api", ":latest"),
		ref(ecrY+"bags_api", tag+"@"+d("x")), ref("docker.io/library/redis", tag)}
	if got := TagsToVerify(found, cat); !reflect.DeepEqual(got, []string{ecrY + "notifier" + tag}) {
		t.Errorf("TagsToVerify = %v", got)
	}
	// A release that recorded `latest` does not make latest verifiable: it
	// moves with every build, so it stays unpinned whatever it resolves to.
	for _, r := range cat.Releases {
		for i := range r.Release.Components {
			r.Release.Components[i].Tag = "latest"
		}
	}
	if got := TagsToVerify([]Found{ref(ecrY+"bags_api", ":latest")}, cat); len(got) != 0 {
		t.Errorf("TagsToVerify(latest) = %v, want none", got)
	}
	cat.TagDigest = map[string]string{ecrY + "bags_api:latest": d("bags_api 1.5.0")}
	if rep := Evaluate([]Found{ref(ecrY+"bags_api", ":latest")}, cat, false); rep.Findings[0].Status != StatusUnpinned || rep.Findings[0].Reason != "" {
		t.Errorf("latest recorded by a release: %+v, want unpinned without a reason", rep.Findings[0])
	}
}

func TestExtractDeploy(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("consumer/main.tf", "module \"demo_stack\" {\n  source = \"github.com/wellcomecollection/storage-service.git//demo/terraform/demo_stack?ref=b601f2a\"\n}\n")
	write("stack/stack.tf", "module \"stack\" {\n  app_containers = {\n    container_registry = \"public.ecr.aws/y1p3h6z3\"\n    container_tag = \"ref.1\"\n  }\n  logging_container = {\n    container_registry = \"public.ecr.aws/l7a1d1z4\"\n    container_name = \"fluentbit\"\n    container_tag = \"abc@sha256:"+strings.Repeat("0", 64)+"\"\n  }\n}\nlocals {\n  r = \"public.ecr.aws/y1p3h6z3\"\n}\n")
	write(".terraform/modules/x/main.tf", "locals {\n  r = \"public.ecr.aws/y1p3h6z3\"\n}\n")
	// The walk is pin update's (projectfiles.Walk): a symlink out of the
	// tree is not read, nor is a FIFO (reading one would block), while a
	// link to a file inside the tree is.
	outside := filepath.Join(t.TempDir(), "outside.tf")
	if err := os.WriteFile(outside, []byte("module \"out\" {\n  source = \"github.com/wellcomecollection/storage-service.git//x?ref=0000000\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "consumer", "escape.tf")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "consumer", "fifo.tf"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", "consumer", "main.tf"), filepath.Join(dir, "stack", "linked.tf")); err != nil {
		t.Fatal(err)
	}
	m := testProductMatcher{"public.ecr.aws/y1p3h6z3/bags_api": "bags_api", "public.ecr.aws/y1p3h6z3/notifier": "notifier", "public.ecr.aws/l7a1d1z4/fluentbit": "fluentbit"}
	found, notes, err := ExtractDeploy([]string{dir}, m, "github.com/wellcomecollection/storage-service")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range found {
		rel, _ := filepath.Rel(dir, f.Source)
		got = append(got, filepath.ToSlash(rel)+" "+f.Ref+" "+f.Field)
	}
	want := []string{
		"consumer/main.tf b601f2a module-ref",
		"stack/linked.tf b601f2a module-ref",
		"stack/stack.tf public.ecr.aws/y1p3h6z3/bags_api:ref.1 ",
		"stack/stack.tf public.ecr.aws/y1p3h6z3/notifier:ref.1 ",
		"stack/stack.tf public.ecr.aws/l7a1d1z4/fluentbit:abc@sha256:" + strings.Repeat("0", 64) + " ",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("found:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(notes) != 1 || notes[0].Line != 13 || notes[0].Component == "" || !strings.HasSuffix(notes[0].Source, "stack.tf") {
		t.Errorf("notes %+v, want one for the bare prefix at stack.tf:13", notes)
	}
}

type testProductMatcher map[string]string

func (m testProductMatcher) Component(repo string) (string, bool) { c, ok := m[repo]; return c, ok }
func (m testProductMatcher) Under(prefix string) []string {
	var out []string
	for repo, c := range m {
		if rest, ok := strings.CutPrefix(repo, prefix+"/"); ok && !strings.Contains(rest, "/") {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}
