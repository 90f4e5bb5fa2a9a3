package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// yamlBomb is a billion-laughs YAML value: ten anchored sequences, each
// nine aliases of the one before (9^9 leaves when expanded). As a flow
// mapping (map=true) its keys are a0..a9; otherwise it is a flow sequence.
func yamlBomb(asMap bool) string {
	var parts []string
	for i := 0; i <= 9; i++ {
		v := `["lol"]`
		if i > 0 {
			v = "[" + strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 9), ", ") + "]"
		}
		v = fmt.Sprintf("&a%d %s", i, v)
		if asMap {
			v = fmt.Sprintf("a%d: %s", i, v)
		}
		parts = append(parts, v)
	}
	if asMap {
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// TestBadInput: each malformed input of issue 7 makes pin exit 2 with a
// message naming the file and line where there is one, and leaves every file
// of the project and the store (bytes and mtimes) as it was.
func TestBadInput(t *testing.T) {
	t.Parallel()
	tmpl := attackTemplate(t)
	// pin.yaml edits.
	pinYAML := func(edit func(string) string) func(t *testing.T, w *attackWorld) {
		return func(t *testing.T, w *attackWorld) {
			p := filepath.Join(w.project(), "pin.yaml")
			s := string(mustRead(t, p))
			e := edit(s)
			if e == s {
				t.Fatal("the edit changed nothing")
			}
			os.WriteFile(p, []byte(e), 0o644)
		}
	}
	replace := func(old, new string) func(string) string {
		return func(s string) string { return strings.Replace(s, old, new, 1) }
	}
	releaseYAML := func(edit func(string) string) func(t *testing.T, w *attackWorld) {
		return func(t *testing.T, w *attackWorld) {
			p := filepath.Join(w.dir, "release.yaml")
			s := string(mustRead(t, p))
			e := edit(s)
			if e == s {
				t.Fatal("the edit changed nothing")
			}
			os.WriteFile(p, []byte(e), 0o644)
		}
	}
	file := func(name, content string) func(t *testing.T, w *attackWorld) {
		return func(t *testing.T, w *attackWorld) {
			os.WriteFile(filepath.Join(w.project(), name), []byte(content), 0o644)
		}
	}
	const ref = "REF"
	update := []string{"update"}
	create := []string{"release", "create", "1.2.0-edge.1", "--channel", "edge", "--key", "release.key"}
	cases := []struct {
		name  string
		setup func(t *testing.T, w *attackWorld)
		// inProducer runs args in the producer directory instead of the project.
		inProducer bool
		env        env
		args       []string
		want       string // a regexp stderr must match
	}{
		// pin.yaml
		{name: "pin.yaml not YAML", setup: pinYAML(func(s string) string { return s + "channel: [unclosed\n" }), args: update, want: `pin\.yaml:\d+: `},
		{name: "pin.yaml wrong type", setup: pinYAML(replace("channel: stable", "channel: [stable, edge]")), args: update, want: `pin\.yaml:\d+: `},
		{name: "pin.yaml unknown key", setup: pinYAML(func(s string) string { return s + "chanel: edge\n" }), args: update, want: `pin\.yaml:\d+: .*chanel`},
		{name: "pin.yaml bad channel", setup: pinYAML(replace("channel: stable", "channel: beta")), args: update, want: `pin\.yaml:\d+: .*beta`},
		{name: "pin.yaml invalid registryMap reference", setup: pinYAML(func(s string) string { return s + "registryMap:\n  \"public.ecr.aws/x@sha256:1\": \"\"\n" }), args: update, want: `pin\.yaml:\d+: .*registryMap`},
		{name: "pin.yaml alias bomb", setup: pinYAML(func(s string) string { return s + "registryMap: " + yamlBomb(true) + "\n" }), args: update, want: `pin\.yaml:\d+: `},
		{name: "pin.yaml public key that is not a key", setup: pinYAML(func(s string) string {
			return regexp.MustCompile(`(?s)-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----`).ReplaceAllString(s, "-----BEGIN PUBLIC KEY-----\n    bm90IGEga2V5\n    -----END PUBLIC KEY-----")
		}), args: update, want: `pin\.yaml:\d+: `},
		// release.yaml
		{name: "release.yaml not YAML", setup: releaseYAML(func(s string) string { return s + "components: {\n" }), inProducer: true, env: pw, args: create, want: `release\.yaml:\d+: `},
		{name: "release.yaml wrong type", setup: releaseYAML(replace("channels:\n  edge: {ttl: 168h}", "channels:\n  edge: {ttl: [168h]}")), inProducer: true, env: pw, args: create, want: `release\.yaml:\d+: `},
		{name: "release.yaml unknown key", setup: releaseYAML(replace("    image:", "    imag:")), inProducer: true, env: pw, args: create, want: `release\.yaml:\d+: .*imag`},
		{name: "release.yaml invalid reference", setup: releaseYAML(replace("/bags_api:latest", "/Bags API:latest")), inProducer: true, env: pw, args: create, want: `release\.yaml:\d+: `},
		{name: "release.yaml alias bomb", setup: releaseYAML(func(s string) string {
			return s[:strings.Index(s, "components:")] + "components: " + yamlBomb(false) + "\n"
		}), inProducer: true, env: pw, args: create, want: `release\.yaml:\d+: `},
		// the file set
		{name: "unparsable HCL", setup: file("broken.tf", "locals {\n  x = \"public.ecr.aws/y1p3h6z3/bags_api:latest\"\n  y = \n"), args: update, want: `broken\.tf:\d+`},
		{name: "unparsable YAML", setup: file("broken.yaml", "image: REF\n  - : [\n"), args: update, want: `broken\.yaml:\d+`},
		{name: "unparsable JSON", setup: file("broken.json", "{\"image\": \"REF\",}\n"), args: update, want: `broken\.json:\d+`},
		{name: "unparsable Dockerfile", setup: file("Dockerfile", "FROM REF\n\nFROM\n"), args: update, want: `Dockerfile:3`},
		{name: "binary file", setup: file("image.tf", "\x00\x01REF\x00\xff\xfe"), args: update, want: `image\.tf:\d+`},
		{name: "very long line that does not parse", setup: file("long.json", "{\"image\": \"REF\", \"pad\": \""+strings.Repeat("x", 8<<20)+"\"\n"), args: update, want: `long\.json:1`},
		// keys
		{name: "private key with the wrong password", inProducer: true, env: env{"COSIGN_PASSWORD": "wrong"}, args: create, want: `wrong password`},
		{name: "--key-file that is not a key", setup: file("not.pub", "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n"), args: []string{"init", "--force", "--source", "../store", "--channel", "stable", "--key-file", "not.pub"}, want: `not\.pub`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := tmpl.clone(t)
			if tc.setup != nil {
				tc.setup(t, w)
			}
			// Fixtures that name a managed reference get the real one.
			host := regexp.MustCompile(`"([^"/]+)/y1p3h6z3/`).FindStringSubmatch(string(mustRead(t, filepath.Join(w.project(), "main.tf"))))[1]
			entries, _ := os.ReadDir(w.project())
			for _, e := range entries {
				p := filepath.Join(w.project(), e.Name())
				if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(ref)) {
					os.WriteFile(p, bytes.ReplaceAll(b, []byte(ref), []byte(host+"/y1p3h6z3/notifier:latest")), 0o644)
				}
			}
			before := snapshotDir(t, w.dir)
			dir := w.project()
			if tc.inProducer {
				dir = w.dir
			}
			r := runPin(t, dir, tc.env, tc.args...)
			t.Logf("exit %d: %.300s", r.code, r.err)
			if r.code != 2 || !regexp.MustCompile(tc.want).MatchString(r.err) {
				t.Fatalf("pin %s: exit %d, want 2 with stderr matching %q:\n%.2000s", strings.Join(tc.args, " "), r.code, tc.want, r.err)
			}
			if !equalSnapshots(before, snapshotDir(t, w.dir)) {
				t.Fatal("bad input changed a file")
			}
		})
	}
}

// TestHostileButValidFiles: files in the file set that are valid but
// hostile are handled in bounded time and memory rather than refused: a YAML
// alias bomb (pin never resolves aliases, so it is never expanded) and a
// valid JSON file with an 8 MiB line. The reference in each is pinned and
// every other byte is kept.
func TestHostileButValidFiles(t *testing.T) {
	t.Parallel()
	w := attackTemplate(t).clone(t)
	host := regexp.MustCompile(`"([^"/]+)/y1p3h6z3/`).FindStringSubmatch(string(mustRead(t, filepath.Join(w.project(), "main.tf"))))[1]
	ref := host + "/y1p3h6z3/notifier:latest"
	files := map[string]string{
		"bomb.yaml": "image: " + ref + "\nlaughs: " + yamlBomb(false) + "\n",
		"long.json": "{\"image\": \"" + ref + "\", \"pad\": \"" + strings.Repeat("x", 8<<20) + "\"}\n",
	}
	for n, c := range files {
		os.WriteFile(filepath.Join(w.project(), n), []byte(c), 0o644)
	}
	runPin(t, w.project(), nil, "update").mustSucceed(t, "update with a YAML alias bomb and an 8 MiB line")
	for n, c := range files {
		got := string(mustRead(t, filepath.Join(w.project(), n)))
		pinned := regexp.MustCompile(regexp.QuoteMeta(host+"/y1p3h6z3/notifier@") + `sha256:[0-9a-f]{64}`).FindString(got)
		if pinned == "" || strings.Replace(c, ref, pinned, 1) != got {
			t.Errorf("%s: reference not pinned, or other bytes changed", n)
		}
	}
	runPin(t, w.project(), nil, "check").mustSucceed(t, "check")
}
