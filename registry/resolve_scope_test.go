package registry

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestScopeGroups checks that scopes are split into groups whose query
// parameters fit the limit, in order, none lost, and that a scope longer
// than the limit gets a group of its own.
func TestScopeGroups(t *testing.T) {
	var many []string
	for i := range 500 {
		many = append(many, fmt.Sprintf("repository:team/service-%03d:pull", i))
	}
	long := "repository:" + strings.Repeat("x", 300) + ":pull"
	for _, tc := range []struct {
		name   string
		scopes []string
		limit  int
		groups int
	}{
		{"none", nil, 100, 0},
		{"one", many[:1], maxScopeBytes, 1},
		{"20 fit in one", many[:20], maxScopeBytes, 1},
		{"500 need several", many, maxScopeBytes, 4},
		{"each alone", many[:3], 10, 3},
		{"oversized alone", []string{many[0], long, many[1]}, 200, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gs := scopeGroups(tc.scopes, tc.limit)
			if len(gs) != tc.groups {
				t.Fatalf("%d groups, want %d", len(gs), tc.groups)
			}
			if got := slices.Concat(gs...); !slices.Equal(got, tc.scopes) {
				t.Fatalf("groups hold %v, want %v", got, tc.scopes)
			}
			for i, g := range gs {
				q := url.Values{"scope": g}.Encode()
				if len(g) > 1 && len(q)+1 > tc.limit {
					t.Errorf("group %d: %d bytes of scope parameters, limit %d", i, len(q)+1, tc.limit)
				}
			}
		})
	}
}
