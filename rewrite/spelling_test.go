package rewrite

import (
	"strings"
	"testing"
)

// TestScanDecodesSpellings: a managed reference spelled with escapes or cut
// by a line continuation is reported with its decoded value (Warning.Decoded),
// which pin check turns into a finding; a wide encoding is refused.
func TestScanDecodesSpellings(t *testing.T) {
	const want = "public.ecr.aws/y1p3h6z3/bags_api:latest"
	tests := []struct{ name, path, data string }{
		{"JSON \\u", "a.json", `{"image": "public.ecr.aws/y1p3h6z3/\u0062ags_api:latest"}`},
		{"JSON \\/", "a.json", `{"image": "public.ecr.aws\/y1p3h6z3\/bags_api:latest"}`},
		{"YAML \\x", "a.yaml", "image: \"public.ecr.aws/y1p3h6z3/\\x62ags_api:latest\"\n"},
		{"YAML \\u", "a.yaml", "image: \"public.ecr.aws/y1p3h6z3/\\u0062ags_api:latest\"\n"},
		{"YAML escaped line break", "a.yaml", "image: \"public.ecr.aws/y1p3h6z3/ba\\\n  gs_api:latest\"\n"},
		{"HCL \\u", "a.tf", "image = \"public.ecr.aws/y1p3h6z3/\\u0062ags_api:latest\"\n"},
		{"Dockerfile FROM continuation", "Dockerfile", "FROM public.ecr.aws/y1p3h6z3/ba\\\ngs_api:latest\n"},
		{"Dockerfile FROM continuation, blanks after", "Dockerfile", "FROM public.ecr.aws/y1p3h6z3/ba\\  \ngs_api:latest AS x\n"},
		{"Dockerfile ARG continuation", "Dockerfile", "ARG X=public.ecr.aws/y1p3h6z3/ba\\\ngs_api:latest\nFROM $X\n"},
		{"Dockerfile two continuations", "Dockerfile", "FROM public.ecr.aws/\\\ny1p3h6z3/ba\\\ngs_api:latest\n"},
		{"Dockerfile backtick continuation", "Dockerfile", "# escape=`\nFROM public.ecr.aws/y1p3h6z3/ba`\ngs_api:latest\n"},
		{"Dockerfile shell escape", "Dockerfile", "FROM public.ecr.aws/y1p3h6z3/\\bags_api:latest\n"},
		{"Dockerfile quoted FROM", "Dockerfile", "FROM \"public.ecr.aws/y1p3h6z3/bags_api:latest\"\n"},
		{"Dockerfile COPY --from continuation", "Dockerfile", "FROM scratch\nCOPY --from=public.ecr.aws/y1p3h6z3/ba\\\ngs_api:latest / /\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Scan(tt.path, []byte(tt.data), testMatcher{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Refs) != 0 || len(res.Warnings) != 1 {
				t.Fatalf("want one warning and no reference, got %+v", res)
			}
			if w := res.Warnings[0]; w.Decoded != want || w.Field != FieldRef || w.Component != "bags_api" || w.Hint == "" {
				t.Fatalf("warning %+v: want Decoded %q", w, want)
			}
		})
	}
	// A continuation between words, not inside one, is an ordinary reference.
	res, err := Scan("Dockerfile", []byte("FROM \\\n  public.ecr.aws/y1p3h6z3/bags_api:latest \\\n  AS base\n"), testMatcher{})
	if err != nil || len(res.Refs) != 1 || len(res.Warnings) != 0 {
		t.Fatalf("continuation between words: %+v, %v", res, err)
	}
}

func TestScanRefusesWideEncodings(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []byte
		enc  string
	}{
		{"UTF-16LE BOM", []byte{0xff, 0xfe, 'a', 0}, "UTF-16LE"},
		{"UTF-16BE BOM", []byte{0xfe, 0xff, 0, 'a'}, "UTF-16BE"},
		{"UTF-32LE BOM", []byte{0xff, 0xfe, 0, 0, 'a', 0, 0, 0}, "UTF-32LE"},
		{"UTF-32BE BOM", []byte{0, 0, 0xfe, 0xff, 0, 0, 0, 'a'}, "UTF-32BE"},
		{"no BOM", []byte{'a', 0, ':', 0}, "NUL bytes (UTF-16"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"a.yaml", "a.json", "a.tf", "Dockerfile"} {
				_, err := Scan(path, tt.data, testMatcher{})
				if pe, ok := err.(*ParseError); !ok || !strings.Contains(pe.Msg, tt.enc) {
					t.Errorf("%s: %v, want a ParseError naming %s", path, err, tt.enc)
				}
			}
		})
	}
}
