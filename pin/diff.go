package pin

import (
	"github.com/pmezard/go-difflib/difflib"
)

// UnifiedDiff renders a unified diff of one file with three lines of context.
func UnifiedDiff(name string, old, new []byte) string {
	d := difflib.UnifiedDiff{
		A:        difflib.SplitLines(string(old)),
		B:        difflib.SplitLines(string(new)),
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
