package pin

import (
	"testing"
)

// TestFailOnDefaultFailsEveryKind: with no --fail-on every finding fails the
// check, including kinds added after the flag (unrewritable, unmanaged,
// moved-tag once passed unnoticed because the default was a list).
func TestFailOnDefaultFailsEveryKind(t *testing.T) {
	kinds := append([]string{"a-kind-added-later"}, FindingKinds...)
	res := &CheckResult{}
	for _, k := range kinds {
		res.Findings = append(res.Findings, Finding{Kind: k})
	}
	failOn, err := ParseFailOn("")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(res.Failing(failOn)); got != len(kinds) {
		t.Errorf("default --fail-on: %d of %d findings fail", got, len(kinds))
	}
	for _, k := range []string{FindingUnrewritable, FindingUnmanaged, FindingMovedTag} {
		only, err := ParseFailOn(k)
		if err != nil {
			t.Fatalf("--fail-on %s: %v", k, err)
		}
		if f := res.Failing(only); len(f) != 1 || f[0].Kind != k {
			t.Errorf("--fail-on %s: failing %v", k, f)
		}
	}
	if _, err := ParseFailOn("drift,nonsense"); err == nil {
		t.Error("--fail-on with an unknown kind was accepted")
	}
}
