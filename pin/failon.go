package pin

import (
	"slices"
	"strings"

	"github.com/wellcomecollection/pin/internal/opterr"
)

// CheckSchemaVersion versions `pin check --output json`.
const CheckSchemaVersion = 1

// FindingKinds lists every kind Check reports.
var FindingKinds = []string{FindingUnpinned, FindingDrift, FindingMissing, FindingUnrewritable, FindingUnmanaged, FindingMovedTag,
	FindingUpdate, FindingYanked, FindingExpired, FindingNotListed}

// ParseFailOn reads `pin check --fail-on`: a comma-separated list of
// finding kinds, or "" for all of them (every finding fails, as before).
// Like `pin audit --fail-on`, an unknown kind is a usage error.
//
// "All" is nil, not a list: a finding kind added later must fail the check
// by default without anyone remembering to list it here.
func ParseFailOn(s string) (map[string]bool, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	out := map[string]bool{}
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if !slices.Contains(FindingKinds, k) {
			return nil, opterr.Errorf("FailOn", " %q: use a comma-separated list of %s", k, strings.Join(FindingKinds, ", "))
		}
		out[k] = true
	}
	return out, nil
}

// Failing returns the findings whose kind is in failOn (every finding when
// failOn is nil), in report order.
func (r *CheckResult) Failing(failOn map[string]bool) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if failOn == nil || failOn[f.Kind] {
			out = append(out, f)
		}
	}
	return out
}
