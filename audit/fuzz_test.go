package audit

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wellcomecollection/pin/internal/fuzzseed"
)

// FuzzExtract feeds arbitrary bytes to audit's reader of Terraform state,
// ECS and kubectl JSON and configuration files, as a file and as standard
// input. It never panics. Its JSON reader agrees with encoding/json about
// what is JSON (past the nesting cap), and remembers where each value
// starts. An error names the input; every reference found is one
// go-containerregistry parses (or the marked tag or digest part of one),
// on a line of the input.
func FuzzExtract(f *testing.F) {
	fuzzseed.Add(f, fuzzseed.Files(f, filepath.Join("testdata", "inputs"), func(string) bool { return true })...)
	fuzzseed.Add(f,
		[]byte(`{"containerDefinitions":[{"name":"app","image":"127.0.0.1:5000/storage/bags_api@sha256:`+strings.Repeat("a", 64)+`"}]}`),
		[]byte(`{"values":{"root_module":{"resources":[{"address":"x","values":{"container_definitions":"[{\"image\":\"127.0.0.1:5000/a:1\"}]"}}]}}}`),
		[]byte("FROM 127.0.0.1:5000/a:1 AS b\n"),
	)
	f.Fuzz(func(t *testing.T, data []byte) {
		body := bytes.TrimPrefix(data, []byte("\ufeff"))
		if root, err := parseJSON(body); err != nil {
			if json.Valid(body) && !strings.Contains(err.Error(), "nested deeper") {
				t.Fatalf("parseJSON refuses valid JSON: %v\n%q", err, body)
			}
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("parseJSON error names no line: %v", err)
			}
		} else {
			if !json.Valid(body) {
				t.Fatalf("parseJSON accepts invalid JSON:\n%q", body)
			}
			checkOffsets(t, body, root)
		}
		lines := 1 + bytes.Count(data, []byte("\n"))
		for _, path := range []string{"-", "input.json"} {
			found, err := Extract(path, data)
			if err != nil {
				if !strings.HasPrefix(err.Error(), path+":") {
					t.Fatalf("error does not name %s: %v", path, err)
				}
				continue
			}
			for _, fd := range found {
				if fd.Source != path || fd.Line < 0 || fd.Line > lines || fd.Ref == "" {
					t.Fatalf("found %+v in %s of %d lines", fd, path, lines)
				}
				if fd.Field == "" {
					if _, err := name.ParseReference(fd.Ref, name.WeakValidation); err != nil {
						t.Fatalf("found %q, which is not a reference: %v", fd.Ref, err)
					}
				}
			}
		}
	})
}

// checkOffsets: every value starts where parseJSON says, with the byte its
// kind begins with.
func checkOffsets(t *testing.T, data []byte, v *jval) {
	t.Helper()
	if v.Start < 0 || v.Start >= len(data) {
		t.Fatalf("value of kind %c at %d, outside %d bytes", v.Kind, v.Start, len(data))
	}
	c := data[v.Start]
	var ok bool
	switch v.Kind {
	case '{', '[':
		ok = c == v.Kind
	case 's':
		ok = c == '"'
	case 'n':
		ok = c == '-' || c >= '0' && c <= '9'
	case 'b':
		ok = c == 't' || c == 'f'
	case 'z':
		ok = c == 'n'
	}
	if !ok {
		t.Fatalf("value of kind %c starts at %d with %q", v.Kind, v.Start, c)
	}
	for _, c := range append(append([]*jval(nil), v.Vals...), v.Elems...) {
		checkOffsets(t, data, c)
	}
}
