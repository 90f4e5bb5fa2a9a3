package yamlerr

import (
	"bytes"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestFormat(t *testing.T) {
	type cfg struct {
		Name  string `yaml:"name"`
		Count int    `yaml:"count"`
	}
	tests := []struct{ doc, want string }{
		{"name: x\nsourc: y\n", `f.yaml:2: unknown field "sourc"`},
		{"name: x\ncount: many\n", "f.yaml:2: str `many` has the wrong type"},
		{"name: [\n", "f.yaml:1: did not find expected node content"},
	}
	for _, tt := range tests {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(tt.doc)))
		dec.KnownFields(true)
		var c cfg
		err := dec.Decode(&c)
		if err == nil {
			t.Fatalf("%q decoded", tt.doc)
		}
		if got := Format("f.yaml", err).Error(); got != tt.want {
			t.Errorf("Format(%q) = %q, want %q", tt.doc, got, tt.want)
		}
	}
}
