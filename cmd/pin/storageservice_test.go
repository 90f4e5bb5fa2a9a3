package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/internal/testenv"
)

// The storage service as it is really deployed (examples/storage-service):
// a consumer calling Wellcome's module by git ref, the module building 18
// images from one registry prefix and one shared tag, and two sidecars in
// {registry, name, tag} objects. These tests drive it end to end.

const (
	ssRevision   = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"
	ssSidecarTag = "8c68706fba97189fc72e3d0844458c7c5dee0bbc"
)

// TestIntegrationStorageService runs the flow on Debian's docker-registry.
func TestIntegrationStorageService(t *testing.T) {
	t.Parallel()
	storageServiceFlow(t, testenv.Registry(t))
}

// TestStorageServiceMemRegistry runs the same flow on the in-memory registry.
func TestStorageServiceMemRegistry(t *testing.T) {
	t.Parallel()
	storageServiceFlow(t, memRegistry(t))
}

func storageServiceFlow(t *testing.T, host string) {
	dir := t.TempDir()
	copyKeys(t, dir)
	// Images as Wellcome's CI tags them: applications ref.<commit>, sidecars
	// by the sidecar repository's commit.
	for i, s := range demoApps {
		testenv.PushRandomImage(t, serviceRepo(host, s)+":ref."+ssRevision, 1+i%2)
	}
	for _, s := range demoSidecars {
		testenv.PushRandomImage(t, serviceRepo(host, s)+":"+ssSidecarTag, 1)
	}
	store := "oci://" + host + "/storage-service-releases"
	var rc strings.Builder
	fmt.Fprintf(&rc, "product: storage-service\nsource: https://github.com/wellcomecollection/storage-service\nstore: %s\n", store)
	rc.WriteString("channels:\n  edge: {ttl: 168h}\n  stable: {ttl: 720h}\ncomponents:\n")
	for _, s := range demoApps {
		fmt.Fprintf(&rc, "  - name: %s\n    image: %s:ref.{revision}\n", s, serviceRepo(host, s))
	}
	for _, s := range demoSidecars {
		fmt.Fprintf(&rc, "  - name: %s\n    image: %s:%s\n", s, serviceRepo(host, s), ssSidecarTag)
	}
	os.WriteFile(filepath.Join(dir, "release.yaml"), []byte(rc.String()), 0o644)
	runPin(t, dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--revision", ssRevision, "--key", "release.key").mustSucceed(t, "create")
	runPin(t, dir, pw, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote")

	// The consumer's project: the example, pointing at this registry.
	project := filepath.Join(dir, "deployment")
	before := map[string]string{}
	for _, sub := range []string{"consumer", "vendored"} {
		for name, content := range copyTree(t, "../../examples/storage-service/"+sub, filepath.Join(project, sub), "public.ecr.aws", host) {
			before[sub+"/"+name] = content
		}
	}
	runPin(t, project, nil, "init", "--source", store, "--channel", "stable", "--key-file", filepath.Join(dir, "release.pub")).mustSucceed(t, "init")

	up := runPin(t, project, nil, "update").mustSucceed(t, "update")
	if !strings.Contains(up.out, "Pinned 4 reference(s) in 2 file(s) to storage-service 1.0.0") {
		t.Fatalf("update:\n%s%s", up.out, up.err)
	}
	consumer := readFile(t, project, "consumer/main.tf")
	if consumer != strings.Replace(before["consumer/main.tf"], "?ref=b601f2a", "?ref="+ssRevision, 1) {
		t.Fatalf("consumer/main.tf: only the module ref may change:\n%s", consumer)
	}
	stack := readFile(t, project, "vendored/demo/terraform/demo_stack/stack.tf")
	if !strings.Contains(stack, `container_tag      = "ref.`+ssRevision+`"`) || strings.Count(stack, ssSidecarTag+"@sha256:") != 2 {
		t.Fatalf("stack.tf after update:\n%s", stack)
	}

	ok := runPin(t, project, nil, "check").mustSucceed(t, "check")
	if !strings.Contains(ok.out, "OK: 4 reference(s) match storage-service 1.0.0") {
		t.Fatalf("check:\n%s", ok.out)
	}
	runPin(t, project, nil, "check", "--online").mustSucceed(t, "check --online")

	// Drift: someone moves the module ref by hand, as Wellcome's script does.
	os.WriteFile(filepath.Join(project, "consumer/main.tf"), []byte(before["consumer/main.tf"]), 0o644)
	if r := runPin(t, project, nil, "check"); r.code != 4 || !strings.Contains(r.out, "consumer/main.tf:20") || !strings.Contains(r.out, "drift") {
		t.Fatalf("check after the module ref moved: exit %d\n%s%s", r.code, r.out, r.err)
	}
	os.WriteFile(filepath.Join(project, "consumer/main.tf"), []byte(consumer), 0o644)

	// Audit of the deployment: terraform show -json of task definitions that
	// name the images by the release's shared tag, and the configs.
	show := filepath.Join(dir, "show.json")
	os.WriteFile(show, []byte(showJSON(host)), 0o644)
	r := runPin(t, project, nil, "audit", "--tfstate", show, "--fail-on", "unpinned,moved-tag,mixed", "--format", "json")
	var rep struct {
		Summary struct {
			Consistent bool   `json:"consistent"`
			Version    string `json:"version"`
		} `json:"summary"`
		Findings []struct {
			Component, Status, Reason string
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil || r.code != 0 || !rep.Summary.Consistent || rep.Summary.Version != "1.0.0" || len(rep.Findings) != 20 {
		t.Fatalf("audit of the deployment: exit %d, %v, %+v\n%s", r.code, err, rep.Summary, r.err)
	}
	r = runPin(t, project, nil, "audit", "consumer", "--fail-on", "unpinned,unknown-digest")
	if r.code != 0 || !strings.Contains(r.out, "consistent: one release, 1.0.0") || !strings.Contains(r.out, ssRevision) {
		t.Fatalf("audit of the module ref: exit %d\n%s%s", r.code, r.out, r.err)
	}

	// A tag moved: a new build pushed under ref.<commit> for one service.
	testenv.PushRandomImage(t, serviceRepo(host, "bag_verifier")+":ref."+ssRevision, 1)
	runPin(t, project, nil, "check").mustSucceed(t, "offline check (cannot see a moved tag)")
	if r := runPin(t, project, nil, "check", "--online"); r.code != 4 || !strings.Contains(r.out, "moved-tag") || !strings.Contains(r.out, "bag_verifier") {
		t.Fatalf("check --online after the tag moved: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := runPin(t, project, nil, "audit", "--tfstate", show, "--fail-on", "moved-tag"); r.code != 4 || !strings.Contains(r.out, "moved-tag") {
		t.Fatalf("audit after the tag moved: exit %d\n%s%s", r.code, r.out, r.err)
	}

	// A trust failure: the lock's signed manifest altered. Nothing is written.
	lock := readFile(t, project, "pin.lock")
	tampered := strings.Replace(lock, `\"version\":\"1.0.0\"`, `\"version\":\"1.0.1\"`, 1)
	if tampered == lock {
		t.Fatal("could not tamper with pin.lock")
	}
	os.WriteFile(filepath.Join(project, "pin.lock"), []byte(tampered), 0o644)
	if r := runPin(t, project, nil, "check", "--online"); r.code != 3 {
		t.Fatalf("check with a tampered lock: exit %d, want 3\n%s%s", r.code, r.out, r.err)
	}
	os.WriteFile(filepath.Join(project, "pin.lock"), []byte(lock), 0o644)

	// A product value pin cannot pin fails update and check (exit 4).
	os.WriteFile(filepath.Join(project, "extra.tf"), []byte("locals {\n  image = \""+host+"/y1p3h6z3/${var.name}:latest\"\n}\n"), 0o644)
	if r := runPin(t, project, nil, "update"); r.code != 4 || !strings.Contains(r.err, "extra.tf:2: image reference templated under the product's registry prefix") {
		t.Fatalf("update with a templated reference: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := runPin(t, project, nil, "check"); r.code != 4 || !strings.Contains(r.out, "extra.tf:2") || !strings.Contains(r.out, "unmanaged") {
		t.Fatalf("check with a templated reference: exit %d\n%s%s", r.code, r.out, r.err)
	}

	// A tree with nothing pin manages: never an OK.
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	os.WriteFile(filepath.Join(empty, "main.tf"), []byte("locals {\n  cache = \"public.ecr.aws/docker/library/redis:7\"\n}\n"), 0o644)
	runPin(t, empty, nil, "init", "--source", store, "--channel", "stable", "--key-file", filepath.Join(dir, "release.pub")).mustSucceed(t, "init")
	if r := runPin(t, empty, nil, "update"); r.code != 2 || !strings.Contains(r.err, "no managed reference to storage-service") {
		t.Fatalf("update of a tree with nothing managed: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if _, err := os.Stat(filepath.Join(empty, "pin.lock")); !os.IsNotExist(err) {
		t.Fatal("a refused update wrote pin.lock")
	}
	if r := runPin(t, empty, nil, "audit", "--fail-on", "unpinned"); r.code != 2 || !strings.Contains(r.err, "checked nothing") {
		t.Fatalf("audit --fail-on of a tree with nothing of the product: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

// copyTree copies src into dst with old replaced by new in every file, and
// returns the files as written.
func copyTree(t *testing.T, src, dst, old, new string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		content := strings.ReplaceAll(string(b), old, new)
		out[filepath.ToSlash(rel)] = content
		os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o755)
		return os.WriteFile(filepath.Join(dst, rel), []byte(content), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readFile(t *testing.T, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// showJSON is `terraform show -json` of the demo deployed at the shared
// tag: one task definition per service, the app by ref.<commit>, the log
// router by its tag and digest.
func showJSON(host string) string {
	var res []string
	for i, s := range demoApps {
		defs := fmt.Sprintf(`[{"name":"app","image":"%s:ref.%s","essential":true}]`, serviceRepo(host, s), ssRevision)
		if i == 0 {
			defs = fmt.Sprintf(`[{"name":"app","image":"%s:ref.%s","essential":true},{"name":"log_router","image":"%s:%s","essential":true},{"name":"nginx","image":"%s:%s","essential":true}]`,
				serviceRepo(host, s), ssRevision, serviceRepo(host, "fluentbit"), ssSidecarTag, serviceRepo(host, "nginx_apigw"), ssSidecarTag)
		}
		b, _ := json.Marshal(defs)
		res = append(res, fmt.Sprintf(`{"address":"module.demo_stack.module.stack.module.%s.aws_ecs_task_definition.task","mode":"managed","type":"aws_ecs_task_definition","name":"task","values":{"family":"weco-demo-%s","container_definitions":%s}}`, s, s, b))
	}
	return `{"format_version":"1.0","terraform_version":"1.9.8","values":{"root_module":{"child_modules":[{"address":"module.demo_stack","resources":[` + strings.Join(res, ",") + `]}]}}}`
}
