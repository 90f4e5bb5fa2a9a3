package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/manifest"
)

var pw = env{"COSIGN_PASSWORD": "s3cret"}

// producerSetup makes a registry with 20 images, a key pair and release.yaml.
func producerSetup(t *testing.T, store func(host, dir string) string) (dir, host string) {
	t.Helper()
	host = memRegistry(t)
	seed(t, host, services)
	dir = t.TempDir()
	copyKeys(t, dir)
	writeReleaseConfig(t, dir, host, store(host, dir))
	return dir, host
}

func dirStore(_, dir string) string  { return "./store" }
func ociStore(host, _ string) string { return "oci://" + host + "/storage-service-releases" }

func TestProducerLifecycle(t *testing.T) {
	t.Parallel()
	for name, store := range map[string]func(string, string) string{"directory": dirStore, "oci": ociStore} {
		t.Run(name, func(t *testing.T) {
			dir, _ := producerSetup(t, store)
			r := runPin(t, dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key", "--output", "json").mustSucceed(t, "create")
			var created struct {
				Release       manifest.Release `json:"release"`
				ReleaseDigest string           `json:"releaseDigest"`
				Channel       manifest.Channel `json:"channel"`
			}
			if err := json.Unmarshal([]byte(r.out), &created); err != nil {
				t.Fatalf("create --output json: %v\n%s", err, r.out)
			}
			if len(created.Release.Components) != 20 || created.Channel.Sequence != 1 {
				t.Fatalf("created %d components, sequence %d", len(created.Release.Components), created.Channel.Sequence)
			}
			indexes := 0
			for _, c := range created.Release.Components {
				if len(c.Platforms) == 2 {
					indexes++
				}
			}
			if indexes != 7 {
				t.Fatalf("%d components recorded two platforms, want 7", indexes)
			}

			runPin(t, dir, pw, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote")
			show := runPin(t, dir, nil, "release", "show", "1.0.0", "--config", "release.yaml", "--key-file", "release.pub", "--output", "json").mustSucceed(t, "show")
			stable, err := manifest.DecodeRelease([]byte(show.out), manifest.Expect{Version: "1.0.0"})
			if err != nil {
				t.Fatalf("show --output json is not the manifest: %v", err)
			}
			if stable.PromotedFrom == nil || stable.PromotedFrom.Digest != created.ReleaseDigest {
				t.Fatalf("promotedFrom = %+v, want %s", stable.PromotedFrom, created.ReleaseDigest)
			}
			diff := runPin(t, dir, nil, "release", "diff", "1.0.0-edge.1", "1.0.0", "--config", "release.yaml", "--output", "json").mustSucceed(t, "diff")
			if strings.TrimSpace(diff.out) != "[]" {
				t.Fatalf("promotion changed digests: %s", diff.out)
			}

			runPin(t, dir, pw, "release", "yank", "1.0.0", "--channel", "stable", "--reason", "bad bag verifier", "--key", "release.key").mustSucceed(t, "yank")
			runPin(t, dir, pw, "channel", "refresh", "--channel", "stable", "--key", "release.key").mustSucceed(t, "refresh")
			ch := runPin(t, dir, nil, "channel", "show", "stable", "--config", "release.yaml", "--key-file", "release.pub", "--output", "json").mustSucceed(t, "channel show")
			idx, err := manifest.DecodeChannel([]byte(ch.out), manifest.Expect{Channel: "stable"})
			if err != nil {
				t.Fatal(err)
			}
			if idx.Sequence != 3 || !idx.Releases[0].Yanked || idx.Releases[0].Reason != "bad bag verifier" {
				t.Fatalf("stable after promote, yank, refresh: sequence %d, %+v", idx.Sequence, idx.Releases)
			}
			list := runPin(t, dir, nil, "release", "list", "--config", "release.yaml").mustSucceed(t, "list")
			for _, want := range []string{"1.0.0-edge.1", "yanked: bad bag verifier"} {
				if !strings.Contains(list.out, want) {
					t.Errorf("release list lacks %q:\n%s", want, list.out)
				}
			}
			if !strings.Contains(list.err, "signatures not verified") {
				t.Errorf("release list without --key-file must say signatures were not verified; stderr: %q", list.err)
			}
			// A different key must not verify what was published.
			runPin(t, dir, pw, "keys", "generate", "--out", "other").mustSucceed(t, "keys generate other")
			if r := runPin(t, dir, nil, "channel", "show", "stable", "--config", "release.yaml", "--key-file", "other.pub"); r.code != 3 {
				t.Fatalf("channel show with the wrong key: exit %d, want 3\n%s", r.code, r.err)
			}
		})
	}
}

func TestProducerRefusals(t *testing.T) {
	t.Parallel()
	dir, host := producerSetup(t, dirStore)
	runPin(t, dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "first create")
	storeBefore := snapshotDir(t, filepath.Join(dir, "store"))

	brokenCfg := filepath.Join(dir, "broken.yaml")
	os.WriteFile(brokenCfg, []byte("product: storage-service\nsource: x\nstore: ./store\nchannels:\n  beta: {ttl: 1h}\ncomponents: []\n"), 0o644)
	missing := filepath.Join(dir, "missing.yaml")
	b, _ := os.ReadFile(filepath.Join(dir, "release.yaml"))
	os.WriteFile(missing, []byte(strings.Replace(string(b), "/notifier:latest", "/notifier:no-such-tag", 1)), 0o644)
	httpsCfg := filepath.Join(dir, "https.yaml")
	os.WriteFile(httpsCfg, []byte(strings.Replace(string(b), "store: ./store", "store: https://releases.invalid/storage-service", 1)), 0o644)
	unknownField := filepath.Join(dir, "unknown.yaml")
	os.WriteFile(unknownField, []byte(strings.Replace(string(b), "store: ./store", "store: ./store\nsauce: tomato", 1)), 0o644)
	otherContent := filepath.Join(dir, "other.yaml")
	os.WriteFile(otherContent, []byte(strings.Replace(string(b), "/y1p3h6z3/notifier:latest", "/y1p3h6z3/bags_api:latest", 1)), 0o644)
	unreachable := filepath.Join(dir, "unreachable.yaml")
	os.WriteFile(unreachable, []byte(strings.Replace(string(b), host+"/y1p3h6z3/bags_api", "127.0.0.1:1/y1p3h6z3/bags_api", 1)), 0o644)

	tests := []struct {
		name string
		env  env
		args []string
		code int
		want string
	}{
		{"not semver", pw, []string{"release", "create", "1.0", "--channel", "edge", "--key", "release.key"}, 2, "not a strict SemVer"},
		{"v prefix", pw, []string{"release", "create", "v1.0.0", "--channel", "stable", "--key", "release.key"}, 2, "not a strict SemVer"},
		{"prerelease on stable", pw, []string{"release", "create", "1.0.0-edge.2", "--channel", "stable", "--key", "release.key"}, 2, "stable takes only X.Y.Z"},
		{"final on edge", pw, []string{"release", "create", "1.1.0", "--channel", "edge", "--key", "release.key"}, 2, "edge takes X.Y.Z-edge.N"},
		{"exists with other content", pw, []string{"release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key", "--config", otherContent}, 2, "with different content (component notifier is sha256:"},
		{"unknown channel", pw, []string{"release", "create", "1.0.0", "--channel", "beta", "--key", "release.key"}, 2, `channel "beta"`},
		{"bad release.yaml", pw, []string{"release", "create", "1.0.0", "--channel", "stable", "--key", "release.key", "--config", brokenCfg}, 2, "broken.yaml:5:"},
		{"component does not resolve", pw, []string{"release", "create", "1.0.0-edge.2", "--channel", "edge", "--key", "release.key", "--config", missing}, 1, "component notifier (" + host + "/y1p3h6z3/notifier:no-such-tag"},
		{"registry unreachable", pw, []string{"release", "create", "1.0.0-edge.2", "--channel", "edge", "--key", "release.key", "--config", unreachable}, 1, "127.0.0.1:1 is unreachable"},
		{"wrong password", env{"COSIGN_PASSWORD": "nope"}, []string{"release", "create", "1.0.0-edge.2", "--channel", "edge", "--key", "release.key"}, 2, "wrong password"},
		{"no password", nil, []string{"release", "create", "1.0.0-edge.2", "--channel", "edge", "--key", "release.key"}, 2, "COSIGN_PASSWORD is not set"},
		{"missing key", pw, []string{"release", "create", "1.0.0-edge.2", "--channel", "edge", "--key", "nope.key"}, 2, "nope.key"},
		{"yank without reason", pw, []string{"release", "yank", "1.0.0-edge.1", "--channel", "edge", "--reason", " ", "--key", "release.key"}, 2, "needs --reason"},
		{"promote unknown", pw, []string{"release", "promote", "9.9.9-edge.1", "--to", "stable", "--key", "release.key"}, 2, "not listed"},
		{"promote as other", pw, []string{"release", "promote", "1.0.0-edge.1", "--to", "stable", "--as", "2.0.0", "--key", "release.key"}, 2, "promotes to 1.0.0"},
		{"refresh missing channel", pw, []string{"channel", "refresh", "--channel", "stable", "--key", "release.key"}, 2, "does not exist"},
		{"bad flag", pw, []string{"release", "create", "--nope"}, 2, "unknown flag"},
		{"unknown command", nil, []string{"bogus"}, 2, `unknown command "bogus"`},
		{"missing argument", nil, []string{"release", "show"}, 2, "accepts 1 arg"},
		{"missing required flag", nil, []string{"release", "yank", "1.0.0-edge.1"}, 2, "required flag"},
		{"read-only store", pw, []string{"release", "create", "1.0.0-edge.2", "--channel", "edge", "--key", "release.key", "--config", httpsCfg}, 2, "read-only"},
		{"bad ttl", pw, []string{"channel", "refresh", "--channel", "edge", "--ttl", "0s", "--key", "release.key"}, 2, "--ttl must be positive"},
		{"unknown field", pw, []string{"release", "list", "--config", unknownField}, 2, `unknown.yaml:4: unknown field "sauce"`},
		{"bad output", pw, []string{"release", "list", "--config", "release.yaml", "--output", "xml"}, 2, "--output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPin(t, dir, tt.env, tt.args...)
			if r.code != tt.code || !strings.Contains(r.err, tt.want) {
				t.Fatalf("exit %d, want %d; stderr should contain %q:\n%s", r.code, tt.code, tt.want, r.err)
			}
		})
	}
	if after := snapshotDir(t, filepath.Join(dir, "store")); !equalSnapshots(storeBefore, after) {
		t.Fatal("a refused command changed the store")
	}
}

func TestDryRunPublishesNothing(t *testing.T) {
	t.Parallel()
	dir, _ := producerSetup(t, dirStore)
	r := runPin(t, dir, nil, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--dry-run", "--output", "json").mustSucceed(t, "dry run")
	var rel manifest.Release
	if err := json.Unmarshal([]byte(r.out), &rel); err != nil || len(rel.Components) != 20 {
		t.Fatalf("dry run output: %v, %d components", err, len(rel.Components))
	}
	if _, err := os.Stat(filepath.Join(dir, "store")); !os.IsNotExist(err) {
		t.Fatalf("dry run created the store: %v", err)
	}
}

func TestResolveJSON(t *testing.T) {
	t.Parallel()
	host := memRegistry(t)
	seed(t, host, []string{"bags_api", "notifier"})
	refs := []string{serviceRepo(host, "notifier") + ":latest", serviceRepo(host, "bags_api") + ":latest"}
	r := runPin(t, "", nil, append([]string{"resolve", "--output", "json", "--platform", "linux/arm64"}, refs...)...).mustSucceed(t, "resolve")
	var out []struct {
		Ref, Digest, PlatformDigest string
	}
	if err := json.Unmarshal([]byte(r.out), &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Ref != refs[0] || out[1].Ref != refs[1] || !manifest.ValidDigest(out[0].Digest) {
		t.Fatalf("resolve output not in input order or lacks digests: %+v", out)
	}
	if out[1].PlatformDigest == "" {
		t.Fatalf("bags_api is a two-platform index; no linux/arm64 digest: %+v", out[1])
	}
}

func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	s := map[string]string{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			s[p] = string(b) + info.ModTime().String()
		}
		return nil
	})
	return s
}

func equalSnapshots(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestKeysGenerate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runPin(t, dir, pw, "keys", "generate", "--out", "k").mustSucceed(t, "keys generate")
	info, err := os.Stat(filepath.Join(dir, "k.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("k.key: %v, mode %v; want 0600", err, info.Mode())
	}
	key, _ := os.ReadFile(filepath.Join(dir, "k.key"))
	pub, _ := os.ReadFile(filepath.Join(dir, "k.pub"))
	if !strings.HasPrefix(string(key), "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----") || !strings.HasPrefix(string(pub), "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("not cosign's key format:\n%s\n%s", key, pub)
	}
	if r := runPin(t, dir, pw, "keys", "generate", "--out", "k"); r.code != 2 || !strings.Contains(r.err, "--force") {
		t.Fatalf("overwrite without --force: exit %d %s", r.code, r.err)
	}
	if r := runPin(t, dir, nil, "keys", "generate", "--out", "nopw"); r.code != 2 {
		t.Fatalf("no password and no terminal: exit %d", r.code)
	}
}

func TestJSONErrors(t *testing.T) {
	t.Parallel()
	r := runPin(t, t.TempDir(), nil, "check", "--output", "json")
	var out struct {
		Error    string `json:"error"`
		ExitCode int    `json:"exitCode"`
	}
	if err := json.Unmarshal([]byte(r.out), &out); err != nil || r.code != 2 || out.ExitCode != 2 || !strings.Contains(out.Error, "pin.yaml") {
		t.Fatalf("check --output json without pin.yaml: exit %d, stdout %q (%v)", r.code, r.out, err)
	}
	if r := runPin(t, t.TempDir(), nil, "check"); r.out != "" {
		t.Fatalf("text mode printed the error on stdout: %q", r.out)
	}
	// The parsed flag decides, in every spelling, audit's --format included;
	// an argument that merely says "json" does not.
	for _, args := range [][]string{
		{"check", "--output=json"},
		{"audit", "--format", "json"},
		{"audit", "--output", "json"},
		{"release", "list", "--output", "json"},
	} {
		r := runPin(t, t.TempDir(), nil, args...)
		if err := json.Unmarshal([]byte(r.out), &out); err != nil || out.ExitCode != r.code || r.code == 0 {
			t.Errorf("%v: exit %d, stdout %q (%v)", args, r.code, r.out, err)
		}
	}
	if r := runPin(t, t.TempDir(), nil, "check", "--config", "json"); r.out != "" {
		t.Fatalf("a --config named json asked for JSON: %q", r.out)
	}
}
