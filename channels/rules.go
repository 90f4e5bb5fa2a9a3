package channels

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/wellcomecollection/pin/manifest"
)

// The channels pin knows. Stable holds final versions; edge holds
// prereleases of the next version and sees stable too (fallthrough).
const (
	Stable = "stable"
	Edge   = "edge"
)

// Names lists the known channels, most conservative first.
var Names = []string{Stable, Edge}

var edgePrerelease = regexp.MustCompile(`^edge\.(0|[1-9][0-9]*)$`)

// ValidName reports whether channel is one pin knows.
func ValidName(channel string) error {
	switch channel {
	case Stable, Edge:
		return nil
	}
	return fmt.Errorf("channel %q is not stable or edge", channel)
}

// CheckVersion reports whether version may be published on channel:
// stable takes X.Y.Z, edge takes X.Y.Z-edge.N with a numeric N.
func CheckVersion(channel, version string) (*semver.Version, error) {
	if err := ValidName(channel); err != nil {
		return nil, err
	}
	v, err := manifest.ParseVersion(version)
	if err != nil {
		return nil, err
	}
	switch channel {
	case Stable:
		if v.Prerelease() != "" {
			return nil, fmt.Errorf("version %s has a prerelease part (-%s): stable takes only X.Y.Z; publish it on edge, or promote an edge release", version, v.Prerelease())
		}
	case Edge:
		m := edgePrerelease.FindStringSubmatch(v.Prerelease())
		if m == nil {
			return nil, fmt.Errorf("version %s does not fit edge: edge takes X.Y.Z-edge.N with a numeric N (e.g. %d.%d.%d-edge.1)", version, v.Major(), v.Minor(), v.Patch())
		}
		// SemVer orders numeric identifiers as numbers, but the semver
		// library compares one that overflows uint64 as a string, so
		// edge.18446744073709551616 would sort below edge.9. N must fit
		// in 63 bits, so every N a channel holds orders numerically.
		if _, err := strconv.ParseInt(m[1], 10, 64); err != nil {
			return nil, fmt.Errorf("version %s: edge number %s is too large (at most %d): it would not order numerically", version, m[1], int64(math.MaxInt64))
		}
	}
	return v, nil
}

// Candidate is a release a consumer may select, with the channel that lists it.
type Candidate struct {
	manifest.Entry
	Channel string
}

// Visible returns the entries a consumer of channel sees: its own, plus
// stable's when the channel is edge. Versions listed on both are reported once,
// from the consumer's own channel.
func Visible(channel string, indexes map[string]*manifest.Channel) []Candidate {
	var out []Candidate
	seen := map[string]bool{}
	add := func(name string) {
		idx := indexes[name]
		if idx == nil {
			return
		}
		for _, e := range idx.Releases {
			if !seen[e.Version] {
				seen[e.Version] = true
				out = append(out, Candidate{Entry: e, Channel: name})
			}
		}
	}
	add(channel)
	if channel == Edge {
		add(Stable)
	}
	sort.SliceStable(out, func(i, j int) bool {
		return semver.MustParse(out[i].Version).LessThan(semver.MustParse(out[j].Version))
	})
	return out
}

// ParseConstraint parses a consumer's version constraint (`~1.5`, `>=1.4 <2`).
// An empty constraint allows every version.
func ParseConstraint(c string) (*semver.Constraints, error) {
	if strings.TrimSpace(c) == "" {
		return nil, nil
	}
	cs, err := semver.NewConstraint(c)
	if err != nil {
		return nil, fmt.Errorf("version constraint %q: %w", c, err)
	}
	return cs, nil
}

// Allowed reports whether v satisfies the constraint. Prereleases are matched
// on their X.Y.Z: an edge consumer asks for `~1.5` and gets 1.5.1-edge.2 too,
// without the `-0` trick; a stable consumer never sees prereleases at all.
func Allowed(cs *semver.Constraints, v *semver.Version) bool {
	if cs == nil {
		return true
	}
	if v.Prerelease() == "" {
		return cs.Check(v)
	}
	core := semver.New(v.Major(), v.Minor(), v.Patch(), "", "")
	return cs.Check(core)
}

// Select returns the highest non-yanked candidate that satisfies cs. ok is
// false when nothing qualifies.
func Select(cands []Candidate, cs *semver.Constraints) (Candidate, bool) {
	var best Candidate
	var bestV *semver.Version
	for _, c := range cands {
		if c.Yanked {
			continue
		}
		v, err := semver.StrictNewVersion(c.Version)
		if err != nil || !Allowed(cs, v) {
			continue
		}
		if bestV == nil || v.GreaterThan(bestV) {
			best, bestV = c, v
		}
	}
	return best, bestV != nil
}
