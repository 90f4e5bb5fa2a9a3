package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"
)

// worldRepo is the managed repository of svc as the attack world's main.tf
// writes it (host:port/y1p3h6z3/svc).
func worldRepo(t *testing.T, w *attackWorld, svc string) string {
	t.Helper()
	m := regexp.MustCompile(`"([^"@:]+(?::\d+)?/[a-z0-9]+/` + svc + `)[@:]`).FindSubmatch(mustRead(t, filepath.Join(w.project(), "main.tf")))
	if m == nil {
		t.Fatalf("main.tf names no %s", svc)
	}
	return string(m[1])
}

// utf16LE encodes s as UTF-16LE, with a byte order mark when bom is set.
func utf16LE(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = []byte{0xff, 0xfe}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// TestCheckEvadedBySpelling: a managed reference spelled so that its bytes
// do not hold "/bags_api" (escapes, a line continuation, a wide encoding)
// still runs :latest. pin check must fail on it (exit 4, or exit 2 for an
// encoding pin refuses), never say OK; and neither check nor update may
// change the file.
func TestCheckEvadedBySpelling(t *testing.T) {
	tmpl := attackTemplate(t)
	cases := []struct {
		name, file string
		content    func(repo string) []byte // repo is host/y1p3h6z3/bags_api
		code       int
		want       string
	}{
		{"JSON \\u0062", "task.json", func(r string) []byte {
			return []byte(`{"image": "` + strings.Replace(r, "/bags_api", `/\u0062ags_api`, 1) + `:latest"}` + "\n")
		}, 4, "unrewritable"},
		{"JSON \\/", "task.json", func(r string) []byte {
			return []byte(`{"image": "` + strings.ReplaceAll(r, "/", `\/`) + `:latest"}` + "\n")
		}, 4, "unrewritable"},
		{"YAML \\x62", "deploy.yaml", func(r string) []byte {
			return []byte(`image: "` + strings.Replace(r, "/bags_api", `/\x62ags_api`, 1) + `:latest"` + "\n")
		}, 4, "unrewritable"},
		{"YAML escaped line break", "deploy.yaml", func(r string) []byte {
			return []byte(`image: "` + strings.Replace(r, "/bags_api", "/ba\\\n  gs_api", 1) + `:latest"` + "\n")
		}, 4, "unrewritable"},
		{"HCL \\u0062", "extra.tf", func(r string) []byte {
			return []byte(`locals { evasive = "` + strings.Replace(r, "/bags_api", `/\u0062ags_api`, 1) + `:latest" }` + "\n")
		}, 4, "unrewritable"},
		{"Dockerfile line continuation in FROM", "Dockerfile", func(r string) []byte {
			return []byte("FROM " + strings.Replace(r, "/bags_api", "/ba\\\ngs_api", 1) + ":latest\n")
		}, 4, "unrewritable"},
		{"Dockerfile line continuation in an ARG default", "Dockerfile", func(r string) []byte {
			return []byte("ARG BASE=" + strings.Replace(r, "/bags_api", "/bags\\\n_api", 1) + ":latest\nFROM ${BASE}\n")
		}, 4, "unrewritable"},
		{"Dockerfile shell escape", "Dockerfile", func(r string) []byte {
			return []byte("FROM " + strings.Replace(r, "/bags_api", `/\bags_api`, 1) + ":latest\n")
		}, 4, "unrewritable"},
		{"Dockerfile escape=` continuation", "Dockerfile", func(r string) []byte {
			return []byte("# escape=`\nFROM " + strings.Replace(r, "/bags_api", "/ba`\ngs_api", 1) + ":latest\n")
		}, 4, "unrewritable"},
		{"UTF-16 with a byte order mark", "deploy.yaml", func(r string) []byte {
			return utf16LE("image: "+r+":latest\n", true)
		}, 2, "UTF-16LE"},
		{"UTF-16 without a byte order mark", "deploy.yaml", func(r string) []byte {
			return utf16LE("image: "+r+":latest\n", false)
		}, 2, "UTF-16"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := tmpl.clone(t)
			runPin(t, w.project(), nil, "check").mustSucceed(t, "check before the attack")
			p := filepath.Join(w.project(), tc.file)
			if err := os.WriteFile(p, tc.content(worldRepo(t, w, "bags_api")), 0o644); err != nil {
				t.Fatal(err)
			}
			before := snapshotDir(t, w.project())
			r := runPin(t, w.project(), nil, "check")
			if r.code != tc.code || !strings.Contains(r.out+r.err, tc.want) || !strings.Contains(r.out+r.err, tc.file) {
				t.Fatalf("pin check: exit %d, want %d naming %s and %q:\n%s%s", r.code, tc.code, tc.file, tc.want, r.out, r.err)
			}
			if !equalSnapshots(before, snapshotDir(t, w.project())) {
				t.Fatal("pin check changed a file")
			}
			// update cannot fix the spelling: it leaves the file as it is
			// and says where it is (or refuses the encoding).
			old := mustRead(t, p)
			r = runPin(t, w.project(), nil, "update")
			if tc.code == 2 && r.code != 2 || tc.code == 4 && (r.code != 0 || !strings.Contains(r.err, tc.file+":")) {
				t.Fatalf("pin update: exit %d:\n%s%s", r.code, r.out, r.err)
			}
			if !bytes.Equal(old, mustRead(t, p)) {
				t.Fatalf("pin update changed %s", tc.file)
			}
			if tc.code == 4 {
				if r := runPin(t, w.project(), nil, "check"); r.code != 4 {
					t.Fatalf("pin check after update: exit %d, want 4:\n%s%s", r.code, r.out, r.err)
				}
			}
		})
	}
}
