package pin

import (
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// UnifiedDiff renders a unified diff of one file with three lines of
// context, in the form `git apply` and `patch` accept.
func UnifiedDiff(name string, old, new []byte) string {
	d := difflib.UnifiedDiff{
		A:        diffLines(string(old)),
		B:        diffLines(string(new)),
		FromFile: "a/" + name,
		ToFile:   "b/" + name,
		Context:  3,
	}
	s, err := difflib.GetUnifiedDiffString(d)
	if err != nil {
		return ""
	}
	return s
}

// diffLines splits text into lines that keep their ends. difflib's own
// SplitLines adds a phantom empty line after a final newline, which makes
// the diff not apply; and a last line without a newline gets the marker
// unified diffs use for it.
func diffLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1]
	}
	lines[len(lines)-1] += "\n\\ No newline at end of file\n"
	return lines
}
