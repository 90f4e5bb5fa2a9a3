package rewrite

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestScanDockerfileGolden(t *testing.T) {
	inputs := goldenInputs(t, "dockerfile")
	if len(inputs) < 5 {
		t.Fatalf("only %d Dockerfile inputs under testdata/dockerfile", len(inputs))
	}
	for _, in := range inputs {
		t.Run(in, func(t *testing.T) { goldenScan(t, "dockerfile", in, ScanDockerfile) })
	}
}

func TestScanDockerfilePositions(t *testing.T) {
	const bags = "public.ecr.aws/y1p3h6z3/bags_api:latest"
	ref := func(start, line, col int) Ref {
		return Ref{Start: start, End: start + len(bags), Line: line, Column: col, Value: bags, Component: "bags_api", Field: FieldRef}
	}
	tests := []struct {
		name string
		src  string
		want []Ref
	}{
		{"from", "FROM " + bags + "\n", []Ref{ref(5, 1, 6)}},
		{"lower case, platform and alias", "from --platform=linux/arm64 " + bags + " as b\n", []Ref{ref(28, 1, 29)}},
		{"tab and crlf", "# c\r\nFROM\t" + bags + "\r\n", []Ref{ref(10, 2, 6)}},
		{"continuation", "FROM \\\n  " + bags + "\n", []Ref{ref(9, 2, 3)}},
		{"arg unquoted", "ARG B=" + bags + "\nFROM $B\n", []Ref{ref(6, 1, 7)}},
		{"arg quoted", "ARG X=1 B=\"" + bags + "\"\nFROM ${B}\n", []Ref{ref(11, 1, 12)}},
		{"copy from", "FROM scratch\nCOPY --from=" + bags + " / /\n", []Ref{ref(25, 2, 13)}},
		{"mount from", "FROM scratch\nRUN --mount=type=bind,from=" + bags + ",target=/x true\n", []Ref{ref(40, 2, 28)}},
		{"stage name is not an image", "FROM " + bags + " AS public.ecr.aws/y1p3h6z3/notifier\nFROM public.ecr.aws/y1p3h6z3/notifier\n", []Ref{ref(5, 1, 6)}},
		{"heredoc body", "FROM scratch\nRUN <<-EOT\n\tFROM " + bags + "\n\tEOT\n", nil},
		{"unmanaged", "FROM public.ecr.aws/docker/library/redis:7\n", nil},
		{"comment", "# FROM " + bags + "\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ScanDockerfile("Dockerfile", []byte(tt.src), testMatcher{})
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

func TestScanDockerfileWarnings(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
		comp string
		msg  string
	}{
		{"registry variable", "ARG R=x\n\nFROM ${R}/notifier:latest\n", 3, "notifier", "variables"},
		{"tag variable", "FROM public.ecr.aws/y1p3h6z3/notifier:$TAG\n", 1, "notifier", "variables"},
		{"copy from variable", "FROM scratch\nCOPY --from=${R}/notifier:1 / /\n", 2, "notifier", "variables"},
		{"arg with variable", "ARG B=${R}/notifier:latest\nFROM $B\n", 1, "notifier", "not a whole"},
		{"arg with escape", "ARG B=\"public.ecr.aws/y1p3h6z3/notifier:lat\\est\"\n", 1, "notifier", "not a whole"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ScanDockerfile("Dockerfile", []byte(tt.src), testMatcher{})
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

func TestScanDockerfileErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		line int
	}{
		{"from without image", "FROM scratch\n\nFROM\n", 3},
		{"from with flags only", "FROM --platform=x \\\n\n", 1},
		{"bad escape", "# escape=x\nFROM scratch\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ScanDockerfile("dir/Dockerfile", []byte(tt.src), testMatcher{})
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("want *ParseError, got %v", err)
			}
			if pe.File != "dir/Dockerfile" || pe.Line != tt.line {
				t.Errorf("got %v; want dir/Dockerfile:%d", pe, tt.line)
			}
		})
	}
}
