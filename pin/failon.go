package pin

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wellcomecollection/pin/internal/exitcode"
)

// CheckSchemaVersion versions `pin check --output json`.
const CheckSchemaVersion = 1

// FindingKinds lists every kind Check reports.
var FindingKinds = []string{FindingUnpinned, FindingDrift, FindingMissing, FindingUpdate, FindingYanked, FindingExpired, FindingNotListed,
	FindingUnrewritable, FindingMovedTag, FindingUnmanaged}

// ParseFailOn reads `pin check --fail-on`: a comma-separated list of
// finding kinds, or "" for all of them (every finding fails, as before).
// Like `pin audit --fail-on`, an unknown kind is a usage error.
func ParseFailOn(s string) (map[string]bool, error) {
	out := map[string]bool{}
	if strings.TrimSpace(s) == "" {
		for _, k := range FindingKinds {
			out[k] = true
		}
		return out, nil
	}
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if !slices.Contains(FindingKinds, k) {
			return nil, exitcode.UsageError(fmt.Errorf("--fail-on %q: use a comma-separated list of %s", k, strings.Join(FindingKinds, ", ")))
		}
		out[k] = true
	}
	return out, nil
}

// Failing returns the findings whose kind is in failOn, in report order.
func (r *CheckResult) Failing(failOn map[string]bool) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if failOn[f.Kind] {
			out = append(out, f)
		}
	}
	return out
}
