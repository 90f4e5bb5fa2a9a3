package pin

import (
	"testing"

	"github.com/wellcomecollection/pin/manifest"
)

// TestMayContainSpellings: the pre-filter skips a file only when it provably
// cannot name a component once decoded.
func TestMayContainSpellings(t *testing.T) {
	rel := &manifest.Release{Components: []manifest.Component{{Name: "bags_api", Repository: "public.ecr.aws/y1p3h6z3/bags_api"}}}
	m := NewMatcher(rel, nil)
	tests := []struct {
		name string
		data string
		want bool
	}{
		{"plain", "image: public.ecr.aws/y1p3h6z3/bags_api:latest\n", true},
		{"unrelated", "image: docker.io/library/redis:7\n", false},
		{"escaped newline in prose", `{"text": "a\nb"}`, true},
		{"JSON \\u", `{"i": "public.ecr.aws/y1p3h6z3/\u0062ags_api:latest"}`, true},
		{"JSON \\/", `{"i": "public.ecr.aws\/y1p3h6z3\/bags_api:latest"}`, true},
		{"YAML \\x", `i: "public.ecr.aws/y1p3h6z3/\x62ags_api:latest"`, true},
		{"continuation", "FROM public.ecr.aws/y1p3h6z3/ba\\\ngs_api:latest\n", true},
		{"continuation, CRLF", "FROM public.ecr.aws/y1p3h6z3/ba\\\r\ngs_api:latest\r\n", true},
		{"continuation, blanks after", "FROM public.ecr.aws/y1p3h6z3/ba\\ \t\ngs_api:latest\n", true},
		{"escape directive", "# escape=`\nFROM public.ecr.aws/y1p3h6z3/ba`\ngs_api:latest\n", true},
		{"UTF-16LE", "i\x00:\x00 \x00/\x00b\x00a\x00g\x00s\x00_\x00a\x00p\x00i\x00", true},
		{"UTF-16LE, unrelated", "i\x00:\x00 \x00r\x00e\x00d\x00i\x00s\x00", false},
		{"backslash before a quote only", `{"a": "say \"hi\""}`, false},
	}
	for _, tt := range tests {
		if got := m.MayContain([]byte(tt.data)); got != tt.want {
			t.Errorf("%s: MayContain = %v, want %v", tt.name, got, tt.want)
		}
	}
}
