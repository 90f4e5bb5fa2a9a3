package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestOutputFlagRejectsAtParse: a format a command cannot write is a usage
// error (exit 2) before the command runs, naming the allowed formats; the
// JSON failure record still follows a valid -o json; completion offers the
// command's own formats.
func TestOutputFlagRejectsAtParse(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"version", "-o", "yaml"}, 2, `invalid argument "yaml" for "-o, --output" flag: use one of text, json`},
		{[]string{"check", "--output=xml"}, 2, "use one of text, json"},
		{[]string{"audit", "-o", "text"}, 2, "use one of table, json, markdown"},
		{[]string{"audit", "--format", "yaml"}, 2, `for "--format" flag: use one of table, json, markdown`},
		{[]string{"mirror", "stable", "--to", "127.0.0.1:1/m", "-o", "table"}, 2, "use one of text, json"},
		{[]string{"check", "-o", "json"}, 2, `"exitCode": 2`}, // no pin.yaml: the JSON failure record
	} {
		r := runPin(t, dir, nil, tc.args...)
		if r.code != tc.code || !strings.Contains(r.err+r.out, tc.want) {
			t.Errorf("%v: exit %d, want %d and %q\nstdout:\n%sstderr:\n%s", tc.args, r.code, tc.code, tc.want, r.out, r.err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "audit", "-o", ""}, "table\njson\nmarkdown\n:4\n"},
		{[]string{"__complete", "audit", "--format", ""}, "table\njson\nmarkdown\n:4\n"},
		{[]string{"__complete", "check", "--output", ""}, "text\njson\n:4\n"},
		{[]string{"__complete", "release", "show", "-o", ""}, "text\njson\n:4\n"},
	} {
		r := runPin(t, dir, nil, tc.args...).mustSucceed(t, strings.Join(tc.args, " "))
		if r.out != tc.want {
			t.Errorf("%v: completions %q, want %q", tc.args, r.out, tc.want)
		}
	}
}

// TestConfigDefaults: --config has one default per meaning, release.yaml for
// producer commands and pin.yaml for consumer commands, and --source
// replaces a defaulted --config but not a given one.
func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd  []string
		want string
	}{
		{[]string{"channel", "show"}, producerConfig.name},
		{[]string{"release", "show"}, producerConfig.name},
		{[]string{"release", "create"}, producerConfig.name},
		{[]string{"root", "publish"}, producerConfig.name},
		{[]string{"init"}, consumerConfig.name},
		{[]string{"update"}, consumerConfig.name},
		{[]string{"check"}, consumerConfig.name},
		{[]string{"audit"}, consumerConfig.name},
		{[]string{"mirror"}, consumerConfig.name},
		{[]string{"keys", "id"}, consumerConfig.name},
	} {
		c, _, err := newRootCmd(&app{}).Find(tc.cmd)
		if err != nil {
			t.Fatalf("%v: %v", tc.cmd, err)
		}
		if f := c.Flags().Lookup("config"); f == nil || f.DefValue != tc.want {
			t.Errorf("pin %s --config: default %v, want %s", strings.Join(tc.cmd, " "), f, tc.want)
		}
	}
	for _, tc := range []struct {
		args  []string
		given bool
	}{
		{nil, false},
		{[]string{"--source", "./store"}, false},
		{[]string{"--config", "pin.yaml"}, true},
		{[]string{"--config=other.yaml", "--source", "./store"}, true},
	} {
		var f trustFlags
		c := &cobra.Command{Use: "x"}
		f.bind(c, consumerConfig, trustUsage{})
		if err := c.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		if f.configGiven() != tc.given {
			t.Errorf("%v: configGiven %v, want %v (config %q)", tc.args, f.configGiven(), tc.given, f.Config)
		}
	}
	// Set in code rather than parsed: a Config is given.
	if !(&trustFlags{Config: "x.yaml"}).configGiven() || (&trustFlags{Source: "s"}).configGiven() {
		t.Error("configGiven of unbound flags must be whether Config is set")
	}
}

// TestAppPaths: relative paths are taken relative to app.Dir, except when
// Dir is the process's own directory (as typed); URLs, key references and
// "-" are never paths. The cache directory comes from XDG_CACHE_HOME.
func TestAppPaths(t *testing.T) {
	t.Parallel()
	in := &app{Dir: "/work/project"}
	own := &app{Dir: "/work/project", osDir: "/work/project"}
	for _, tc := range []struct {
		a     *app
		typed string
		want  string
	}{
		{in, "pin.yaml", filepath.Join("/work/project", "pin.yaml")},
		{in, "../release.pub", filepath.Join("/work", "release.pub")},
		{in, "/abs/key.pub", "/abs/key.pub"},
		{in, "-", "-"},
		{in, "", ""},
		{in, "oci://127.0.0.1:5000/releases", "oci://127.0.0.1:5000/releases"},
		{in, "awskms:///alias/release", "awskms:///alias/release"},
		{own, "../release.pub", "../release.pub"},
		{own, "./store", "./store"},
	} {
		if got := tc.a.path(tc.typed); got != tc.want {
			t.Errorf("Dir %s, osDir %q: path(%q) = %q, want %q", tc.a.Dir, tc.a.osDir, tc.typed, got, tc.want)
		}
	}
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	if got := userCacheDir(env(map[string]string{"XDG_CACHE_HOME": "/c"})); got != filepath.Join("/c", "pin") {
		t.Errorf("userCacheDir with XDG_CACHE_HOME=/c: %q", got)
	}
	if got := userCacheDir(env(nil)); got != "" && filepath.Base(got) != "pin" {
		t.Errorf("userCacheDir without XDG_CACHE_HOME: %q, want the OS cache directory's pin", got)
	}
}
