package rewrite

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
)

func TestScanHCLGolden(t *testing.T) {
	inputs := goldenInputs(t, "hcl")
	if len(inputs) < 5 {
		t.Fatalf("only %d HCL inputs under testdata/hcl", len(inputs))
	}
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) { goldenScan(t, "hcl", in, ScanHCL) })
	}
}

func TestScanHCLPositions(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Ref // Start, End, Line, Column, Value, Component, Field, Marker
	}{
		{
			name: "attribute",
			src:  `image = "public.ecr.aws/y1p3h6z3/bags_api:latest"`,
			want: []Ref{{Start: 9, End: 48, Line: 1, Column: 10, Value: "public.ecr.aws/y1p3h6z3/bags_api:latest", Component: "bags_api", Field: FieldRef}},
		},
		{
			name: "bom and crlf",
			src:  "\xef\xbb\xbfa = 1\r\nb = \"public.ecr.aws/l7a1d1z4/fluentbit:x\"\r\n",
			want: []Ref{{Start: 15, End: 50, Line: 2, Column: 6, Value: "public.ecr.aws/l7a1d1z4/fluentbit:x", Component: "fluentbit", Field: FieldRef}},
		},
		{
			name: "non-ascii before value counts bytes",
			src:  "locals {\n  é = { x = \"public.ecr.aws/y1p3h6z3/notifier\" }\n}\n",
			want: []Ref{{Start: 23, End: 55, Line: 2, Column: 15, Value: "public.ecr.aws/y1p3h6z3/notifier", Component: "notifier", Field: FieldRef}},
		},
		{
			name: "two refs sorted by offset in a tuple",
			src:  "x = [\"public.ecr.aws/y1p3h6z3/bag_tagger:a\", \"public.ecr.aws/y1p3h6z3/bag_tracker:b\"]\n",
			want: []Ref{
				{Start: 6, End: 42, Line: 1, Column: 7, Value: "public.ecr.aws/y1p3h6z3/bag_tagger:a", Component: "bag_tagger", Field: FieldRef},
				{Start: 46, End: 83, Line: 1, Column: 47, Value: "public.ecr.aws/y1p3h6z3/bag_tracker:b", Component: "bag_tracker", Field: FieldRef},
			},
		},
		{
			name: "marker with a tag",
			src:  "tag = \"latest\" # pin:bags_api:tag\n",
			want: []Ref{{Start: 7, End: 13, Line: 1, Column: 8, Value: "latest", Component: "bags_api", Field: FieldTag, Marker: true}},
		},
		{
			name: "marker with an empty value",
			src:  "d = \"\" // pin:bags_api:digest\n",
			want: []Ref{{Start: 5, End: 5, Line: 1, Column: 6, Value: "", Component: "bags_api", Field: FieldDigest, Marker: true}},
		},
		{name: "unmanaged", src: `image = "public.ecr.aws/docker/library/redis:7"`},
		{name: "object key", src: `m = { "public.ecr.aws/y1p3h6z3/bags_api:latest" = 1 }`},
		{name: "heredoc", src: "x = <<EOT\npublic.ecr.aws/y1p3h6z3/bags_api:latest\nEOT\n"},
		{name: "indented heredoc", src: "x = <<-EOT\n  public.ecr.aws/y1p3h6z3/bags_api:latest\n  EOT\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ScanHCL("t.tf", []byte(tt.src), testMatcher{})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) != 0 {
				t.Errorf("warnings: %+v", res.Warnings)
			}
			if fmt.Sprint(res.Refs) != fmt.Sprint(tt.want) {
				t.Errorf("refs:\n got %+v\nwant %+v", res.Refs, tt.want)
			}
			for _, r := range res.Refs {
				if got := tt.src[r.Start:r.End]; got != r.Value {
					t.Errorf("span [%d,%d) holds %q, value is %q", r.Start, r.End, got, r.Value)
				}
			}
		})
	}
}

func TestScanHCLWarnings(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		comp string
		msg  string
	}{
		{"registry variable", "a = 1\nx = \"${var.registry}/bags_api:${var.tag}\"\n", 2, "bags_api", "interpolation"},
		{"tag variable", "x = \"public.ecr.aws/y1p3h6z3/notifier:${var.tag}\"\n", 1, "notifier", "interpolation"},
		{"format string", "x = format(\"%s/bag_tagger:%s\", a, b)\n", 1, "bag_tagger", "not a whole image reference"},
		{"nested in interpolation", "x = \"${lower(\"public.ecr.aws/y1p3h6z3/notifier\")}:${var.tag}\"\n", 1, "notifier", "interpolation"},
		{"escape", "x = \"public.ecr.aws/y1p3h6z3/notifier:\\u0061\"\n", 1, "notifier", "escapes"},
		{"dollar escape", "x = \"public.ecr.aws/y1p3h6z3/notifier:$${a}\"\n", 1, "notifier", "not a whole"},
		{"split", "repository = \"public.ecr.aws/y1p3h6z3/notifier\"\nimageTag = \"x\"\n", 1, "notifier", "split"},
		{"marked interpolation", "x = \"${var.tag}\" # pin:notifier:tag\n", 1, "notifier", "interpolation"},
		{"stray marker", "x = 1 # pin:notifier:tag\n", 1, "notifier", "does not follow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ScanHCL("t.tf", []byte(tt.src), testMatcher{})
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

func TestScanHCLErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		msg  string
	}{
		{"unclosed", "locals {\n  a = [\n}\n", 3, ""},
		{"unterminated string", "a = 1\nb = \"x\n", 2, ""},
		{"unknown marker field", "a = 1\nb = \"x\" # pin:bags_api:version\n", 2, "unknown field"},
		{"marker without field", "b = \"x\" # pin:bags_api\n", 1, "pin:<component>:<field>"},
		{"malformed stray marker", "\n\n# pin:bags_api:nope\n", 3, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ScanHCL("dir/t.tf", []byte(tt.src), testMatcher{})
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("want *ParseError, got %v", err)
			}
			if pe.File != "dir/t.tf" || pe.Line != tt.line || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("got %v; want dir/t.tf:%d %q", pe, tt.line, tt.msg)
			}
		})
	}
}

// demoTF is a Terraform file the size of the storage service demo: one
// module block per service with its image, sidecars and settings.
func demoTF() []byte {
	var b strings.Builder
	b.WriteString("variable \"logging_image\" {\n  default = \"public.ecr.aws/l7a1d1z4/fluentbit:0123456789abcdef0123456789abcdef01234567\"\n}\n\n")
	b.WriteString("variable \"nginx_image\" {\n  default = \"public.ecr.aws/l7a1d1z4/nginx_apigw:0123456789abcdef0123456789abcdef01234567\"\n}\n\n")
	var comps []string
	for _, c := range testRepos {
		if !strings.Contains(c, "fluentbit") && !strings.Contains(c, "nginx") {
			comps = append(comps, c)
		}
	}
	sort.Strings(comps)
	for _, c := range comps {
		fmt.Fprintf(&b, `module %q {
  source        = "./modules/ecs_task"
  name          = "${var.namespace}-%s"
  image         = "public.ecr.aws/y1p3h6z3/%s:latest"
  logging_image = var.logging_image
  cpu           = 512
  memory        = 1024
  env = {
    QUEUE_URL = aws_sqs_queue.%s.url
    METRICS   = "storage/%s"
  }
  container_definitions = jsonencode([{ name = "app", image = "public.ecr.aws/y1p3h6z3/%s:latest" }])
}

`, c, c, c, c, c, c)
	}
	return []byte(b.String())
}

func BenchmarkScanHCL(b *testing.B) {
	data := demoTF()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res, err := ScanHCL("main.tf", data, testMatcher{})
		if err != nil || len(res.Refs) != 38 {
			b.Fatalf("refs %v, err %v", res, err)
		}
	}
}

// TestScanHCLHeredocReference: a heredoc is never rewritten, but an image
// held as a value in it (ECS container definitions) is warned about, while a
// sentence naming one is prose.
func TestScanHCLHeredocReference(t *testing.T) {
	src := "resource \"aws_ecs_task_definition\" \"t\" {\n" +
		"  container_definitions = <<DEFINITION\n[{\"name\": \"app\", \"image\": \"public.ecr.aws/y1p3h6z3/bags_api:latest\"}]\nDEFINITION\n" +
		"  description = <<EOT\nWe run public.ecr.aws/y1p3h6z3/notifier:latest here.\nEOT\n}\n"
	res, err := ScanHCL("ecs.tf", []byte(src), testMatcher{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Refs) != 0 {
		t.Fatalf("a heredoc was rewritten: %+v", res.Refs)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].Component != "bags_api" || res.Warnings[0].Line != 2 || !strings.Contains(res.Warnings[0].Message, "heredoc") {
		t.Fatalf("warnings: %+v", res.Warnings)
	}
}
