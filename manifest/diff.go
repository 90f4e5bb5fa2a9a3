package manifest

import "sort"

// ChangeKind says how a component differs between two releases.
type ChangeKind string

// Kinds of component change.
const (
	Added     ChangeKind = "added"
	Removed   ChangeKind = "removed"
	Changed   ChangeKind = "changed"
	Unchanged ChangeKind = "unchanged"
)

// Change is one component's difference between two releases.
type Change struct {
	Name string     `json:"name"`
	Kind ChangeKind `json:"change"`
	Old  *Component `json:"old,omitempty"`
	New  *Component `json:"new,omitempty"`
}

// Diff compares the components of two releases by name, in name order. A
// component is Changed when its repository or digest differs.
func Diff(a, b *Release) []Change {
	old := map[string]Component{}
	for _, c := range a.Components {
		old[c.Name] = c
	}
	seen := map[string]bool{}
	var out []Change
	for _, c := range b.Components {
		c := c
		seen[c.Name] = true
		o, ok := old[c.Name]
		switch {
		case !ok:
			out = append(out, Change{Name: c.Name, Kind: Added, New: &c})
		case o.Digest != c.Digest || o.Repository != c.Repository:
			out = append(out, Change{Name: c.Name, Kind: Changed, Old: &o, New: &c})
		default:
			out = append(out, Change{Name: c.Name, Kind: Unchanged, Old: &o, New: &c})
		}
	}
	for _, c := range a.Components {
		c := c
		if !seen[c.Name] {
			out = append(out, Change{Name: c.Name, Kind: Removed, Old: &c})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
