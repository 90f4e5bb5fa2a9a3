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
		{" \n# only a comment\n", "f.yaml:1: the file is empty"},
		{"0\n\n00\n", "f.yaml:1: str `0\\n00` has the wrong type"},
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

// TestFormatDataFindsLine: errors yaml.v3 gives without a line get one.
func TestFormatDataFindsLine(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"a: 1\nb: \"open\n\n", "f.yaml:2: found unexpected end of stream"},
		{"a: 1\nb: \x01\n", "f.yaml:2: control characters are not allowed"},
		{"a: 1\n\nb: \xff\n", "f.yaml:3: invalid leading UTF-8 octet"},
	}
	for _, tt := range tests {
		var n yaml.Node
		err := yaml.Unmarshal([]byte(tt.doc), &n)
		if err == nil {
			t.Fatalf("%q decoded", tt.doc)
		}
		if got := FormatData("f.yaml", []byte(tt.doc), err).Error(); got != tt.want {
			t.Errorf("FormatData(%q) = %q, want %q", tt.doc, got, tt.want)
		}
	}
}

// TestUnknownFieldSuggests: a mistyped key names the field it was probably
// meant to be, from the decoding target's own yaml keys (nested ones too).
func TestUnknownFieldSuggests(t *testing.T) {
	type inner struct {
		Image string `yaml:"image"`
	}
	type cfg struct {
		Channel    string  `yaml:"channel"`
		Components []inner `yaml:"components"`
	}
	tests := []struct{ doc, want string }{
		{"chanel: stable\n", `f.yaml:1: unknown field "chanel": did you mean channel?`},
		{"components:\n  - imgae: x\n", `f.yaml:2: unknown field "imgae": did you mean image?`},
		{"sauce: tomato\n", `f.yaml:1: unknown field "sauce"`},
	}
	for _, tt := range tests {
		dec := yaml.NewDecoder(bytes.NewReader([]byte(tt.doc)))
		dec.KnownFields(true)
		var c cfg
		err := dec.Decode(&c)
		if got := FormatDataFor("f.yaml", []byte(tt.doc), err, &c).Error(); got != tt.want {
			t.Errorf("FormatDataFor(%q) = %q, want %q", tt.doc, got, tt.want)
		}
	}
}

func TestLine(t *testing.T) {
	src := "product: x\nregistryMap:\n  docker.io: mirror.example/hub\n  quay.io: mirror.example/quay\nchannels:\n  stable:\n    ttl: 720h\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		keys []string
		want int
	}{
		{[]string{"product"}, 1},
		{[]string{"registryMap", "quay.io"}, 4},
		{[]string{"registryMap", "gcr.io"}, 2}, // the deepest key found
		{[]string{"channels", "stable", "ttl"}, 7},
		{[]string{"missing"}, 1}, // the mapping's own line
		{nil, 1},
	} {
		if got := Line(&doc, tt.keys...); got != tt.want {
			t.Errorf("Line(%v) = %d, want %d", tt.keys, got, tt.want)
		}
	}
	if got := Line(&yaml.Node{Kind: yaml.DocumentNode}); got != 1 {
		t.Errorf("empty document: line %d, want 1", got)
	}
}
