package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/internal/testenv"
)

// consumerFlow is the consumer's end-to-end path through the CLI: create,
// init, update, check, a new release, update, check; plus the exit codes a CI
// job relies on.
func consumerFlow(t *testing.T, host string) {
	dir := t.TempDir()
	copyKeys(t, dir)
	writeReleaseConfig(t, dir, host, "oci://"+host+"/storage-service-releases")
	runPin(t, dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create")
	runPin(t, dir, pw, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote")

	project := filepath.Join(dir, "deployment")
	os.MkdirAll(project, 0o755)
	var tf strings.Builder
	tf.WriteString("# demo\nlocals {\n  images = {\n")
	for _, s := range services {
		tf.WriteString("    " + s + " = \"" + serviceRepo(host, s) + ":latest\"\n")
	}
	tf.WriteString("  }\n  cache = \"public.ecr.aws/docker/library/redis:7\"\n}\n")
	os.WriteFile(filepath.Join(project, "main.tf"), []byte(tf.String()), 0o644)
	pub := filepath.Join(dir, "release.pub")
	source := "oci://" + host + "/storage-service-releases"

	runPin(t, project, nil, "init", "--source", source, "--channel", "stable", "--key-file", pub).mustSucceed(t, "init")
	if r := runPin(t, project, nil, "init", "--source", source, "--channel", "stable", "--key-file", pub); r.code != 2 || !strings.Contains(r.err, "--force") {
		t.Fatalf("second init: exit %d, %s", r.code, r.err)
	}
	if r := runPin(t, project, nil, "check"); r.code != 2 || !strings.Contains(r.err, "pin update") {
		t.Fatalf("check before any update: exit %d, %s", r.code, r.err)
	}
	if r := runPin(t, project, nil, "update", "--dry-run", "--exit-code"); r.code != 4 || !strings.Contains(r.out, "+++ b/main.tf") {
		t.Fatalf("update --dry-run --exit-code: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if _, err := os.Stat(filepath.Join(project, "pin.lock")); !os.IsNotExist(err) {
		t.Fatal("--dry-run wrote pin.lock")
	}
	runPin(t, project, nil, "update").mustSucceed(t, "update")
	r := runPin(t, project, nil, "check", "--output", "json").mustSucceed(t, "check")
	var res struct {
		Version    string `json:"version"`
		References int    `json:"references"`
	}
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || res.Version != "1.0.0" || res.References != 20 {
		t.Fatalf("check --output json: %v %+v", err, res)
	}
	main1, _ := os.ReadFile(filepath.Join(project, "main.tf"))
	if !strings.Contains(string(main1), "public.ecr.aws/docker/library/redis:7") || strings.Count(string(main1), "@sha256:") != 20 {
		t.Fatalf("main.tf after update:\n%s", main1)
	}

	// A new release of two services.
	seed(t, host, []string{"bags_api", "notifier"})
	runPin(t, dir, pw, "release", "create", "1.1.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create 1.1.0-edge.1")
	runPin(t, dir, pw, "release", "promote", "1.1.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote 1.1.0")
	const newer = "release 1.1.0 is available on stable (pinned: 1.0.0): run pin update"
	if r := runPin(t, project, nil, "check", "--online"); r.code != 4 || !strings.Contains(r.out, "update-available") || !strings.Contains(r.out, newer) {
		t.Fatalf("check --online with 1.1.0 out: exit %d\n%s%s", r.code, r.out, r.err)
	}
	// JSON reads as the text does: cmd/pin words the finding before encoding.
	if r := runPin(t, project, nil, "check", "--online", "--output", "json"); r.code != 4 || !strings.Contains(r.out, `"message": "`+newer+`"`) {
		t.Fatalf("check --online --output json with 1.1.0 out: exit %d\n%s%s", r.code, r.out, r.err)
	}
	r = runPin(t, project, nil, "update", "--output", "json").mustSucceed(t, "update to 1.1.0")
	var up struct {
		Version string   `json:"version"`
		Files   []string `json:"files"`
		Diff    string   `json:"diff"`
	}
	if err := json.Unmarshal([]byte(r.out), &up); err != nil || up.Version != "1.1.0" {
		t.Fatalf("update --output json: %v %+v", err, up)
	}
	if changed := strings.Count(up.Diff, "\n+    "); changed != 2 {
		t.Fatalf("update to 1.1.0 changed %d lines, want 2 (bags_api, notifier):\n%s", changed, up.Diff)
	}
	runPin(t, project, nil, "check").mustSucceed(t, "check after second update")
	if r := runPin(t, project, nil, "update", "--exit-code"); r.code != 0 || !strings.Contains(r.out, "Up to date") {
		t.Fatalf("third update: exit %d\n%s", r.code, r.out)
	}

	// From a subdirectory, pin finds the project's pin.yaml as git finds .git.
	sub := filepath.Join(project, "modules", "x")
	os.MkdirAll(sub, 0o755)
	runPin(t, sub, nil, "check").mustSucceed(t, "check from a subdirectory")

	// Drift fails CI with file:line.
	os.WriteFile(filepath.Join(project, "main.tf"), main1, 0o644)
	if r := runPin(t, project, nil, "check"); r.code != 4 || !strings.Contains(r.out, "main.tf:4") {
		t.Fatalf("check on drifted files: exit %d\n%s", r.code, r.out)
	}
	// A yanked release is reported online.
	runPin(t, project, nil, "update").mustSucceed(t, "update back to 1.1.0")
	runPin(t, dir, pw, "release", "yank", "1.1.0", "--channel", "stable", "--reason", "breaks ingests", "--key", "release.key").mustSucceed(t, "yank")
	if r := runPin(t, project, nil, "check", "--online"); r.code != 4 || !strings.Contains(r.out, "breaks ingests") {
		t.Fatalf("check --online after yank: exit %d\n%s", r.code, r.out)
	}
	// And the scheduled update moves off it, to 1.0.0, saying why: the yank
	// is the producer's signed instruction, not a rollback.
	if r := runPin(t, project, nil, "update"); r.code != 0 || !strings.Contains(r.out, "1.1.0 is yanked on stable (breaks ingests): moved to 1.0.0") {
		t.Fatalf("update after yank: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

func TestConsumerFlowInMemory(t *testing.T) {
	t.Parallel()
	host := memRegistry(t)
	seed(t, host, services)
	consumerFlow(t, host)
}

func TestIntegrationConsumerFlowRealRegistry(t *testing.T) {
	t.Parallel()
	host := testenv.Registry(t)
	seed(t, host, services)
	consumerFlow(t, host)
}
