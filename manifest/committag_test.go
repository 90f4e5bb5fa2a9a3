package manifest

import "testing"

func TestTagNamesCommit(t *testing.T) {
	const rev = "6a52d4926819ddc090da5cd51144db0d08d693d2"
	tests := []struct {
		tag, revision string
		want          bool
	}{
		{"ref." + rev, rev, true},
		{"ref." + rev, "", true}, // a full commit names one even without a revision to compare
		{"ref.6a52d49", rev, true},
		{"ref.6a52d4", rev, false}, // 6 digits: too short to name a commit
		{"ref.6a52d49", "", false},
		{"ref.0000000", rev, false},
		{"8c68706fba97189fc72e3d0844458c7c5dee0bbc", rev, true},
		{"latest", rev, false},
		{"env.prod", rev, false},
		{"v1.2.3", rev, false},
		{"20240101", rev, false},
		{"", rev, false},
	}
	for _, tc := range tests {
		if got := TagNamesCommit(tc.tag, tc.revision); got != tc.want {
			t.Errorf("TagNamesCommit(%q, %q) = %v, want %v", tc.tag, tc.revision, got, tc.want)
		}
	}
}
