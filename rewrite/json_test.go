package rewrite

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestScanJSONGolden(t *testing.T) {
	inputs := goldenInputs(t, "json")
	if len(inputs) < 5 {
		t.Fatalf("only %d JSON inputs under testdata/json", len(inputs))
	}
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) { goldenScan(t, "json", in, ScanJSON) })
	}
}

func TestScanJSONPositions(t *testing.T) {
	const bags = "public.ecr.aws/y1p3h6z3/bags_api:latest"
	tests := []struct {
		name string
		src  string
		want []Ref
	}{
		{
			name: "top-level string",
			src:  `"` + bags + `"`,
			want: []Ref{{Start: 1, End: 40, Line: 1, Column: 2, Value: bags, Component: "bags_api", Field: FieldRef}},
		},
		{
			name: "object value, not key",
			src:  "{\"" + bags + "\":\n  \"" + bags + "\"}",
			want: []Ref{{Start: 47, End: 86, Line: 2, Column: 4, Value: bags, Component: "bags_api", Field: FieldRef}},
		},
		{
			name: "keys after commas and nested arrays",
			src:  `{"a":[1,"x"],"` + bags + `":{"k":"` + bags + `"}}`,
			want: []Ref{{Start: 61, End: 100, Line: 1, Column: 62, Value: bags, Component: "bags_api", Field: FieldRef}},
		},
		{
			name: "escaped quote before the value",
			src:  `{"a\"b":"x\\","c":"` + bags + `"}`,
			want: []Ref{{Start: 19, End: 58, Line: 1, Column: 20, Value: bags, Component: "bags_api", Field: FieldRef}},
		},
		{
			name: "bom and non-ascii",
			src:  "\xef\xbb\xbf{\"é\": \"" + bags + "\"}",
			want: []Ref{{Start: 11, End: 50, Line: 1, Column: 12, Value: bags, Component: "bags_api", Field: FieldRef}},
		},
		{name: "unmanaged", src: `{"image": "public.ecr.aws/docker/library/redis:7"}`},
		{name: "key only", src: `{"` + bags + `": 1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ScanJSON("t.json", []byte(tt.src), testMatcher{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) != 0 {
				t.Errorf("warnings: %+v", res.Warnings)
			}
			if fmt.Sprint(res.Refs) != fmt.Sprint(tt.want) {
				t.Errorf("refs:\n got %+v\nwant %+v", res.Refs, tt.want)
			}
		})
	}
}

func TestScanJSONWarnings(t *testing.T) {
	encoded, _ := json.Marshal(`[{"image":"public.ecr.aws/y1p3h6z3/notifier:latest"}]`)
	tests := []struct {
		name string
		src  string
		line int
		comp string
		msg  string
	}{
		{"solidus escape", "{\n\"i\": \"public.ecr.aws\\/y1p3h6z3\\/notifier:latest\"}", 2, "notifier", "escapes"},
		{"unicode escape", `["public.ecr.aws/y1p3h6z3/notifie\u0072:latest"]`, 1, "notifier", "escapes"},
		{"interpolation", `{"i": "${var.registry}/notifier:${var.tag}"}`, 1, "notifier", "interpolation"},
		{"sentence", `{"i": "run public.ecr.aws/y1p3h6z3/notifier:latest"}`, 1, "notifier", "not a whole"},
		{"encoded document", `{"container_definitions": ` + string(encoded) + `}`, 1, "notifier", "encoded in a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ScanJSON("t.json", []byte(tt.src), testMatcher{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Refs) != 0 {
				t.Errorf("refs: %+v", res.Refs)
			}
			if len(res.Warnings) != 1 {
				t.Fatalf("want one warning, got %+v", res.Warnings)
			}
			w := res.Warnings[0]
			if w.Line != tt.line || w.Component != tt.comp || !strings.Contains(w.Message, tt.msg) || w.Hint == "" {
				t.Errorf("got %+v; want line %d, %s, %q", w, tt.line, tt.comp, tt.msg)
			}
		})
	}
}

func TestScanJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
	}{
		{"trailing comma", "{\n  \"a\": [1,]\n}\n", 2},
		{"truncated", "{\n  \"a\": 1\n", 2},
		{"empty", "", 1},
		{"two documents", "{}\n{}\n", 2},
		{"bad token", "\xef\xbb\xbf\n\n  nope", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ScanJSON("dir/t.json", []byte(tt.src), testMatcher{})
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("want *ParseError, got %v", err)
			}
			if pe.File != "dir/t.json" || pe.Line != tt.line {
				t.Errorf("got %v; want dir/t.json:%d", pe, tt.line)
			}
		})
	}
}
