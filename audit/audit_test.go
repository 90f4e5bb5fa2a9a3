package audit

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/rewrite"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/golden")

const (
	ecrY = "public.ecr.aws/y1p3h6z3/"
	ecrL = "public.ecr.aws/l7a1d1z4/"
)

// d is the digest a test build of component at version has; the fixtures in
// testdata/inputs were written with the same digests.
func d(s string) string { return manifest.Digest([]byte(s)) }

// builtAt says, for each release, at which version each component was last
// built: unchanged components keep their digest across releases.
var builtAt = []struct {
	version string
	yanked  string
	comps   map[string]string
}{
	{"1.3.0", "", map[string]string{"bags_api": "1.3.0", "ingests_api": "1.3.0", "notifier": "1.3.0", "fluentbit": "1.3.0", "nginx_apigw": "1.3.0"}},
	{"1.4.0", "", map[string]string{"bags_api": "1.4.0", "ingests_api": "1.4.0", "notifier": "1.3.0", "fluentbit": "1.3.0", "nginx_apigw": "1.3.0"}},
	{"1.4.1", "ingests_api drops callbacks", map[string]string{"bags_api": "1.4.0", "ingests_api": "1.4.1", "notifier": "1.3.0", "fluentbit": "1.3.0", "nginx_apigw": "1.3.0"}},
	{"1.5.0", "", map[string]string{"bags_api": "1.5.0", "ingests_api": "1.5.0", "notifier": "1.5.0", "fluentbit": "1.3.0", "nginx_apigw": "1.5.0"}},
}

func repoOf(comp string) string {
	if comp == "fluentbit" || comp == "nginx_apigw" {
		return ecrL + comp
	}
	return ecrY + comp
}

// testCatalog builds the storage-service catalog of stable releases 1.3.0,
// 1.4.0, 1.4.1 (yanked) and 1.5.0, whose bags_api is a multi-platform index.
func testCatalog(t testing.TB) *Catalog {
	t.Helper()
	cat := &Catalog{Product: "storage-service", Channel: "stable", Newest: "1.5.0"}
	repos := map[string]string{}
	for _, b := range builtAt {
		rel := &manifest.Release{
			SchemaVersion: manifest.SchemaVersion, Kind: manifest.KindRelease, Product: "storage-service",
			Version: b.version, Created: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
			Source: manifest.Source{Repository: "https://github.com/wellcomecollection/storage-service"},
		}
		for comp, at := range b.comps {
			c := manifest.Component{Name: comp, Repository: repoOf(comp), Tag: "ref.3f2b8a1c9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f70",
				Digest: d(comp + " " + at), MediaType: "application/vnd.oci.image.manifest.v1+json"}
			if comp == "bags_api" {
				c.MediaType = "application/vnd.oci.image.index.v1+json"
				c.Platforms = []manifest.Platform{
					{OS: "linux", Architecture: "amd64", Digest: d(comp + " " + at + " linux/amd64")},
					{OS: "linux", Architecture: "arm64", Digest: d(comp + " " + at + " linux/arm64")},
				}
			}
			rel.Components = append(rel.Components, c)
			repos[c.Repository] = comp
		}
		if _, err := rel.Encode(); err != nil {
			t.Fatalf("test release %s: %v", b.version, err)
		}
		cat.Releases = append(cat.Releases, CatalogRelease{Version: b.version, Channel: "stable",
			Yanked: b.yanked != "", Reason: b.yanked, Release: rel})
	}
	cat.Component = func(repo string) (string, bool) { c, ok := repos[repo]; return c, ok }
	return cat
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./audit -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func renderFound(fs []Found) []byte {
	var b bytes.Buffer
	for _, f := range fs {
		fmt.Fprintf(&b, "%s\t%s", f.Location(), f.Ref)
		if f.Field != "" {
			fmt.Fprintf(&b, "\t[%s %s]", f.Component, f.Field)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func TestExtractFixtures(t *testing.T) {
	tests := []struct {
		file string
		n    int
		// one reference that must be among those found, as Location()+" "+Ref
		want string
	}{
		{"terraform.tfstate", 6, "testdata/inputs/terraform.tfstate:68 module.stack.aws_ecs_task_definition.bags_api container app " + ecrY + "bags_api@" + d("bags_api 1.4.0")},
		{"show.json", 5, "testdata/inputs/show.json:55 module.stack.module.ingests.aws_ecs_task_definition.ingests_api container app " + ecrY + "ingests_api@" + d("ingests_api 1.5.0")},
		{"describe-task-definition.json", 2, "testdata/inputs/describe-task-definition.json:7 task-definition/storage-bags_api:12 container app " + ecrY + "bags_api@" + d("bags_api 1.5.0 linux/arm64")},
		{"kubectl-list.json", 6, "testdata/inputs/kubectl-list.json:204 Pod/storage/bags-api-7d9f8c6b5-x2lqp container bags-api " + ecrY + "bags_api:latest@" + d("bags_api 1.5.0 linux/amd64")},
		{"docker-compose.yml", 4, "testdata/inputs/docker-compose.yml:6 " + ecrY + "bags_api:latest"},
		{"Dockerfile", 1, "testdata/inputs/Dockerfile:2 " + ecrY + "bags_api@" + d("bags_api 1.3.0")},
		{"main.tf", 5, "testdata/inputs/main.tf:5 " + ecrY + "ingests_api:env.prod"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "inputs", tt.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			fs, err := Extract(filepath.ToSlash(path), data)
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) != tt.n {
				t.Errorf("found %d references, want %d:\n%s", len(fs), tt.n, renderFound(fs))
			}
			var all []string
			for _, f := range fs {
				all = append(all, f.Location()+" "+f.Ref)
			}
			found := false
			for _, s := range all {
				found = found || s == tt.want
			}
			if !found {
				t.Errorf("missing %q among:\n%s", tt.want, strings.Join(all, "\n"))
			}
			golden(t, "extract-"+tt.file+".txt", renderFound(fs))
		})
	}
}

func TestExtractShapes(t *testing.T) {
	img := ecrY + "bags_api@" + d("bags_api 1.5.0")
	tests := []struct {
		name, path, in string
		want           []string // Location()+" "+Ref
		err            string
	}{
		{"describe-tasks completes a tag with imageDigest", "tasks.json",
			`{"tasks":[{"taskArn":"arn:aws:ecs:eu-west-1:1:task/storage/0a1b","containers":[{"name":"app","image":"` + ecrY + `bags_api:latest","imageDigest":"` + d("bags_api 1.5.0") + `"}]}],"failures":[]}`,
			[]string{"tasks.json:1 task/0a1b container app " + ecrY + "bags_api:latest@" + d("bags_api 1.5.0")}, ""},
		{"describe-services holds no images", "services.json",
			`{"services":[{"serviceName":"bags_api","taskDefinition":"arn:aws:ecs:eu-west-1:1:task-definition/storage-bags_api:12"}]}`, nil, ""},
		{"a single kubectl object", "-",
			"{\n\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"db\"},\n\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"n\",\"image\":\"" + img + "\"}],\"ephemeralContainers\":[{\"name\":\"debug\",\"image\":\"busybox\"}]}}}}",
			[]string{"-:3 StatefulSet/db container n " + img, "-:3 StatefulSet/db container debug busybox"}, ""},
		{"a kind ending in List", "-",
			`{"apiVersion":"v1","kind":"PodList","items":[{"kind":"Pod","metadata":{"name":"p","namespace":"ns"},"spec":{"containers":[{"name":"c","image":"` + img + `"}]}}]}`,
			[]string{"-:1 Pod/ns/p container c " + img}, ""},
		{"string index keys in state", "x.tfstate",
			`{"version":4,"terraform_version":"1.9.8","resources":[{"mode":"managed","type":"docker_container","name":"svc","instances":[{"index_key":"bags","attributes":{"image":"` + img + `"}}]}]}`,
			[]string{`x.tfstate:1 docker_container.svc["bags"] ` + img}, ""},
		{"a plan's planned_values", "plan.json",
			`{"format_version":"1.2","planned_values":{"root_module":{"resources":[{"address":"aws_lambda_function.f","values":{"image_uri":"` + img + `"}}]}}}`,
			[]string{"plan.json:1 aws_lambda_function.f " + img}, ""},
		{"state with a byte order mark", "bom.tfstate",
			"\ufeff{\"version\":4,\"terraform_version\":\"1.9.8\",\"resources\":[{\"mode\":\"managed\",\"type\":\"docker_container\",\"name\":\"a\",\"instances\":[{\"attributes\":{\n\"image\":\"" + img + "\"}}]}]}",
			[]string{"bom.tfstate:2 docker_container.a " + img}, ""},
		{"invalid JSON names the line", "bad.json", "{\n\"a\": [1,\n2,,]\n}", nil, "bad.json: line 3: invalid JSON"},
		{"state that is not JSON", "terraform.tfstate", "resources = []\n", nil, "terraform.tfstate: not a JSON Terraform state"},
		{"empty state", "terraform.tfstate", "\n", nil, ""},
		{"unknown file type", "notes.txt", "hello: world\n", nil, "notes.txt: not an input pin audit reads"},
		{"stdin YAML", "-", "image: " + img + "\n", []string{"-:1 " + img}, ""},
		{"stdin Dockerfile", "-", "FROM " + img + "\nRUN true\n", []string{"-:1 " + img}, ""},
		{"stdin Terraform", "-", "module \"stack\" {\n  image = \"" + img + "\"\n}\n", []string{"-:2 " + img}, ""},
		{"ECS task definition to register goes through the JSON scanner", "taskdef.json",
			"{\n \"family\": \"storage-bags_api\",\n \"containerDefinitions\": [\n  {\"name\": \"app\", \"image\": \"" + img + "\"}\n ]\n}\n",
			[]string{"taskdef.json:4 " + img}, ""},
		{"Helm values split by markers: the digest stands for the tag", "values.yaml",
			"bags:\n  repository: " + ecrY + "bags_api # pin:bags_api:repo\n  tag: env.prod # pin:bags_api:tag\n  digest: \"" + d("bags_api 1.5.0") + "\" # pin:bags_api:digest\n" +
				"notifier:\n  tag: latest # pin:notifier:tag\n",
			[]string{"values.yaml:4 " + d("bags_api 1.5.0"), "values.yaml:6 latest"}, ""},
		{"words, ports, paths and volumes are not images", "x.yaml", "ports: [\"8080:80\"]\nname: bags-api\nurl: https://example.org/a:b\nsrc: ./stack\nvol: db:/var/lib/postgresql/data\nup: ../x/y:z\n", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := Extract(tt.path, []byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, f.Location()+" "+f.Ref)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestExtractPaths(t *testing.T) {
	dir := t.TempDir()
	img := ecrY + "bags_api@" + d("bags_api 1.5.0")
	files := map[string]string{
		"b/compose.yaml":           "services:\n  a:\n    image: " + img + "\n",
		"a/Dockerfile.prod":        "FROM " + img + "\n",
		"pin.yaml":                 "image: " + img + "\n",
		".git/x.yaml":              "image: " + img + "\n",
		".terraform/m/main.tf":     "x = \"" + img + "\"\n",
		"node_modules/p/x.json":    `{"image":"` + img + `"}`,
		"README.md":                img + "\n",
		"state/terraform.tfstate":  `{"version":4,"terraform_version":"1.9.8","resources":[]}`,
		"state/backup.tfstate.bak": "not read",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stdin := strings.NewReader("image: " + ecrY + "notifier:latest\n")
	fs, err := ExtractPaths([]string{dir, "-", filepath.Join(dir, "pin.yaml")}, stdin)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		rel, _ := filepath.Rel(dir, f.Source)
		if f.Source == "-" {
			rel = "-"
		}
		got = append(got, fmt.Sprintf("%s:%d", filepath.ToSlash(rel), f.Line))
	}
	// pin.yaml is skipped in a walk but read when named.
	want := []string{"a/Dockerfile.prod:1", "b/compose.yaml:3", "-:1", "pin.yaml:1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	if _, err := ExtractPaths([]string{"-", "-"}, strings.NewReader("")); err == nil {
		t.Error("stdin twice: no error")
	}
	if _, err := ExtractPaths([]string{filepath.Join(dir, "missing")}, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: %v", err)
	}
	bad := filepath.Join(dir, "c", "bad.json")
	os.MkdirAll(filepath.Dir(bad), 0o755)
	os.WriteFile(bad, []byte("{\n  \"image\": \n}"), 0o644)
	// Met while walking, an unparseable file is a note naming it; named, an error.
	_, notes, err := ExtractPathsWith([]string{dir}, nil, Options{})
	if err != nil || len(notes) != 1 || !strings.HasSuffix(notes[0].Source, "bad.json") || !strings.HasPrefix(notes[0].Message, "skipped:") {
		t.Errorf("unparseable file in a walk: %v, notes %+v", err, notes)
	}
	if _, err := ExtractPaths([]string{bad}, nil); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("unparseable file named explicitly: error %v does not name it", err)
	}
}

func ref(repo, tagDigest string) Found {
	return Found{Source: "f", Line: 1, Ref: repo + tagDigest}
}

func TestEvaluateStatus(t *testing.T) {
	cat := testCatalog(t)
	tests := []struct {
		name     string
		found    Found
		status   Status
		releases []string
		behind   int
		reason   string
	}{
		{"newest release", ref(ecrY+"bags_api", "@"+d("bags_api 1.5.0")), StatusCurrent, []string{"1.5.0"}, 0, ""},
		{"platform digest", ref(ecrY+"bags_api", "@"+d("bags_api 1.5.0 linux/arm64")), StatusCurrent, []string{"1.5.0"}, 0, ""},
		{"tag and digest judged by digest", ref(ecrY+"bags_api", ":latest@"+d("bags_api 1.3.0")), StatusOutdated, []string{"1.3.0"}, 2, ""},
		{"unchanged across releases, newest among them", ref(ecrL+"fluentbit", "@"+d("fluentbit 1.3.0")), StatusCurrent, []string{"1.3.0", "1.4.0", "1.4.1", "1.5.0"}, 0, ""},
		{"outdated, yanked release not counted", ref(ecrY+"notifier", "@"+d("notifier 1.3.0")), StatusOutdated, []string{"1.3.0", "1.4.0", "1.4.1"}, 1, ""},
		{"in a yanked and a good release", ref(ecrY+"bags_api", "@"+d("bags_api 1.4.0 linux/amd64")), StatusOutdated, []string{"1.4.0", "1.4.1"}, 1, ""},
		{"only in a yanked release", ref(ecrY+"ingests_api", "@"+d("ingests_api 1.4.1")), StatusYanked, []string{"1.4.1"}, 0, "ingests_api drops callbacks"},
		{"digest of another component", ref(ecrY+"notifier", "@"+d("bags_api 1.5.0")), StatusUnknownDigest, nil, 0, "no release on the channel lists this digest"},
		{"latest", ref(ecrY+"bags_api", ":latest"), StatusUnpinned, nil, 0, ""},
		{"ref tag", ref(ecrL+"nginx_apigw", ":ref.3f2b8a1c9d0e4f5a6b7c8d9e0f1a2b3c4d5e6f70"), StatusUnpinned, nil, 0, ""},
		{"no tag at all", ref(ecrY+"bags_api", ""), StatusUnpinned, nil, 0, ""},
		{"foreign", ref("docker.io/library/postgres", ":16"), StatusForeign, nil, 0, ""},
		{"docker hub short name is canonicalised before lookup", ref("postgres", ":16"), StatusForeign, nil, 0, ""},
		{"marker digest", Found{Source: "f", Ref: d("notifier 1.5.0"), Component: "notifier", Field: "digest"}, StatusCurrent, []string{"1.5.0"}, 0, ""},
		{"marker tag", Found{Source: "f", Ref: "env.prod", Component: "notifier", Field: "tag"}, StatusUnpinned, nil, 0, ""},
		{"marker for no component", Found{Source: "f", Ref: "env.prod", Component: "web", Field: "tag"}, StatusForeign, nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Evaluate([]Found{tt.found}, cat, true)
			if len(rep.Findings) != 1 {
				t.Fatalf("%d findings", len(rep.Findings))
			}
			f := rep.Findings[0]
			if f.Status != tt.status || !reflect.DeepEqual(f.Releases, tt.releases) || f.Behind != tt.behind || f.Reason != tt.reason {
				t.Errorf("got %s %v behind %d reason %q, want %s %v behind %d reason %q",
					f.Status, f.Releases, f.Behind, f.Reason, tt.status, tt.releases, tt.behind, tt.reason)
			}
		})
	}
}

func TestEvaluateCatalogEdges(t *testing.T) {
	old := ref(ecrY+"bags_api", "@"+d("bags_api 1.5.0"))

	// A constraint keeps the newest allowed at 1.4.0: 1.5.0 is ahead of it.
	cat := testCatalog(t)
	cat.Newest = "1.4.0"
	f := Evaluate([]Found{old}, cat, false).Findings[0]
	if f.Status != StatusOutdated || f.Behind != 0 || !strings.Contains(f.Reason, "newer than the newest allowed version 1.4.0") {
		t.Errorf("ahead of the constraint: %+v", f)
	}
	f = Evaluate([]Found{ref(ecrY+"bags_api", "@"+d("bags_api 1.3.0"))}, cat, false).Findings[0]
	if f.Status != StatusOutdated || f.Behind != 1 {
		t.Errorf("behind counts only up to the newest allowed: %+v", f)
	}

	// A failed verification judges nothing.
	cat = testCatalog(t)
	cat.VerifyErr = errors.New("channel index signature does not verify with any trusted key")
	rep := Evaluate([]Found{old, ref("docker.io/library/postgres", ":16")}, cat, false)
	if len(rep.Findings) != 1 || rep.Findings[0].Status != StatusUnsignedSource || rep.Findings[0].Reason != cat.VerifyErr.Error() {
		t.Errorf("unsigned source: %+v", rep.Findings)
	}
	if rep.Summary.Consistent || rep.Summary.Mixed || !strings.Contains(rep.Summary.Text, "failed verification") {
		t.Errorf("unsigned summary: %+v", rep.Summary)
	}

	// No catalog: everything is foreign, and hidden without includeForeign.
	if rep := Evaluate([]Found{old}, nil, false); len(rep.Findings) != 0 {
		t.Errorf("nil catalog: %+v", rep.Findings)
	}
}

func TestSummary(t *testing.T) {
	cat := testCatalog(t)
	tests := []struct {
		name       string
		found      []Found
		consistent bool
		mixed      bool
		version    string
		versions   []string
		text       string
	}{
		{"one release, the newest", []Found{
			ref(ecrY+"bags_api", "@"+d("bags_api 1.5.0")),
			ref(ecrL+"fluentbit", "@"+d("fluentbit 1.3.0")),
		}, true, false, "1.5.0", []string{"1.5.0"}, "consistent: one release, 1.5.0 (the newest)"},
		{"one older release, highest shared named", []Found{
			ref(ecrY+"bags_api", "@"+d("bags_api 1.4.0")),
			ref(ecrY+"notifier", "@"+d("notifier 1.3.0")),
			ref(ecrY+"ingests_api", ":latest"),
		}, true, false, "1.4.1", []string{"1.4.1"}, "consistent: one release, 1.4.1 (newest is 1.5.0); 1 unpinned"},
		{"a mix", []Found{
			ref(ecrY+"bags_api", "@"+d("bags_api 1.5.0")),
			ref(ecrY+"ingests_api", "@"+d("ingests_api 1.4.0")),
		}, false, true, "", []string{"1.4.0", "1.5.0"}, "mixed: 2 pinned references span releases 1.4.0, 1.5.0"},
		{"an unknown digest breaks consistency", []Found{
			ref(ecrY+"bags_api", "@"+d("bags_api 1.5.0")),
			ref(ecrY+"notifier", "@"+d("notifier dev")),
		}, false, true, "", []string{"1.5.0"}, "mixed: 2 pinned references span releases 1.5.0 and 1 unknown digest"},
		{"nothing pinned", []Found{ref(ecrY+"bags_api", ":latest"), ref("docker.io/library/postgres", ":16")},
			false, false, "", []string{}, "no pinned references to the product's components; 1 unpinned"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Evaluate(tt.found, cat, true).Summary
			if s.Consistent != tt.consistent || s.Mixed != tt.mixed || s.Version != tt.version ||
				!reflect.DeepEqual(s.Versions, tt.versions) || s.Text != tt.text {
				t.Errorf("got %+v\nwant consistent=%v mixed=%v version=%q versions=%v text=%q",
					s, tt.consistent, tt.mixed, tt.version, tt.versions, tt.text)
			}
		})
	}
}

// scenario extracts fixtures and evaluates them.
func scenario(t *testing.T, all bool, files ...string) *Report {
	t.Helper()
	var paths []string
	for _, f := range files {
		paths = append(paths, "testdata/inputs/"+f)
	}
	found, err := ExtractPaths(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Evaluate(found, testCatalog(t), all)
}

func TestReports(t *testing.T) {
	scenarios := []struct {
		name  string
		all   bool
		files []string
	}{
		{"mixed", true, []string{"terraform.tfstate", "docker-compose.yml", "Dockerfile", "describe-task-definition.json", "main.tf"}},
		{"consistent", false, []string{"show.json", "kubectl-list.json"}},
	}
	formats := []struct {
		ext   string
		write func(*Report, *bytes.Buffer) error
	}{
		{"txt", func(r *Report, b *bytes.Buffer) error { return r.WriteTable(b) }},
		{"json", func(r *Report, b *bytes.Buffer) error { return r.WriteJSON(b) }},
		{"md", func(r *Report, b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
	}
	for _, sc := range scenarios {
		rep := scenario(t, sc.all, sc.files...)
		for _, f := range formats {
			t.Run(sc.name+"."+f.ext, func(t *testing.T) {
				var b bytes.Buffer
				if err := f.write(rep, &b); err != nil {
					t.Fatal(err)
				}
				golden(t, "report-"+sc.name+"."+f.ext, b.Bytes())
			})
		}
	}

	rep := scenario(t, false, "show.json", "kubectl-list.json")
	if !rep.Summary.Consistent || rep.Summary.Version != "1.5.0" || rep.Summary.Counts[StatusCurrent] != 10 {
		t.Errorf("consistent scenario: %+v", rep.Summary)
	}
	rep = scenario(t, true, "terraform.tfstate", "docker-compose.yml", "Dockerfile", "describe-task-definition.json", "main.tf")
	want := map[Status]int{StatusCurrent: 4, StatusOutdated: 4, StatusYanked: 1, StatusUnknownDigest: 1,
		StatusUnpinned: 5, StatusUnsignedSource: 0, StatusForeign: 3, StatusExpired: 0}
	if !reflect.DeepEqual(rep.Summary.Counts, want) || !rep.Summary.Mixed {
		t.Errorf("mixed scenario counts %v mixed=%v, want %v", rep.Summary.Counts, rep.Summary.Mixed, want)
	}
}

func TestWriteErrors(t *testing.T) {
	rep := scenario(t, false, "show.json")
	for name, write := range map[string]func(*Report) error{
		"table":    func(r *Report) error { return r.WriteTable(failWriter{}) },
		"json":     func(r *Report) error { return r.WriteJSON(failWriter{}) },
		"markdown": func(r *Report) error { return r.WriteMarkdown(failWriter{}) },
	} {
		if err := write(rep); err == nil {
			t.Errorf("%s: a failing writer returned no error", name)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestParseFailOn(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{"", nil, ""},
		{"unpinned", []string{"unpinned"}, ""},
		{"mixed, yanked,outdated,unknown-digest,unpinned,mixed", []string{"unpinned", "unknown-digest", "outdated", "yanked", "mixed"}, ""},
		{"unpinned,,", []string{"unpinned"}, ""},
		{"unpinned,stale", nil, `"stale" is not one of unpinned, unknown-digest, outdated, yanked, mixed`},
		{"current", nil, `"current" is not one of`},
	}
	for _, tt := range tests {
		got, err := ParseFailOn(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseFailOn(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFailOn(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestFailed(t *testing.T) {
	cat := testCatalog(t)
	current := ref(ecrY+"bags_api", "@"+d("bags_api 1.5.0"))
	everything := []string{"unpinned", "unknown-digest", "outdated", "yanked", "mixed"}
	tests := []struct {
		name  string
		found []Found
		want  []string
	}{
		{"clean", []Found{current}, nil},
		{"unpinned", []Found{current, ref(ecrY+"notifier", ":latest")}, []string{"unpinned"}},
		{"unknown-digest", []Found{ref(ecrY+"notifier", "@"+d("notifier dev"))}, []string{"unknown-digest", "mixed"}},
		{"outdated but consistent", []Found{ref(ecrY+"bags_api", "@"+d("bags_api 1.3.0"))}, []string{"outdated"}},
		{"yanked", []Found{ref(ecrY+"ingests_api", "@"+d("ingests_api 1.4.1"))}, []string{"yanked"}},
		{"mixed", []Found{current, ref(ecrY+"ingests_api", "@"+d("ingests_api 1.4.0"))}, []string{"outdated", "mixed"}},
		{"foreign never fails", []Found{current, ref("docker.io/library/postgres", ":16")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := Evaluate(tt.found, cat, true)
			if got := rep.Failed(everything); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Failed(all) = %v, want %v", got, tt.want)
			}
			// Only what was asked for is reported.
			for _, item := range everything {
				got := rep.Failed([]string{item})
				want := contains(tt.want, item)
				if (len(got) == 1) != want {
					t.Errorf("Failed([%s]) = %v, want match=%v", item, got, want)
				}
			}
		})
	}
}

// TestExtractPathsPassesOverTemplates: a chart template, met while walking a
// directory or named explicitly, is passed over with a note naming it, never
// misread: one that opens with `{{- if` is not taken for JSON.
func TestExtractPathsPassesOverTemplates(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "templates"), 0o755)
	os.WriteFile(filepath.Join(dir, "values.yaml"), []byte("image: public.ecr.aws/y1p3h6z3/bags_api:latest\n"), 0o644)
	tmpl := filepath.Join(dir, "templates", "deploy.yaml")
	os.WriteFile(tmpl, []byte("spec:\n  containers:\n    {{- range .Values.extra }}\n    - image: x/y:{{ .tag }}\n    {{- end }}\n"), 0o644)
	ifFirst := filepath.Join(dir, "templates", "hpa.yaml")
	os.WriteFile(ifFirst, []byte("{{- if .Values.autoscaling.enabled }}\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n{{- end }}\n"), 0o644)
	helpers := filepath.Join(dir, "templates", "_helpers.tpl")
	os.WriteFile(helpers, []byte("{{- define \"chart.image\" -}}\n{{ .Values.image.repository }}\n{{- end }}\n"), 0o644)
	found, notes, err := ExtractPathsWith([]string{dir}, nil, Options{})
	if err != nil || len(found) != 1 {
		t.Fatalf("walking a chart: %v, %d references", err, len(found))
	}
	if len(notes) != 2 || notes[0].Source != tmpl || notes[1].Source != ifFirst || notes[0].Message != rewrite.TemplateMessage {
		t.Fatalf("walking a chart: notes %v, want one template note for each of %s and %s", notes, tmpl, ifFirst)
	}
	for _, named := range []string{tmpl, ifFirst, helpers} {
		found, notes, err := ExtractPathsWith([]string{named}, nil, Options{})
		if err != nil || len(found) != 0 || len(notes) != 1 || notes[0].Message != rewrite.TemplateMessage {
			t.Errorf("%s named explicitly: %v, %d references, notes %v; want one template note", named, err, len(found), notes)
		}
	}
}
