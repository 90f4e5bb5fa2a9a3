package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// auditSetup publishes 1.0.0 and 1.1.0 (bags_api and notifier changed) and
// returns the producer directory, the store, and the digests of both.
func auditSetup(t *testing.T) (dir, host string, digests map[string]map[string]string) {
	t.Helper()
	host = memRegistry(t)
	seed(t, host, services)
	dir = t.TempDir()
	copyKeys(t, dir)
	writeReleaseConfig(t, dir, host, "./store")
	digests = map[string]map[string]string{}
	for _, v := range []struct{ edge, stable string }{{"1.0.0-edge.1", "1.0.0"}, {"1.1.0-edge.1", "1.1.0"}} {
		if v.edge == "1.1.0-edge.1" {
			seed(t, host, []string{"bags_api", "notifier"})
		}
		runPin(t, dir, pw, "release", "create", v.edge, "--channel", "edge", "--key", "release.key").mustSucceed(t, "create")
		runPin(t, dir, pw, "release", "promote", v.edge, "--to", "stable", "--key", "release.key").mustSucceed(t, "promote")
		show := runPin(t, dir, nil, "release", "show", v.stable, "--config", "release.yaml", "--output", "json").mustSucceed(t, "show")
		var rel struct {
			Components []struct{ Name, Repository, Digest string }
		}
		json.Unmarshal([]byte(show.out), &rel)
		digests[v.stable] = map[string]string{}
		for _, c := range rel.Components {
			digests[v.stable][c.Name] = c.Repository + "@" + c.Digest
		}
	}
	return dir, host, digests
}

func TestAuditStatusesAndExitCodes(t *testing.T) {
	t.Parallel()
	dir, host, d := auditSetup(t)
	store := filepath.Join(dir, "store")
	pub := filepath.Join(dir, "release.pub")
	deploy := t.TempDir()
	// A mixed deployment: bags_api from 1.0.0 (outdated), notifier current,
	// ingests_api unpinned, file_finder at a digest no release lists, and a foreign image.
	compose := fmt.Sprintf(`services:
  api:
    image: %s
  notifier:
    image: %s
  ingests:
    image: %s:latest
  finder:
    image: %s@sha256:%s
  cache:
    image: public.ecr.aws/docker/library/redis:7
`, d["1.0.0"]["bags_api"], d["1.1.0"]["notifier"], serviceRepo(host, "ingests_api"), serviceRepo(host, "file_finder"), strings.Repeat("ab", 32))
	os.WriteFile(filepath.Join(deploy, "docker-compose.yml"), []byte(compose), 0o644)
	cache := filepath.Join(t.TempDir(), "cache")
	base := []string{"audit", deploy, "--source", store, "--key-file", pub, "--cache-dir", cache}

	r := runPin(t, "", nil, append(base, "--format", "json", "--all")...).mustSucceed(t, "audit --format json")
	var rep struct {
		Findings []struct {
			Component, Status string
			Behind            int
		}
		Summary struct {
			Mixed bool
		}
	}
	if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
		t.Fatalf("audit json: %v\n%s", err, r.out)
	}
	got := map[string]string{}
	for _, f := range rep.Findings {
		got[f.Component+"/"+f.Status] = fmt.Sprint(f.Behind)
	}
	for _, want := range []string{"bags_api/outdated", "notifier/current", "ingests_api/unpinned", "file_finder/unknown-digest"} {
		if _, ok := got[want]; !ok {
			t.Errorf("audit lacks %s; got %v", want, got)
		}
	}
	if got["bags_api/outdated"] != "1" || !rep.Summary.Mixed {
		t.Errorf("bags_api behind %s, mixed %v; want 1 and true", got["bags_api/outdated"], rep.Summary.Mixed)
	}
	if !strings.Contains(r.out, `"foreign"`) {
		t.Error("--all did not list the foreign image")
	}
	for _, item := range []string{"outdated", "unpinned", "unknown-digest", "mixed"} {
		if r := runPin(t, "", nil, append(base, "--fail-on", item)...); r.code != 4 {
			t.Errorf("--fail-on %s: exit %d, want 4\n%s", item, r.code, r.err)
		}
	}
	if r := runPin(t, "", nil, append(base, "--fail-on", "yanked")...); r.code != 0 {
		t.Errorf("--fail-on yanked with nothing yanked: exit %d", r.code)
	}
	// Yank 1.0.0: bags_api's digest is listed only there (and in its edge build).
	runPin(t, dir, pw, "release", "yank", "1.0.0", "--channel", "stable", "--reason", "bag verifier regression", "--key", "release.key").mustSucceed(t, "yank")
	r = runPin(t, "", nil, append(base, "--fail-on", "yanked", "--format", "markdown")...)
	if r.code != 4 || !strings.Contains(r.out, "bag verifier regression") {
		t.Errorf("after yank: exit %d\n%s", r.code, r.out)
	}
	// A wrong key: every managed reference is unsigned-source, and the exit is 3.
	runPin(t, dir, pw, "keys", "generate", "--out", "other").mustSucceed(t, "other key")
	r = runPin(t, "", nil, "audit", deploy, "--source", store, "--key-file", filepath.Join(dir, "other.pub"), "--cache-dir", cache)
	if r.code != 3 || !strings.Contains(r.out, "unsigned-source") {
		t.Errorf("wrong key: exit %d\n%s%s", r.code, r.out, r.err)
	}
	// Bad input is a usage error.
	if r := runPin(t, "", nil, append(base, "--fail-on", "everything")...); r.code != 2 {
		t.Errorf("--fail-on everything: exit %d", r.code)
	}
	if r := runPin(t, "", nil, append([]string{"audit", "-"}, base[2:]...)...); r.code != 2 || !strings.Contains(r.err, "standard input is empty") {
		t.Errorf("audit of empty stdin: exit %d %s", r.code, r.err)
	}
	if r := runPin(t, "", nil, "audit", deploy); r.code != 2 || !strings.Contains(r.err, "--source") {
		t.Errorf("audit with nothing to judge against: exit %d %s", r.code, r.err)
	}
}

func TestAuditStateAndStdin(t *testing.T) {
	t.Parallel()
	dir, _, d := auditSetup(t)
	store := filepath.Join(dir, "store")
	pub := filepath.Join(dir, "release.pub")
	// A raw Terraform state whose task definition holds container_definitions as a JSON string.
	defs, _ := json.Marshal([]map[string]string{{"name": "app", "image": d["1.1.0"]["bags_api"]}, {"name": "logs", "image": d["1.1.0"]["fluentbit"]}})
	state := fmt.Sprintf(`{"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "x", "outputs": {}, "resources": [
  {"mode": "managed", "type": "aws_ecs_task_definition", "name": "bags_api", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
   "instances": [{"schema_version": 1, "attributes": {"family": "bags_api", "container_definitions": %q}}]}]}`, defs)
	statePath := filepath.Join(t.TempDir(), "terraform.tfstate")
	os.WriteFile(statePath, []byte(state), 0o644)
	r := runPin(t, "", nil, "audit", "--tfstate", statePath, "--source", store, "--key-file", pub, "--cache-dir", t.TempDir(), "--fail-on", "unpinned,outdated,mixed").mustSucceed(t, "audit --tfstate")
	if !strings.Contains(r.out, "aws_ecs_task_definition.bags_api") || !strings.Contains(r.out, "consistent") {
		t.Fatalf("audit of a state file:\n%s", r.out)
	}
}

// TestAuditNotes: values naming the product that audit cannot judge are
// warned about and count as unpinned for --fail-on; an unparseable file met
// while walking is skipped with a warning instead of stopping the audit.
func TestAuditNotes(t *testing.T) {
	t.Parallel()
	dir, host, d := auditSetup(t)
	store := filepath.Join(dir, "store")
	pub := filepath.Join(dir, "release.pub")
	deploy := t.TempDir()
	tf := fmt.Sprintf("locals {\n  api   = %q\n  other = \"${var.registry}/y1p3h6z3/notifier:${var.tag}\"\n}\n", d["1.1.0"]["bags_api"])
	os.WriteFile(filepath.Join(deploy, "main.tf"), []byte(tf), 0o644)
	os.WriteFile(filepath.Join(deploy, "tsconfig.json"), []byte("{ // comments are not JSON\n}\n"), 0o644)
	_ = host
	base := []string{"audit", deploy, "--source", store, "--key-file", pub, "--cache-dir", t.TempDir()}
	r := runPin(t, "", nil, base...).mustSucceed(t, "audit with notes")
	if !strings.Contains(r.err, "main.tf:3") || !strings.Contains(r.err, "interpolation") || !strings.Contains(r.err, "tsconfig.json:1: skipped") {
		t.Fatalf("audit warnings:\n%s", r.err)
	}
	if r := runPin(t, "", nil, append(base, "--fail-on", "unpinned")...); r.code != 4 {
		t.Fatalf("--fail-on unpinned with an interpolated product image: exit %d", r.code)
	}
	j := runPin(t, "", nil, append(base, "--output", "json")...).mustSucceed(t, "audit --output json")
	var rep struct {
		Warnings []struct {
			Source  string `json:"source"`
			Line    int    `json:"line"`
			Message string `json:"message"`
		} `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(j.out), &rep); err != nil || len(rep.Warnings) != 2 || j.err != "" {
		t.Fatalf("audit --output json warnings: %v %+v, stderr %q", err, rep.Warnings, j.err)
	}
}
