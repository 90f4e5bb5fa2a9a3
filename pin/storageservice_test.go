package pin

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/rewrite"
)

// The storage service as examples/storage-service copies it: 18 applications
// under one registry prefix sharing one tag, two sidecars in {registry, name,
// tag} objects, and a consumer calling the demo module by git ref.
var (
	ssApps = []string{"bags_api", "ingests_api", "ingests_indexer", "ingests_tracker", "ingests_worker", "notifier",
		"bag_versioner", "bag_register", "bag_tagger", "bag_replicator", "bag_root_finder", "bag_tracker",
		"bag_verifier", "bag_unpacker", "bag_indexer", "file_finder", "file_indexer", "replica_aggregator"}
	ssSidecars = []string{"fluentbit", "nginx_apigw"}
)

const (
	ssRevision   = "0123456789abcdef0123456789abcdef01234567"
	ssSidecarTag = "8c68706fba97189fc72e3d0844458c7c5dee0bbc"
	ssExample    = "../examples/storage-service"
)

// ssRelease publishes a release of the 20 components, the applications
// tagged ref.<revision>. host replaces public.ecr.aws; digests (by
// component) replace made-up ones; tags overrides a component's tag.
func (f *fixture) ssRelease(version, revision, host string, digests, tags map[string]string) *manifest.Release {
	f.t.Helper()
	rel := &manifest.Release{SchemaVersion: 1, Kind: manifest.KindRelease, Product: "storage-service", Version: version,
		Source: manifest.Source{Repository: "https://github.com/wellcomecollection/storage-service", Revision: revision}}
	add := func(name, ns, tag string) {
		d := digests[name]
		if d == "" {
			d = manifest.Digest([]byte(name + version))
		}
		if t, ok := tags[name]; ok {
			tag = t
		}
		rel.Components = append(rel.Components, manifest.Component{Name: name, Repository: host + "/" + ns + "/" + name, Tag: tag,
			Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json"})
	}
	appTag := "ref." + revision
	if revision == "" {
		appTag = "ref." + ssRevision
	}
	for _, s := range ssApps {
		add(s, "y1p3h6z3", appTag)
	}
	for _, s := range ssSidecars {
		add(s, "l7a1d1z4", ssSidecarTag)
	}
	sort.Slice(rel.Components, func(i, j int) bool { return rel.Components[i].Name < rel.Components[j].Name })
	if _, err := f.pub.Create(context.Background(), rel, "stable", 168*time.Hour); err != nil {
		f.t.Fatal(err)
	}
	return rel
}

// copyExample copies the consumer and the vendored upstream tree of
// examples/storage-service (or the given subdirectories) into the project,
// with public.ecr.aws replaced by host, and returns the files as copied.
func (f *fixture) copyExample(host string, subdirs ...string) map[string]string {
	f.t.Helper()
	if len(subdirs) == 0 {
		subdirs = []string{"consumer", "vendored"}
	}
	files := map[string]string{}
	for _, sub := range subdirs {
		for name, content := range readTree(f.t.(*testing.T), filepath.Join(ssExample, sub)) {
			name = sub + "/" + name
			files[name] = strings.ReplaceAll(content, "public.ecr.aws", host)
			f.write(name, files[name])
		}
	}
	return files
}

func deployKinds(p *Plan) map[string]int {
	out := map[string]int{}
	for _, r := range p.DeployRefs {
		out[r.Kind] += len(r.Components)
		if r.Kind == rewrite.KindModuleRef {
			out[r.Kind]++
		}
	}
	return out
}

// TestStorageServiceUpdateCheck is the reproduction: before module
// refs and shared tags were managed, this tree gave "Up to date: 0
// reference(s)" and "OK: 0 reference(s)", exit 0.
func TestStorageServiceUpdateCheck(t *testing.T) {
	f := newFixture(t)
	rel := f.ssRelease("1.5.0", ssRevision, "public.ecr.aws", nil, nil)
	before := f.copyExample("public.ecr.aws")
	f.init("stable")
	plan, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range plan.Warnings {
		t.Errorf("warning: %s", w)
	}
	if got := deployKinds(plan); got["module-ref"] != 1 || got["shared-tag"] != 18 || got["split-tag"] != 2 || len(plan.Refs) != 0 {
		t.Fatalf("managed: %v and %d image references, want 1 module ref, 18 components by shared tag, 2 split", got, len(plan.Refs))
	}
	fluent, _ := rel.Component("fluentbit")
	nginx, _ := rel.Component("nginx_apigw")
	want := map[string]string{
		"consumer/main.tf": strings.Replace(before["consumer/main.tf"], "?ref=b601f2a", "?ref="+ssRevision, 1),
		"vendored/demo/terraform/demo_stack/stack.tf": strings.NewReplacer(
			`"ref.6a52d4926819ddc090da5cd51144db0d08d693d2"`, `"ref.`+ssRevision+`"`,
			"container_name     = \"fluentbit\"\n    container_tag      = \""+ssSidecarTag, "container_name     = \"fluentbit\"\n    container_tag      = \""+ssSidecarTag+"@"+fluent.Digest,
			"container_name     = \"nginx_apigw\"\n    container_tag      = \""+ssSidecarTag, "container_name     = \"nginx_apigw\"\n    container_tag      = \""+ssSidecarTag+"@"+nginx.Digest,
		).Replace(before["vendored/demo/terraform/demo_stack/stack.tf"]),
	}
	for name, old := range before {
		w, ok := want[name]
		if !ok {
			w = old
		} else if w == old {
			t.Fatalf("%s: the expected result equals the example; the test would prove nothing", name)
		}
		if got := f.read(name); got != w {
			t.Errorf("%s after update:\n%s\nwant:\n%s", name, got, w)
		}
	}
	lock, err := LoadLock(f.cfg.LockPath())
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, r := range lock.References {
		fields = append(fields, r.File+":"+r.Field+":"+r.Component+"="+r.New)
	}
	wantFields := []string{
		"consumer/main.tf:module-ref:source=" + ssRevision,
		"vendored/demo/terraform/demo_stack/stack.tf:split-tag:fluentbit=" + ssSidecarTag + "@" + fluent.Digest,
		"vendored/demo/terraform/demo_stack/stack.tf:split-tag:nginx_apigw=" + ssSidecarTag + "@" + nginx.Digest,
		"vendored/demo/terraform/demo_stack/stack.tf:shared-tag:public.ecr.aws/y1p3h6z3=ref." + ssRevision,
	}
	if strings.Join(fields, "\n") != strings.Join(wantFields, "\n") {
		t.Errorf("pin.lock references:\n%s\nwant:\n%s", strings.Join(fields, "\n"), strings.Join(wantFields, "\n"))
	}

	// A second update changes nothing, pin.lock included.
	p2, err := PlanUpdate(context.Background(), f.cfg, UpdateOptions{Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if p2.Changed() {
		t.Errorf("second update would change something:\n%s", p2.Diff())
	}

	res, err := Check(context.Background(), f.cfg, CheckOptions{Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || res.References != 4 {
		t.Fatalf("check: %d references, findings %v", res.References, res.Findings)
	}

	// Drift: the module ref moved by hand, the shared tag set back.
	f.write("consumer/main.tf", before["consumer/main.tf"])
	f.write("vendored/demo/terraform/demo_stack/stack.tf", strings.Replace(f.read("vendored/demo/terraform/demo_stack/stack.tf"), "ref."+ssRevision, "latest", 1))
	res, err = Check(context.Background(), f.cfg, CheckOptions{Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, fd := range res.Findings {
		got[fd.File+":"+strconv.Itoa(fd.Line)] = fd.Kind + " " + fd.Found + " -> " + fd.Want
	}
	wantDrift := map[string]string{
		"consumer/main.tf:20":                            "drift b601f2a -> " + ssRevision,
		"vendored/demo/terraform/demo_stack/stack.tf:26": "drift latest -> ref." + ssRevision,
	}
	if len(got) != len(wantDrift) {
		t.Fatalf("findings %v, want %v", got, wantDrift)
	}
	for k, v := range wantDrift {
		if got[k] != v {
			t.Errorf("finding at %s: %q, want %q", k, got[k], v)
		}
	}
}

// TestStorageServiceModuleRefNeedsRevision: a release without a source
// revision pins the tags and says plainly why the module ref is left.
func TestStorageServiceModuleRefNeedsRevision(t *testing.T) {
	f := newFixture(t)
	f.ssRelease("1.5.0", "", "public.ecr.aws", nil, nil)
	f.copyExample("public.ecr.aws")
	f.init("stable")
	plan, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = UnmanagedError(plan.Warnings)
	if exitcode.Of(err) != exitcode.Findings || !strings.Contains(err.Error(), "consumer/main.tf:20: release 1.5.0 records no source revision") ||
		!strings.Contains(err.Error(), RemedyRecordRevision) {
		t.Fatalf("err = %v (exit %d), want exit 4 naming consumer/main.tf:20 and the remedy %q", err, exitcode.Of(err), RemedyRecordRevision)
	}
	if !strings.Contains(f.read("consumer/main.tf"), "?ref=b601f2a") || !strings.Contains(f.read("vendored/demo/terraform/demo_stack/stack.tf"), "ref."+ssRevision) {
		t.Errorf("the module ref must stay and the tags must be pinned")
	}
	res, err := Check(context.Background(), f.cfg, CheckOptions{Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Kind != FindingUnmanaged || res.Findings[0].File != "consumer/main.tf" {
		t.Errorf("check findings %v, want one unmanaged at consumer/main.tf", res.Findings)
	}
}

// TestSharedTagNotOneTag: a release whose components under the prefix came
// from different tags cannot set a shared tag: unmanaged, exit 4.
func TestSharedTagNotOneTag(t *testing.T) {
	f := newFixture(t)
	f.ssRelease("1.5.0", ssRevision, "public.ecr.aws", nil, map[string]string{"notifier": "latest"})
	f.copyExample("public.ecr.aws")
	f.init("stable")
	plan, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = UnmanagedError(plan.Warnings)
	if exitcode.Of(err) != exitcode.Findings || !strings.Contains(err.Error(), "stack.tf:26: release 1.5.0 does not record one tag for the 18 components") ||
		!strings.Contains(err.Error(), "latest: notifier") {
		t.Fatalf("err = %v, want exit 4 naming stack.tf:26 and notifier's tag", err)
	}
}

// TestSharedTagLatest: a release resolved from `latest` cannot set a shared
// tag: writing latest would pin nothing.
func TestSharedTagLatest(t *testing.T) {
	f := newFixture(t)
	latest := map[string]string{}
	for _, s := range ssApps {
		latest[s] = "latest"
	}
	f.ssRelease("1.5.0", ssRevision, "public.ecr.aws", nil, latest)
	f.copyExample("public.ecr.aws")
	f.init("stable")
	plan, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = UnmanagedError(plan.Warnings)
	if exitcode.Of(err) != exitcode.Findings || !strings.Contains(err.Error(), `stack.tf:26: release 1.5.0 recorded tag "latest"`) {
		t.Fatalf("err = %v, want exit 4 naming stack.tf:26 and latest", err)
	}
	if !strings.Contains(f.read("vendored/demo/terraform/demo_stack/stack.tf"), `"ref.6a52d4926819ddc090da5cd51144db0d08d693d2"`) {
		t.Errorf("the shared tag was changed")
	}
}

// TestNeverASilentOK: a tree in which pin manages nothing is a
// configuration error for update and check, with each product value pin
// cannot pin named by file:line.
func TestNeverASilentOK(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{name: "nothing of the product", files: map[string]string{"main.tf": "locals {\n  redis = \"public.ecr.aws/docker/library/redis:7\"\n}\n"},
			want: []string{"no managed reference to storage-service", "docs/storage-service.md"}},
		{name: "only values pin cannot pin", files: map[string]string{
			"images.tf": "locals {\n  image = \"public.ecr.aws/y1p3h6z3/${var.name}:${var.tag}\"\n}\n",
			"app.tf":    "locals {\n  a = \"public.ecr.aws/y1p3h6z3/bags_api:${var.tag}\"\n}\n"},
			want: []string{"2 value(s) name the product", "images.tf:2: image reference templated under the product's registry prefix", "app.tf:2: managed repository inside an interpolation"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.release("1.5.0", "stable", "a")
			for n, c := range tc.files {
				f.write(n, c)
			}
			f.init("stable")
			before := snap(t, f.dir)
			_, err := f.update(UpdateOptions{})
			var nm *NothingManagedError
			if exitcode.Of(err) != exitcode.Usage || !errors.As(err, &nm) {
				t.Fatalf("update: err = %v (exit %d), want exit 2 NothingManagedError", err, exitcode.Of(err))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("update error %q does not say %q", err, w)
				}
			}
			if after := snap(t, f.dir); !reflect.DeepEqual(before, after) {
				t.Errorf("a refused update changed the project")
			}
		})
	}
}

// TestCheckNothingManaged: check with a pin.lock that records nothing (an
// older pin wrote it) and files that hold nothing managed exits 2.
func TestCheckNothingManaged(t *testing.T) {
	f := newFixture(t)
	f.release("1.5.0", "stable", "a")
	f.write("main.tf", demoTF)
	f.init("stable")
	if _, err := f.update(UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	lock, err := LoadLock(f.cfg.LockPath())
	if err != nil {
		t.Fatal(err)
	}
	lock.References = nil
	b, err := lock.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.cfg.LockPath(), b, 0o644); err != nil {
		t.Fatal(err)
	}
	f.write("main.tf", "# nothing here\n")
	_, err = Check(context.Background(), f.cfg, CheckOptions{Now: f.clk.Now})
	var nm *NothingManagedError
	if exitcode.Of(err) != exitcode.Usage || !errors.As(err, &nm) {
		t.Fatalf("check: err = %v (exit %d), want exit 2 NothingManagedError", err, exitcode.Of(err))
	}
}

// TestUnmanagedBesideManaged: update writes what it pins and still fails
// (exit 4) on a product value it cannot pin; check reports it as a finding.
func TestUnmanagedBesideManaged(t *testing.T) {
	f := newFixture(t)
	f.release("1.5.0", "stable", "a")
	f.write("main.tf", demoTF)
	f.write("images.tf", "locals {\n  registry = \"public.ecr.aws/y1p3h6z3\"\n}\n")
	f.init("stable")
	plan, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Refs) != 2 || !strings.Contains(f.read("main.tf"), "bags_api@sha256:") {
		t.Fatalf("the managed references were not pinned")
	}
	if err := UnmanagedError(plan.Warnings); exitcode.Of(err) != exitcode.Findings || !strings.Contains(err.Error(), "images.tf:2: registry is a registry prefix of the product with no tag beside it") {
		t.Fatalf("err = %v, want exit 4 naming images.tf:2", err)
	}
	res, err := Check(context.Background(), f.cfg, CheckOptions{Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Kind != FindingUnmanaged || res.Findings[0].File != "images.tf" || res.Findings[0].Line != 2 {
		t.Fatalf("check findings %v, want one unmanaged at images.tf:2", res.Findings)
	}
}

// TestSharedTagMovedOnline: check --online resolves every component's tag
// on a real (in-memory) registry; a tag pushed over is a moved-tag finding.
func TestSharedTagMovedOnline(t *testing.T) {
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	digests := map[string]string{}
	for _, s := range ssApps {
		digests[s] = testenv.PushRandomImage(t, host+"/y1p3h6z3/"+s+":ref."+ssRevision, 1).String()
	}
	for _, s := range ssSidecars {
		digests[s] = testenv.PushRandomImage(t, host+"/l7a1d1z4/"+s+":"+ssSidecarTag, 2).String()
	}
	f := newFixture(t)
	f.ssRelease("1.5.0", ssRevision, host, digests, nil)
	f.copyExample(host)
	f.init("stable")
	if _, err := f.update(UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := Check(context.Background(), f.cfg, CheckOptions{Online: true, Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 {
		t.Fatalf("check --online: %v", res.Findings)
	}
	moved := testenv.PushRandomImage(t, host+"/y1p3h6z3/bag_verifier:ref."+ssRevision, 1).String()
	movedSidecarWas := ssSidecarTag + "@" + digests["fluentbit"]
	testenv.PushRandomImage(t, host+"/l7a1d1z4/fluentbit:"+ssSidecarTag, 1)
	res, err = Check(context.Background(), f.cfg, CheckOptions{Online: true, Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	// The sidecar's tag moved too, but its value is tag@digest: the digest
	// is what runs, so only the shared tag is a finding.
	if len(res.Findings) != 1 || res.Findings[0].Kind != FindingMovedTag || res.Findings[0].Component != "bag_verifier" || res.Findings[0].Found != moved ||
		res.Findings[0].Line != 26 || !strings.Contains(f.read("vendored/demo/terraform/demo_stack/stack.tf"), movedSidecarWas) {
		t.Fatalf("check --online after the tags moved: %v", res.Findings)
	}
	// Offline, the check cannot see it: it says nothing moved only when asked online.
	res, err = Check(context.Background(), f.cfg, CheckOptions{Now: f.clk.Now})
	if err != nil || len(res.Findings) != 0 {
		t.Fatalf("offline check: %v %v", err, res.Findings)
	}
}

// TestProposedImageOverrides pins a consumer of the module with the change
// proposed upstream (examples/storage-service/proposed): every service's
// image a digest, the sidecars tag@digest, the module ref the release's commit.
func TestProposedImageOverrides(t *testing.T) {
	f := newFixture(t)
	rel := f.ssRelease("1.5.0", ssRevision, "public.ecr.aws", nil, nil)
	before := f.copyExample("public.ecr.aws", "proposed")
	f.init("stable")
	plan, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range plan.Warnings {
		t.Errorf("warning: %s", w)
	}
	if got := deployKinds(plan); len(plan.Refs) != 18 || got["module-ref"] != 1 || got["split-tag"] != 4 || got["shared-tag"] != 18 {
		t.Fatalf("%d image references and %v, want 18, 1 module ref, 4 split tags (consumer and defaults), 18 by the default shared tag", len(plan.Refs), got)
	}
	consumer := f.read("proposed/consumer/main.tf")
	want := strings.Replace(before["proposed/consumer/main.tf"], "?ref=b601f2a", "?ref="+ssRevision, 1)
	for _, c := range rel.Components {
		want = strings.Replace(want, c.Repository+":ref.6a52d4926819ddc090da5cd51144db0d08d693d2", c.Repository+"@"+c.Digest, 1)
		if strings.Contains(c.Repository, "l7a1d1z4") {
			want = strings.Replace(want, "container_name     = \""+c.Name+"\"\n    container_tag      = \""+ssSidecarTag+"\"",
				"container_name     = \""+c.Name+"\"\n    container_tag      = \""+ssSidecarTag+"@"+c.Digest+"\"", 1)
		}
	}
	if consumer != want {
		t.Errorf("consumer after update:\n%s\nwant:\n%s", consumer, want)
	}
	if n := len(regexp.MustCompile(`@sha256:[0-9a-f]{64}"`).FindAllString(consumer, -1)); n != 20 {
		t.Errorf("consumer has %d digests, want 20", n)
	}
	res, err := Check(context.Background(), f.cfg, CheckOptions{Now: f.clk.Now})
	if err != nil || len(res.Findings) != 0 {
		t.Fatalf("check: %v %v", err, res.Findings)
	}
}
