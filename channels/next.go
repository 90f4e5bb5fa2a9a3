package channels

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/opterr"
	"github.com/wellcomecollection/pin/manifest"
)

// NextVersion returns the version the next release on channel should take,
// given the channels' current indexes (nil for a channel that does not exist
// yet) and an optional base X.Y.Z (a pipeline's version file).
//
// Edge takes X.Y.Z-edge.N, ahead of every stable release: X.Y.Z is base when
// base is ahead of stable, else the highest edge X.Y.Z still ahead of stable,
// else stable's next patch; N follows the highest N already used for that
// X.Y.Z (yanked ones count: a version is never reused). Stable takes base
// when it is ahead of every stable release, else the next patch.
func NextVersion(channel string, stable, edge *manifest.Channel, base string) (string, error) {
	if err := ValidName(channel); err != nil {
		return "", exitcode.UsageError(err)
	}
	var baseV *semver.Version
	if base != "" {
		v, err := manifest.ParseVersion(base)
		if err != nil || v.Prerelease() != "" || v.Metadata() != "" {
			return "", opterr.Errorf("Base", " %q: want X.Y.Z", base)
		}
		baseV = v
	}
	highestStable := highest(stable, func(*semver.Version) bool { return true })
	aheadOfStable := func(v *semver.Version) bool {
		core := coreOf(v)
		return highestStable == nil || core.GreaterThan(highestStable)
	}
	var core *semver.Version
	switch {
	case baseV != nil && aheadOfStable(baseV):
		core = baseV
	case channel == Edge && highest(edge, aheadOfStable) != nil:
		core = coreOf(highest(edge, aheadOfStable))
	case highestStable != nil:
		next := highestStable.IncPatch()
		core = &next
	default:
		return "", exitcode.UsageError(ErrNothingPublished)
	}
	if channel == Stable {
		return core.String(), nil
	}
	n := 0
	for _, e := range entries(edge) {
		v, err := manifest.ParseVersion(e.Version)
		if err != nil || !coreOf(v).Equal(core) {
			continue
		}
		if m, ok := strings.CutPrefix(v.Prerelease(), "edge."); ok {
			if i, err := strconv.Atoi(m); err == nil && i > n {
				n = i
			}
		}
	}
	return fmt.Sprintf("%s-edge.%d", core, n+1), nil
}

// Next reads both channels (verified with the publisher's keys) and returns
// NextVersion for channel.
func (p *Publisher) Next(ctx context.Context, channel, base string) (string, error) {
	idx := map[string]*manifest.Channel{}
	for _, name := range Names {
		c, err := p.current(ctx, name)
		if err != nil {
			return "", err
		}
		idx[name] = c
	}
	return NextVersion(channel, idx[Stable], idx[Edge], base)
}

func entries(c *manifest.Channel) []manifest.Entry {
	if c == nil {
		return nil
	}
	return c.Releases
}

// highest returns the highest version listed on c that keep accepts.
func highest(c *manifest.Channel, keep func(*semver.Version) bool) *semver.Version {
	var best *semver.Version
	for _, e := range entries(c) {
		v, err := manifest.ParseVersion(e.Version)
		if err != nil || !keep(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best = v
		}
	}
	return best
}

// coreOf returns X.Y.Z of v.
func coreOf(v *semver.Version) *semver.Version {
	return semver.New(v.Major(), v.Minor(), v.Patch(), "", "")
}
