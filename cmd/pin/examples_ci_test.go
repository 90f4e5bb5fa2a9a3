package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// ciDir holds the CI examples shipped with pin.
const ciDir = "../../examples/ci"

// ciCommand is one pin invocation found in a CI example.
type ciCommand struct {
	line string   // as written, continuations joined
	args []string // after "pin", shell words with $VARS expanded from the file's env
}

// ciCommands returns every pin invocation in the string scalars of a CI
// file, and the file's top-level env (GitHub Actions and Buildkite both
// have one).
func ciCommands(t *testing.T, file string) (doc map[string]any, cmds []ciCommand) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(ciDir, file))
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if err := root.Decode(&doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	env := map[string]string{}
	if m, ok := doc["env"].(map[string]any); ok {
		for k, v := range m {
			if s, ok := v.(string); ok {
				env[k] = s
			}
		}
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
			for _, line := range strings.Split(strings.ReplaceAll(n.Value, "\\\n", " "), "\n") {
				line = strings.TrimSpace(line)
				if !strings.HasPrefix(line, "pin ") {
					continue
				}
				words, err := shellWords(line)
				if err != nil {
					t.Fatalf("%s: %q: %v", file, line, err)
				}
				for i, w := range words {
					words[i] = os.Expand(w, func(k string) string {
						if v, ok := env[k]; ok {
							return v
						}
						return "$" + k // a value known only at run time
					})
				}
				cmds = append(cmds, ciCommand{line: line, args: words[1:]})
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	return doc, cmds
}

// shellWords splits one shell command line into words: quotes and
// backslashes as sh reads them, stopping at a comment, pipe, list or
// redirection (what follows is another command).
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errUnterminated
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, errUnterminated
			}
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case strings.IndexByte("|;&<>", c) >= 0 || (c == '#' && !inWord):
			if inWord {
				words = append(words, w.String())
			}
			return words, nil
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

var errUnterminated = errors.New("unterminated quote")

// parseCI checks args the way pin would read them, without running
// anything: the subcommand exists and runs, every flag exists and takes its
// value, required flags are there and the positional arguments fit.
func parseCI(args []string) (string, error) {
	root := newRootCmd(&app{})
	cmd, rest, err := root.Find(args)
	if err != nil {
		return "", err
	}
	if cmd == root || !cmd.Runnable() || cmd.HasSubCommands() {
		return cmd.CommandPath(), errNotRunnable
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return cmd.CommandPath(), err
	}
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return cmd.CommandPath(), err
	}
	return cmd.CommandPath(), cmd.ValidateArgs(cmd.Flags().Args())
}

var errNotRunnable = errors.New("not a command that runs")

// TestCIExamplesParse reads every pin command in examples/ci through pin's own
// command tree, so that an example that names a flag or subcommand pin does
// not have, or omits a required flag, fails here rather than in a pipeline.
func TestCIExamplesParse(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(ciDir, "*.yml"))
	if err != nil || len(files) < 4 {
		t.Fatalf("CI examples: %v %v", files, err)
	}
	for _, f := range files {
		file := filepath.Base(f)
		t.Run(file, func(t *testing.T) {
			_, cmds := ciCommands(t, file)
			if len(cmds) == 0 {
				t.Fatal("no pin commands found")
			}
			for _, c := range cmds {
				if path, err := parseCI(c.args); err != nil {
					t.Errorf("%q (%s): %v", c.line, path, err)
				}
			}
		})
	}
}

// TestCIExamplesReleaseOneCommitWithKMS holds the KMS examples to what they
// are for: an edge release of the build's commit (--revision) signed by the
// KMS key, a manual promotion to stable, and a scheduled refresh of both
// channels, every signing command using the KMS key.
func TestCIExamplesReleaseOneCommitWithKMS(t *testing.T) {
	t.Parallel()
	kms := regexp.MustCompile(`^awskms:///alias/[A-Za-z0-9/_-]+$`)
	keylessKey := regexp.MustCompile(`^` + keylessKeyRef + `$`)
	for file, revision := range map[string]string{
		"buildkite-release.yml":      "$BUILDKITE_COMMIT",
		"github-release-kms.yml":     "$COMMIT",
		"github-release-keyless.yml": "$COMMIT",
	} {
		kms := kms
		if strings.Contains(file, "keyless") {
			kms = keylessKey // the same workflow, signing as the job's identity
		}
		t.Run(file, func(t *testing.T) {
			doc, cmds := ciCommands(t, file)
			seen := map[string]bool{}
			for _, c := range cmds {
				path, err := parseCI(c.args)
				if err != nil {
					t.Fatalf("%q: %v", c.line, err)
				}
				root := newRootCmd(&app{})
				cmd, rest, _ := root.Find(c.args)
				if err := cmd.ParseFlags(rest); err != nil {
					t.Fatal(err)
				}
				key := cmd.Flags().Lookup("key")
				if key != nil && !kms.MatchString(key.Value.String()) {
					t.Errorf("%q signs with %q, not a KMS key", c.line, key.Value.String())
				}
				switch path {
				case "pin release create":
					ch, _ := cmd.Flags().GetString("channel")
					rev, _ := cmd.Flags().GetString("revision")
					if ch != "edge" || rev != revision {
						t.Errorf("%q: channel %q revision %q, want edge and %s", c.line, ch, rev, revision)
					}
				case "pin release promote":
					if to, _ := cmd.Flags().GetString("to"); to != "stable" {
						t.Errorf("%q promotes to %q", c.line, to)
					}
				case "pin channel refresh":
					ch, _ := cmd.Flags().GetString("channel")
					path += " " + ch
				}
				seen[path] = true
			}
			for _, want := range []string{"pin release create", "pin release promote", "pin channel refresh edge", "pin channel refresh stable"} {
				if !seen[want] {
					t.Errorf("no %s (found %v)", want, seen)
				}
			}
			if file == "buildkite-release.yml" {
				checkBuildkite(t, doc)
			} else {
				checkGitHub(t, doc)
			}
		})
	}
}

// checkBuildkite: a block step gates promotion; refresh runs in scheduled
// builds and release steps do not; every step that signs assumes a role.
func checkBuildkite(t *testing.T, doc map[string]any) {
	steps, _ := doc["steps"].([]any)
	var block, refreshScheduled, releaseUnscheduled bool
	for _, s := range steps {
		step, _ := s.(map[string]any)
		cond, _ := step["if"].(string)
		command, _ := step["command"].(string)
		if _, ok := step["block"]; ok {
			block = true
		}
		if strings.Contains(command, "pin channel refresh") && strings.Contains(cond, `build.source == "schedule"`) {
			refreshScheduled = true
		}
		if strings.Contains(command, "pin release create") && strings.Contains(cond, `build.source != "schedule"`) {
			releaseUnscheduled = true
		}
		if strings.Contains(command, "--key") && !strings.Contains(yamlString(t, step["plugins"]), "aws-assume-role-with-web-identity") {
			t.Errorf("step %q signs without assuming the AWS role", step["label"])
		}
	}
	if !block || !refreshScheduled || !releaseUnscheduled {
		t.Errorf("block step %v, scheduled refresh %v, release outside schedules %v", block, refreshScheduled, releaseUnscheduled)
	}
}

// checkGitHub: triggered after the build workflow, on a schedule and by
// hand; promotion waits in a protected environment; OIDC for the role.
func checkGitHub(t *testing.T, doc map[string]any) {
	on, _ := doc["on"].(map[string]any)
	for _, trig := range []string{"workflow_run", "schedule", "workflow_dispatch"} {
		if _, ok := on[trig]; !ok {
			t.Errorf("no %s trigger", trig)
		}
	}
	perms := yamlString(t, doc["permissions"])
	if !strings.Contains(perms, "id-token: write") {
		t.Errorf("permissions %q: OIDC needs id-token: write", perms)
	}
	jobs, _ := doc["jobs"].(map[string]any)
	promote, _ := jobs["promote"].(map[string]any)
	if promote["environment"] != "stable" {
		t.Errorf("promote job environment %v, want the protected stable", promote["environment"])
	}
	for name, j := range jobs {
		if s := yamlString(t, j); strings.Contains(s, "--key") && !strings.Contains(s, "aws-actions/configure-aws-credentials") {
			t.Errorf("job %s signs without assuming the AWS role", name)
		}
	}
	if edge := yamlString(t, jobs["edge"]); !strings.Contains(edge, "github.event.workflow_run.head_sha") {
		t.Error("the edge job does not release the commit the build workflow built")
	}
}

func yamlString(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestShellWords(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`pin release create "$version" --channel edge`:       `pin|release|create|$version|--channel|edge`,
		`pin channel refresh --key 'a b' # comment`:          `pin|channel|refresh|--key|a b`,
		`pin update | tee "$RUNNER_TEMP/x" && echo`:          `pin|update`,
		`pin check --format=json > out.json`:                 `pin|check|--format=json`,
		`pin x "a \"quoted\" \$word" b\ c`:                   `pin|x|a "quoted" $word|b c`,
		`pin release show 1.0.0 --output json; echo done`:    `pin|release|show|1.0.0|--output|json`,
		`pin release create "$(cat .next-version)-edge.1" x`: `pin|release|create|$(cat .next-version)-edge.1|x`,
	} {
		got, err := shellWords(in)
		if err != nil || strings.Join(got, "|") != want {
			t.Errorf("shellWords(%q) = %q (%v), want %q", in, strings.Join(got, "|"), err, want)
		}
	}
	if _, err := shellWords(`pin "unterminated`); err == nil {
		t.Error("an unterminated quote was accepted")
	}
}
