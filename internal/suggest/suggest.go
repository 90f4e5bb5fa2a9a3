// Package suggest finds the names a mistyped word was probably meant to be,
// for "did you mean" hints: the same edit distance cobra uses for unknown
// commands, applied to flags and configuration keys too.
package suggest

import (
	"sort"
	"strings"
)

// MaxDistance is the largest edit distance suggested, as cobra's default
// SuggestionsMinimumDistance.
const MaxDistance = 2

// Closest returns the candidates within MaxDistance edits of word (case
// insensitive), or that word is a prefix of, nearest first.
func Closest(word string, candidates []string) []string {
	type scored struct {
		name string
		d    int
	}
	var found []scored
	w := strings.ToLower(word)
	seen := map[string]bool{}
	for _, c := range candidates {
		if c == "" || c == word || seen[c] {
			continue
		}
		seen[c] = true
		lc := strings.ToLower(c)
		d := distance(w, lc)
		if d <= MaxDistance || (len(w) >= 3 && strings.HasPrefix(lc, w)) {
			found = append(found, scored{c, d})
		}
	}
	sort.SliceStable(found, func(i, j int) bool {
		if found[i].d != found[j].d {
			return found[i].d < found[j].d
		}
		return found[i].name < found[j].name
	})
	out := make([]string, len(found))
	for i, s := range found {
		out[i] = s.name
	}
	return out
}

// Hint renders "did you mean X?" (or "did you mean X or Y?") with each name
// prefixed, or "" when there is nothing to suggest.
func Hint(word, prefix string, candidates []string) string {
	c := Closest(word, candidates)
	if len(c) == 0 {
		return ""
	}
	if len(c) > 2 {
		c = c[:2]
	}
	for i := range c {
		c[i] = prefix + c[i]
	}
	return "did you mean " + strings.Join(c, " or ") + "?"
}

// distance is the Levenshtein distance between a and b (bytes).
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
