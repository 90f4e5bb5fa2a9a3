package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestScanYAMLGolden(t *testing.T) {
	var inputs []string
	for _, n := range goldenInputs(t, "yaml") {
		if strings.HasSuffix(n, ".yaml") {
			inputs = append(inputs, n)
		}
	}
	if len(inputs) < 15 {
		t.Fatalf("found %d inputs under testdata/yaml, want the whole set", len(inputs))
	}
	for _, in := range inputs {
		t.Run(strings.TrimSuffix(in, ".yaml"), func(t *testing.T) {
			goldenScan(t, "yaml", in, ScanYAML)
			data, err := os.ReadFile(filepath.Join("testdata", "yaml", in))
			if err != nil {
				t.Fatal(err)
			}
			if res, err := ScanYAML(in, data, testMatcher{}); err == nil {
				checkRefs(t, data, res)
			}
		})
	}
}

func TestScanYAMLPositions(t *testing.T) {
	const bags = "public.ecr.aws/y1p3h6z3/bags_api:latest"
	tests := []struct {
		name       string
		in         string
		start      int // byte offset of the value; -1: no reference
		line, col  int
		field      Field
		marker     bool
		wantWarn   string // substring of the only warning, if any
		wantErrLit string // substring of the error, if any
	}{
		{name: "plain", in: "image: " + bags + "\n", start: 7, line: 1, col: 8, field: FieldRef},
		{name: "double quoted", in: "image: \"" + bags + "\"\n", start: 8, line: 1, col: 9, field: FieldRef},
		{name: "single quoted", in: "a: 1\nimage: '" + bags + "'\n", start: 13, line: 2, col: 9, field: FieldRef},
		{name: "sequence item", in: "- " + bags, start: 2, line: 1, col: 3, field: FieldRef},
		{name: "whole document", in: bags + "\n", start: 0, line: 1, col: 1, field: FieldRef},
		{name: "rune columns", in: "é☕: \"" + bags + "\"\n", start: 8, line: 1, col: 9, field: FieldRef},
		{name: "tab before value", in: "image:\t" + bags + "\n", start: 7, line: 1, col: 8, field: FieldRef},
		{name: "crlf", in: "a: b\r\nimage: " + bags + "\r\n", start: 13, line: 2, col: 8, field: FieldRef},
		{name: "lone cr", in: "a: b\rimage: " + bags + "\r", start: 12, line: 1, col: 13, field: FieldRef},
		{name: "next line", in: "a: b\u0085image: " + bags + "\n", start: 13, line: 1, col: 14, field: FieldRef},
		{name: "bom", in: "\ufeffimage: " + bags, start: 10, line: 1, col: 11, field: FieldRef},
		{name: "bom mid-file", in: "a: b\n\ufeffc: " + bags, start: 11, line: 2, col: 7, field: FieldRef},
		{name: "anchor", in: "image: &i " + bags + "\nother: *i\n", start: 10, line: 1, col: 11, field: FieldRef},
		{name: "tag and anchor", in: "image: !!str &i '" + bags + "'\n", start: 17, line: 1, col: 18, field: FieldRef},
		{name: "anchor on its own line", in: "image: &i # c\n  " + bags + "\n", start: 16, line: 2, col: 3, field: FieldRef},
		{name: "flow mapping", in: "{a: x, image: " + bags + "}", start: 14, line: 1, col: 15, field: FieldRef},
		{name: "second document", in: "a: b\n---\nimage: " + bags + "\n", start: 16, line: 3, col: 8, field: FieldRef},
		{name: "marker tag", in: "tag: latest # pin:bags_api:tag\n", start: 5, line: 1, col: 6, field: FieldTag, marker: true},
		{name: "marker after quote", in: "d: \"\"  # pin:bags_api:digest\n", start: 4, line: 1, col: 5, field: FieldDigest, marker: true},
		{name: "marker in flow", in: "{t: 'x' # pin:bags_api:tag\n}\n", start: 5, line: 1, col: 6, field: FieldTag, marker: true},
		{name: "key is never a ref", in: bags + ": x\n", start: -1},
		{name: "not managed", in: "image: nginx:1.25\n", start: -1},
		{name: "block scalar", in: "a: |\n  " + bags + "\n", start: -1, wantWarn: "block scalar"},
		{name: "block scalar sentence", in: "a: |\n  run " + bags + " first\n", start: -1},
		{name: "interpolation", in: "image: ${R}/bags_api:latest\n", start: -1, wantWarn: "interpolation"},
		{name: "helm template", in: "image: \"{{ .Values.r }}/bags_api:{{ .Values.t }}\"\n", start: -1, wantWarn: "interpolation"},
		{name: "escaped", in: "image: \"public.ecr.aws\\x2fy1p3h6z3/bags_api:latest\"\n", start: -1, wantWarn: "escapes"},
		{name: "split", in: "repository: public.ecr.aws/y1p3h6z3/bags_api\ntag: latest\n", start: -1, wantWarn: "split"},
		{name: "bare repo alone", in: "repository: public.ecr.aws/y1p3h6z3/bags_api\n", start: 12, line: 1, col: 13, field: FieldRef},
		{name: "marker on a quote escape", in: "tag: 'it''' # pin:bags_api:tag\n", start: -1, wantWarn: "escapes"},
		{name: "marker on a backslash escape", in: `tag: "a\\" # pin:bags_api:tag` + "\n", start: -1, wantWarn: "escapes"},
		{name: "marker on a number", in: "tag: 2 # pin:bags_api:tag\n", start: -1, wantWarn: "not a string"},
		{name: "marker on a key", in: "image: # pin:bags_api:ref\n  x\n", start: -1, wantWarn: "not right after"},
		{name: "unknown field", in: "a: b\ntag: latest # pin:bags_api:version\n", start: -1, wantErrLit: "f.yaml:2: marker \"pin:bags_api:version\": unknown field"},
		{name: "marker with a bad component", in: "tag: x # pin:bags,api:tag\n", start: -1, wantErrLit: "f.yaml:1: marker \"pin:bags,api:tag\": component"},
		{name: "marker missing field", in: "tag: latest # pin:bags_api\n", start: -1, wantErrLit: "f.yaml:1: marker"},
		{name: "syntax error", in: "a: b\n  c: d\n", start: -1, wantErrLit: "f.yaml:2: mapping values are not allowed"},
		{name: "utf-16", in: "\xff\xfea\x00", start: -1, wantErrLit: "UTF-16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ScanYAML("f.yaml", []byte(tt.in), testMatcher{})
			if tt.wantErrLit != "" {
				var pe *ParseError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.wantErrLit) {
					t.Fatalf("err = %v, want a *ParseError containing %q", err, tt.wantErrLit)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.start < 0 {
				if len(res.Refs) != 0 {
					t.Errorf("refs = %+v, want none", res.Refs)
				}
			} else {
				if len(res.Refs) != 1 {
					t.Fatalf("refs = %+v, want one", res.Refs)
				}
				r := res.Refs[0]
				if r.Start != tt.start || r.End != tt.start+len(r.Value) || r.Line != tt.line || r.Column != tt.col ||
					r.Field != tt.field || r.Marker != tt.marker || r.Component != "bags_api" {
					t.Errorf("ref = %+v, want start %d line %d col %d field %s marker %v component bags_api",
						r, tt.start, tt.line, tt.col, tt.field, tt.marker)
				}
				if got := tt.in[r.Start:r.End]; got != r.Value {
					t.Errorf("span holds %q, value is %q", got, r.Value)
				}
			}
			switch {
			case tt.wantWarn == "" && len(res.Warnings) != 0:
				t.Errorf("warnings = %+v, want none", res.Warnings)
			case tt.wantWarn != "" && (len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0].Message, tt.wantWarn)):
				t.Errorf("warnings = %+v, want one about %q", res.Warnings, tt.wantWarn)
			}
		})
	}
}

// TestScanYAMLParseErrorLines checks that parse errors name the line of the
// problem even where yaml.v3's own message names none or the line before.
func TestScanYAMLParseErrorLines(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
		msg  string
	}{
		{"scanner error", "a: 1\nb: 2\nc: 3\n  d: 4\n", 4, "mapping values are not allowed"},
		{"parser error in a flow sequence", "a: 1\nb: 2\nc: 3\nd: [1, 2\ne: 5\n", 4, "did not find expected ',' or ']'"},
		{"bad escape", "a: 1\nb: 2\nc: 3\nd: \"x\\q\"\n", 4, "unknown escape"},
		{"unknown anchor", "a: 1\nb: 2\nc: 3\nd: *nope\n", 4, "unknown anchor 'nope'"},
		{"control character", "a: 1\nb: 2\nc: 3\nd: \"x\x01\"\n", 4, "control characters"},
		{"invalid utf-8", "a: 1\nb: 2\nc: 3\nd: \"x\xff\"\n", 4, "UTF-8"},
		{"first line", "a: [\n", 2, "did not find expected node content"},
		{"second document", "a: 1\n---\nb: 2\n  c: 3\n", 4, "mapping values are not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ScanYAML("f.yaml", []byte(tt.in), testMatcher{})
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if pe.File != "f.yaml" || pe.Line != tt.line || !strings.Contains(pe.Msg, tt.msg) {
				t.Errorf("err = %q (line %d), want f.yaml line %d with %q", err, pe.Line, tt.line, tt.msg)
			}
		})
	}
}

// BenchmarkScanYAML scans a Kubernetes file of about 200 lines: several
// Deployments with app and sidecar containers.
func BenchmarkScanYAML(b *testing.B) {
	var sb strings.Builder
	svcs := []string{"bags_api", "ingests_api", "ingests_worker", "notifier", "bag_verifier", "bag_replicator", "file_indexer"}
	for i, svc := range svcs {
		if i > 0 {
			sb.WriteString("---\n")
		}
		fmt.Fprintf(&sb, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  labels: {app: %[1]s, tier: backend}
  annotations:
    description: "the %[1]s service"   # kept short
spec:
  replicas: 2
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      containers:
        - name: app
          image: public.ecr.aws/y1p3h6z3/%[1]s:latest
          imagePullPolicy: Always
          ports:
            - containerPort: 9001
          env:
            - name: QUEUE_URL
              value: "https://sqs.eu-west-1.amazonaws.com/123456789012/%[1]s"
        - name: log-router
          image: "public.ecr.aws/l7a1d1z4/fluentbit:3b2f1a9c0d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a"
`, svc)
	}
	data := []byte(sb.String())
	if n := bytes.Count(data, []byte("\n")); n < 180 {
		b.Fatalf("benchmark input has %d lines, want about 200", n)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := ScanYAML("k8s.yaml", data, testMatcher{})
		if err != nil || len(res.Refs) != 2*len(svcs) {
			b.Fatalf("scan: %v, %d refs", err, len(res.Refs))
		}
	}
}
