package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/internal/testenv"
)

// dirConsumer publishes 1.0.0 (stable) into a directory store and makes a
// consumer project beside it, initialised with --source ../store and
// updated once. It returns the producer's directory and the project's.
func dirConsumer(t *testing.T) (dir, project string) {
	t.Helper()
	dir, host := producerSetup(t, dirStore)
	runPin(t, dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create")
	runPin(t, dir, pw, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote")
	project = filepath.Join(dir, "deployment")
	if err := os.MkdirAll(project, 0o755); err != nil {
		t.Fatal(err)
	}
	var tf strings.Builder
	tf.WriteString("locals {\n  images = {\n")
	for _, s := range services {
		tf.WriteString("    " + s + " = \"" + serviceRepo(host, s) + ":latest\"\n")
	}
	tf.WriteString("  }\n}\n")
	if err := os.WriteFile(filepath.Join(project, "main.tf"), []byte(tf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runPin(t, project, nil, "init", "--source", "../store", "--channel", "stable", "--key-file", "../release.pub").mustSucceed(t, "init")
	runPin(t, project, nil, "update").mustSucceed(t, "update")
	return dir, project
}

func setSource(t *testing.T, project, source string) {
	t.Helper()
	p := filepath.Join(project, "pin.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`(?m)^source: .*$`).ReplaceAllString(string(b), "source: "+source)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSourceMovedOrMistyped: a moved project or an edited source is a
// configuration error with its own message, not a rollback attack; a store
// that hides a channel pin.lock remembers is still a trust failure.
func TestSourceMovedOrMistyped(t *testing.T) {
	t.Parallel()
	dir, project := dirConsumer(t)
	if b, _ := os.ReadFile(filepath.Join(project, "pin.yaml")); !strings.Contains(string(b), "source: ../store\n") {
		t.Fatalf("init did not keep --source as typed:\n%s", b)
	}
	if err := os.MkdirAll(filepath.Join(dir, "empty-store"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		source string
		code   int
		want   string
	}{
		{"mistyped", "../stroe", 2, "source ../stroe not found"},
		{"another store", "../empty-store", 2, "source changed: pin.lock was made from ../store, pin.yaml now names ../empty-store, which lacks a channel pin.lock remembers (stable)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setSource(t, project, tt.source)
			defer setSource(t, project, "../store")
			for _, cmd := range []string{"update", "check"} {
				args := []string{cmd}
				if cmd == "check" {
					args = append(args, "--online")
				}
				r := runPin(t, project, nil, args...)
				if r.code != tt.code || !strings.Contains(r.err, tt.want) {
					t.Fatalf("%s: exit %d, want %d; stderr should contain %q:\n%s", cmd, r.code, tt.code, tt.want, r.err)
				}
			}
		})
	}
	t.Run("moved project", func(t *testing.T) {
		moved := filepath.Join(dir, "elsewhere", "deployment")
		os.MkdirAll(filepath.Dir(moved), 0o755)
		if err := os.Rename(project, moved); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(moved, project)
		r := runPin(t, moved, nil, "update")
		if r.code != 2 || !strings.Contains(r.err, "source ../store not found") || !strings.Contains(r.err, "moved") {
			t.Fatalf("moved project: exit %d\n%s", r.code, r.err)
		}
	})
	t.Run("index hidden by the same store", func(t *testing.T) {
		idx := filepath.Join(dir, "store", "channels", "stable.json")
		b, _ := os.ReadFile(idx)
		os.Remove(idx)
		defer os.WriteFile(idx, b, 0o644)
		if r := runPin(t, project, nil, "update"); r.code != 3 || !strings.Contains(r.err, "could hide yanks") {
			t.Fatalf("hidden index: exit %d\n%s", r.code, r.err)
		}
	})
}

// TestSuggestions: mistyped commands, flags and configuration keys get a
// "did you mean", as cobra, kubectl and gh users expect; a file passed to a
// command that takes none is explained. All are usage errors (exit 2).
func TestSuggestions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "pin.yaml"), []byte("source: ./store\nproduct: storage-service\nchanel: stable\n"), 0o644)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"updte"}, `unknown command "updte" for "pin": did you mean update?`},
		{[]string{"release", "creat", "1.0.0"}, `unknown command "creat" for "pin release": did you mean create?`},
		{[]string{"update", "--dryrun"}, "unknown flag: --dryrun: did you mean --dry-run?"},
		{[]string{"check", "main.tf"}, `pin check takes no arguments, got "main.tf": it checks the files pin.yaml lists under files:`},
		{[]string{"check"}, `pin.yaml:3: unknown field "chanel": did you mean channel?`},
		{[]string{"bogus"}, `unknown command "bogus" for "pin" (pin --help lists them)`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runPin(t, dir, nil, tt.args...)
			if r.code != 2 || !strings.Contains(r.err, tt.want) {
				t.Fatalf("exit %d, want 2; stderr should contain %q:\n%s", r.code, tt.want, r.err)
			}
		})
	}
}

// TestFileFormats: Terragrunt's .hcl is read as HCL; a file in a format pin
// does not read is a configuration error naming its path once.
func TestFileFormats(t *testing.T) {
	t.Parallel()
	_, project := dirConsumer(t)
	main, _ := os.ReadFile(filepath.Join(project, "main.tf"))
	host := regexp.MustCompile(`"([^"/]+)/y1p3h6z3/bags_api@`).FindStringSubmatch(string(main))
	if host == nil {
		t.Fatalf("no bags_api reference in main.tf:\n%s", main)
	}
	os.WriteFile(filepath.Join(project, "terragrunt.hcl"), []byte("inputs = {\n  image = \""+host[1]+"/y1p3h6z3/bags_api:latest\"\n}\n"), 0o644)
	b, _ := os.ReadFile(filepath.Join(project, "pin.yaml"))
	withHCL := regexp.MustCompile(`(?ms)^files:\n.*?^style:`).ReplaceAllString(string(b), "files:\n  - '**/*.tf'\n  - '**/*.hcl'\nstyle:")
	os.WriteFile(filepath.Join(project, "pin.yaml"), []byte(withHCL), 0o644)
	r := runPin(t, project, nil, "check")
	if r.code != 4 || !strings.Contains(r.out, "terragrunt.hcl:2") {
		t.Fatalf("check with an unpinned terragrunt.hcl: exit %d, want 4 naming terragrunt.hcl:2\n%s%s", r.code, r.out, r.err)
	}
	withTxt := strings.Replace(withHCL, "  - '**/*.hcl'\n", "  - '**/*.hcl'\n  - '**/*.txt'\n", 1)
	os.WriteFile(filepath.Join(project, "pin.yaml"), []byte(withTxt), 0o644)
	os.WriteFile(filepath.Join(project, "notes.txt"), []byte("bags_api runs "+host[1]+"/y1p3h6z3/bags_api:latest\n"), 0o644)
	r = runPin(t, project, nil, "update", "--dry-run")
	if r.code != 2 || strings.Count(r.err, "notes.txt") != 1 || !strings.Contains(r.err, "not a format pin reads") {
		t.Fatalf("a .txt matched by files: exit %d, want 2 naming notes.txt once:\n%s", r.code, r.err)
	}
}

// TestHoldAndYankedPin: a consumer holds a release with a reason recorded in
// pin.lock; the scheduled update respects it until --unhold. A yanked
// pinned release is left for the newest that is not (exit 0, said so).
func TestHoldAndYankedPin(t *testing.T) {
	t.Parallel()
	dir, project := dirConsumer(t)
	publish := func(edge, stable string) {
		runPin(t, dir, pw, "release", "create", edge, "--channel", "edge", "--key", "release.key").mustSucceed(t, "create "+edge)
		runPin(t, dir, pw, "release", "promote", edge, "--to", "stable", "--key", "release.key").mustSucceed(t, "promote "+edge)
	}
	lockHas := func(want string) {
		t.Helper()
		b, _ := os.ReadFile(filepath.Join(project, "pin.lock"))
		if !strings.Contains(string(b), want) {
			t.Fatalf("pin.lock lacks %q:\n%s", want, b)
		}
	}
	publish("1.1.0-edge.1", "1.1.0")
	runPin(t, project, nil, "update").mustSucceed(t, "update to 1.1.0")
	runPin(t, dir, pw, "release", "yank", "1.1.0", "--channel", "stable", "--reason", "breaks ingests", "--key", "release.key").mustSucceed(t, "yank")
	r := runPin(t, project, nil, "update", "--output", "json").mustSucceed(t, "update off the yanked release")
	if !strings.Contains(r.out, `"movedOffYanked": {`) || !strings.Contains(r.out, `"reason": "breaks ingests"`) || !strings.Contains(r.out, `"version": "1.0.0"`) {
		t.Fatalf("update --output json off a yanked release:\n%s", r.out)
	}
	lockHas(`"version": "1.0.0"`)

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"hold needs a reason", []string{"update", "--hold"}, 2, "a hold needs --reason"},
		{"hold", []string{"update", "--hold", "--reason", "waiting for INC-42"}, 0, "Holding 1.0.0 in pin.lock: waiting for INC-42"},
	}
	for _, tt := range tests {
		r := runPin(t, project, nil, tt.args...)
		if r.code != tt.code || !strings.Contains(r.out+r.err, tt.want) {
			t.Fatalf("%s: exit %d, want %d with %q\n%s%s", tt.name, r.code, tt.code, tt.want, r.out, r.err)
		}
	}
	lockHas(`"reason": "waiting for INC-42"`)
	publish("1.2.0-edge.1", "1.2.0")
	before, _ := os.ReadFile(filepath.Join(project, "main.tf"))
	r = runPin(t, project, nil, "update").mustSucceed(t, "held update")
	if !strings.Contains(r.out, "Held at 1.0.0 since") || !strings.Contains(r.out, "waiting for INC-42; 1.2.0 is available") {
		t.Fatalf("held update said:\n%s", r.out)
	}
	if after, _ := os.ReadFile(filepath.Join(project, "main.tf")); string(after) != string(before) {
		t.Fatal("a held update changed main.tf")
	}
	if r := runPin(t, project, nil, "update", "--to", "1.2.0"); r.code != 2 || !strings.Contains(r.err, "pin.lock holds 1.0.0 (waiting for INC-42): pass --unhold") {
		t.Fatalf("--to while held: exit %d\n%s", r.code, r.err)
	}
	runPin(t, project, nil, "update", "--unhold").mustSucceed(t, "unhold")
	lockHas(`"version": "1.2.0"`)
	if b, _ := os.ReadFile(filepath.Join(project, "pin.lock")); strings.Contains(string(b), `"hold"`) {
		t.Fatalf("--unhold left the hold in pin.lock:\n%s", b)
	}

	// update --output json reports what the files hold now, not the value
	// pin.lock remembers from before the first update (a tag).
	r = runPin(t, project, nil, "update", "--dry-run", "--output", "json").mustSucceed(t, "update --output json")
	var up struct {
		References []struct{ Old, New string } `json:"references"`
		Held       *struct{}                   `json:"held"`
	}
	if err := json.Unmarshal([]byte(r.out), &up); err != nil || len(up.References) != 20 {
		t.Fatalf("update --output json: %v\n%s", err, r.out)
	}
	for _, ref := range up.References {
		if ref.Old != ref.New || strings.HasSuffix(ref.Old, ":latest") {
			t.Fatalf("up-to-date reference reported old %q, new %q: old must be the file's current value", ref.Old, ref.New)
		}
	}
	if !strings.Contains(r.out, `"held": null`) || !strings.Contains(r.out, `"movedOffYanked": null`) {
		t.Fatalf("update --output json must carry held and movedOffYanked even when unset:\n%s", r.out)
	}
}

// TestCheckFailOnAndAuditPaths: check --online --fail-on lets a pull request
// pass on "update available" while drift still fails; audit from a
// subdirectory names files relative to pin.yaml, as check does.
func TestCheckFailOnAndAuditPaths(t *testing.T) {
	t.Parallel()
	dir, project := dirConsumer(t)
	runPin(t, dir, pw, "release", "create", "1.1.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create")
	runPin(t, dir, pw, "release", "promote", "1.1.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"all kinds fail by default", []string{"check", "--online"}, 4, "update-available"},
		{"update available reported, not failed", []string{"check", "--online", "--fail-on", "drift,unpinned,missing,yanked"}, 0, "1 finding(s) against storage-service 1.0.0; 0 of them fail the check"},
		{"unknown kind", []string{"check", "--fail-on", "drfit"}, 2, `--fail-on "drfit"`},
		{"json schemaVersion", []string{"check", "--output", "json"}, 0, `"schemaVersion": 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPin(t, project, nil, tt.args...)
			if r.code != tt.code || !strings.Contains(r.out+r.err, tt.want) {
				t.Fatalf("exit %d, want %d with %q\n%s%s", r.code, tt.code, tt.want, r.out, r.err)
			}
		})
	}
	// An unpinned reference still fails with --fail-on unpinned.
	b, _ := os.ReadFile(filepath.Join(project, "main.tf"))
	unpinned := regexp.MustCompile(`@sha256:[0-9a-f]{64}`).ReplaceAllLiteralString(string(b), ":latest")
	os.WriteFile(filepath.Join(project, "main.tf"), []byte(unpinned), 0o644)
	if r := runPin(t, project, nil, "check", "--online", "--fail-on", "unpinned"); r.code != 4 || !strings.Contains(r.out, "unpinned") {
		t.Fatalf("unpinned with --fail-on unpinned: exit %d\n%s", r.code, r.out)
	}
	os.WriteFile(filepath.Join(project, "main.tf"), b, 0o644)

	sub := filepath.Join(project, "modules", "x")
	os.MkdirAll(sub, 0o755)
	r := runPin(t, sub, nil, "audit", "-o", "json", "--all")
	if !strings.Contains(r.out, `"main.tf`) || strings.Contains(r.out, project) {
		t.Fatalf("audit from a subdirectory must name main.tf relative to pin.yaml, not %s:\n%s%s", project, r.out, r.err)
	}
}

// TestOutputFlags: every command takes -o/--output; audit's old --format
// still works and says it is deprecated.
func TestOutputFlags(t *testing.T) {
	t.Parallel()
	_, project := dirConsumer(t)
	for _, args := range [][]string{
		{"check", "-o", "json"},
		{"update", "--dry-run", "-o", "json"},
		{"audit", "-o", "json"},
		{"audit", "--output=json"},
		{"version", "-o", "json"},
		{"release", "list", "--config", "../release.yaml", "-o", "json"},
	} {
		r := runPin(t, project, nil, args...)
		if r.code != 0 || !strings.HasPrefix(strings.TrimSpace(r.out), "{") && !strings.HasPrefix(strings.TrimSpace(r.out), "[") {
			t.Fatalf("%v: exit %d, not JSON:\n%s%s", args, r.code, r.out, r.err)
		}
	}
	r := runPin(t, project, nil, "audit", "--format", "json")
	if r.code != 0 || !strings.Contains(r.err, "--format is deprecated: use --output (-o)") || !strings.Contains(r.out, `"schemaVersion"`) {
		t.Fatalf("audit --format json: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

// TestKeysIDAndInitConstraint: pin keys id prints the id signature errors
// name, the same from the public key file, pin.yaml and the signing key;
// init refuses a constraint no release satisfies and writes nothing.
func TestKeysIDAndInitConstraint(t *testing.T) {
	t.Parallel()
	dir, project := dirConsumer(t)
	fromFile := runPin(t, project, nil, "keys", "id", "../release.pub").mustSucceed(t, "keys id FILE")
	fromConfig := runPin(t, project, nil, "keys", "id").mustSucceed(t, "keys id")
	fromKey := runPin(t, project, pw, "keys", "id", "--key", "../release.key").mustSucceed(t, "keys id --key")
	id := strings.Fields(fromFile.out)
	if len(id) != 2 || len(id[0]) != 16 || id[1] != "../release.pub" {
		t.Fatalf("keys id release.pub printed %q", fromFile.out)
	}
	if !strings.HasPrefix(fromConfig.out, id[0]+"  pin.yaml keys[0]") || !strings.HasPrefix(fromKey.out, id[0]+"  ../release.key") {
		t.Fatalf("ids differ: file %q, pin.yaml %q, signing key %q", fromFile.out, fromConfig.out, fromKey.out)
	}
	// The id is the one a signature error names.
	runPin(t, dir, pw, "keys", "generate", "--out", "other").mustSucceed(t, "keys generate other")
	otherID := strings.Fields(runPin(t, dir, nil, "keys", "id", "other.pub").mustSucceed(t, "keys id other.pub").out)[0]
	if r := runPin(t, dir, nil, "channel", "show", "stable", "--config", "release.yaml", "--key-file", "other.pub"); r.code != 3 || !strings.Contains(r.err, otherID) {
		t.Fatalf("channel show with the wrong key: exit %d, want 3 naming key %s\n%s", r.code, otherID, r.err)
	}

	fresh := filepath.Join(dir, "fresh")
	os.MkdirAll(fresh, 0o755)
	r := runPin(t, fresh, nil, "init", "--source", "../store", "--channel", "stable", "--key-file", "../release.pub", "--constraint", "~9.0")
	if r.code != 2 || !strings.Contains(r.err, `--constraint "~9.0": no release on stable satisfies it (releases not yanked: 1.0.0)`) {
		t.Fatalf("init with an unsatisfiable constraint: exit %d\n%s", r.code, r.err)
	}
	if _, err := os.Stat(filepath.Join(fresh, "pin.yaml")); !os.IsNotExist(err) {
		t.Fatalf("init wrote pin.yaml for an unsatisfiable constraint: %v", err)
	}
	runPin(t, fresh, nil, "init", "--source", "../store", "--channel", "stable", "--key-file", "../release.pub", "--constraint", "~1.0").mustSucceed(t, "init ~1.0")
}

// TestUpdateMarkdownSummary: update --summary markdown is a pull request
// body: the release moved to and from, a table of the components that
// change, and where.
func TestUpdateMarkdownSummary(t *testing.T) {
	t.Parallel()
	dir, project := dirConsumer(t)
	main, _ := os.ReadFile(filepath.Join(project, "main.tf"))
	host := regexp.MustCompile(`"([^"/]+)/y1p3h6z3/bags_api@`).FindStringSubmatch(string(main))[1]
	testenv.PushRandomImage(t, serviceRepo(host, "notifier")+":latest", 1)
	runPin(t, dir, pw, "release", "create", "1.1.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create")
	runPin(t, dir, pw, "release", "promote", "1.1.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote")
	r := runPin(t, project, nil, "update", "--summary", "markdown").mustSucceed(t, "update --summary markdown")
	for _, want := range []string{
		"## Pin storage-service to 1.1.0\n",
		"Moves **storage-service** from 1.0.0 to **1.1.0** (stable channel).",
		"| Component | From | To | Where |\n|---|---|---|---|\n| notifier | `" + host + "/y1p3h6z3/notifier@sha256:",
		"| main.tf:",
		"19 other component(s) unchanged.",
		"Release notes: https://github.com/wellcomecollection/storage-service",
	} {
		if !strings.Contains(r.out, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, "+++ b/main.tf") {
		t.Errorf("the summary printed the diff too:\n%s", r.out)
	}
	if r := runPin(t, project, nil, "update", "--summary", "html"); r.code != 2 {
		t.Fatalf("--summary html: exit %d", r.code)
	}
}

// TestCompletionValues: completion offers channel names, output formats and
// the versions the store lists, through cobra's __complete protocol.
func TestCompletionValues(t *testing.T) {
	t.Parallel()
	dir, project := dirConsumer(t)
	tests := []struct {
		dir  string
		args []string
		want []string
	}{
		{dir, []string{"__complete", "release", "create", "1.0.1-edge.1", "--channel", ""}, []string{"stable", "edge"}},
		{dir, []string{"__complete", "release", "show", ""}, []string{"1.0.0", "1.0.0-edge.1"}},
		{dir, []string{"__complete", "release", "diff", "1.0.0", ""}, []string{"1.0.0", "1.0.0-edge.1"}},
		{project, []string{"__complete", "update", "--to", ""}, []string{"1.0.0"}},
		{project, []string{"__complete", "audit", "--output", ""}, []string{"table", "json", "markdown"}},
		{project, []string{"__complete", "check", "-o", ""}, []string{"text", "json"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[1:], " "), func(t *testing.T) {
			r := runPin(t, tt.dir, nil, tt.args...).mustSucceed(t, "complete")
			got := strings.Split(strings.TrimSpace(r.out), "\n")
			got = got[:len(got)-1] // the directive line, ":4"
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("completions %q, want %q", got, tt.want)
			}
		})
	}
}
