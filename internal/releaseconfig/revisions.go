package releaseconfig

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/opterr"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
)

// RevisionCheck is what pin release create knows about where a release's
// images come from.
type RevisionCheck struct {
	// Given is the --revision of the command line ("" when not given).
	Given string
	// AllowMixed accepts components from several revisions and records each
	// component's revision in the manifest.
	AllowMixed bool
}

// Apply checks the revision labels read from the images of rel (revs[i]
// belongs to c.Components[i] and rel.Components[i]) and records the result in
// rel: source.revision when the release is one commit's, each component's
// revision when mixed revisions are allowed. It refuses, with a usage error
// (exit 2):
//   - an image whose tag was filled from --revision but whose label names
//     another revision (the tag ref.<sha> should carry that sha), always;
//   - components whose labels name different revisions (or another revision
//     than --revision), unless AllowMixed.
//
// An image without the label has an unknown revision and conflicts with
// nothing; the notes returned name such components.
func (rc RevisionCheck) Apply(c *Config, rel *manifest.Release, revs []registry.Revisions) (notes []string, err error) {
	if len(revs) != len(c.Components) || len(rel.Components) != len(c.Components) {
		return nil, fmt.Errorf("revision check: %d components, %d releases entries, %d label results", len(c.Components), len(rel.Components), len(revs))
	}
	var groups revisionGroups
	if rc.Given != "" {
		groups.add(rc.Given, "")
	}
	var wrongTag, unknown []string
	for i, comp := range c.Components {
		d := revs[i].Distinct()
		if comp.Source != "" {
			// Built from another repository: its revision is its own,
			// recorded with that repository, and conflicts with nothing.
			recordOwnRevision(&rel.Components[i], comp.Source, revs[i])
			if len(d) == 0 {
				unknown = append(unknown, comp.Name)
			}
			continue
		}
		if len(d) == 0 {
			if !(rc.Given != "" && comp.UsesRevision()) {
				unknown = append(unknown, comp.Name)
			}
			continue
		}
		if rc.Given != "" && comp.UsesRevision() {
			for _, l := range d {
				if !sameRevision(l, rc.Given) {
					wrongTag = append(wrongTag, fmt.Sprintf("%s:%d: component %s: %s carries %s %s", c.Path, comp.Line, comp.Name, comp.Image, registry.RevisionLabel, l))
				}
			}
		}
		if len(d) == 1 {
			groups.add(d[0], comp.Name)
			continue
		}
		for _, im := range revs[i].Images {
			if im.Revision != "" {
				groups.add(im.Revision, comp.Name+"["+im.Platform+"]")
			}
		}
	}
	if len(wrongTag) > 0 {
		return nil, opterr.Errorf("Revision", " %s fills these tags, but the images they name were built from another revision (was the tag pushed by another build?):\n  %s", rc.Given, strings.Join(wrongTag, "\n  "))
	}
	if n := len(unknown); n > 0 {
		if n == len(c.Components) {
			notes = append(notes, fmt.Sprintf("no component carries the %s label: pin cannot check that they come from one commit", registry.RevisionLabel))
		} else {
			notes = append(notes, fmt.Sprintf("%d of %d components carry no %s label, so their revision is unknown: %s", n, len(c.Components), registry.RevisionLabel, strings.Join(unknown, ", ")))
		}
	}

	if len(groups) <= 1 {
		rel.Source.Revision = rc.Given
		if rc.Given == "" && len(groups) == 1 {
			rel.Source.Revision = groups[0].rev
		}
		return notes, nil
	}
	mixed := &MixedRevisionsError{Given: rc.Given, Groups: groups.String()}
	if !rc.AllowMixed {
		return nil, exitcode.UsageError(mixed)
	}
	rel.Source.Revision = rc.Given
	for i, comp := range c.Components {
		mc := &rel.Components[i]
		d := revs[i].Distinct()
		switch {
		case comp.Source != "":
			// recorded above
		case len(d) > 0:
			recordRevisions(mc, revs[i])
		case rc.Given != "" && comp.UsesRevision():
			mc.Revision = rc.Given
		}
	}
	// A note, not an error: the producer's command prints it as it is.
	what := mixed.Problem()
	if rc.Given != "" {
		what = "--revision " + strings.TrimPrefix(what, "revision ")
	}
	notes = append(notes, what+"; allowed by --allow-mixed-revisions, each component's revision is recorded in the manifest")
	return notes, nil
}

// recordOwnRevision records the source and revision label(s) of a component
// built from another repository than the product's.
func recordOwnRevision(mc *manifest.Component, source string, rv registry.Revisions) {
	mc.Source = source
	recordRevisions(mc, rv)
}

// recordRevisions records a component's revision label, or each platform's
// when its platforms disagree.
func recordRevisions(mc *manifest.Component, rv registry.Revisions) {
	d := rv.Distinct()
	switch {
	case len(d) == 1:
		mc.Revision = d[0]
	case len(d) > 1:
		for j, im := range rv.Images {
			if j < len(mc.Platforms) && mc.Platforms[j].Digest == im.Digest {
				mc.Platforms[j].Revision = im.Revision
			}
		}
	}
}

// revisionGroups collects component names by revision, in order of first
// appearance; sameRevision revisions share a group named by the longest.
type revisionGroups []revisionGroup

type revisionGroup struct {
	rev   string
	names []string
}

func (gs *revisionGroups) add(rev, name string) {
	for i := range *gs {
		g := &(*gs)[i]
		if sameRevision(g.rev, rev) {
			if len(rev) > len(g.rev) {
				g.rev = rev
			}
			if name != "" {
				g.names = append(g.names, name)
			}
			return
		}
	}
	g := revisionGroup{rev: rev}
	if name != "" {
		g.names = []string{name}
	}
	*gs = append(*gs, g)
}

// String renders "a, b (rev1), c (rev2)", skipping groups without components.
func (gs revisionGroups) String() string {
	var parts []string
	for _, g := range gs {
		if len(g.names) > 0 {
			parts = append(parts, fmt.Sprintf("%s (%s)", strings.Join(g.names, ", "), g.rev))
		}
	}
	return strings.Join(parts, ", ")
}

// sameRevision reports whether a and b name the same revision: equal, or
// git commit names of which one abbreviates the other (7 hex digits or more).
func sameRevision(a, b string) bool {
	if a == b {
		return true
	}
	a, b = strings.ToLower(a), strings.ToLower(b)
	if len(a) > len(b) {
		a, b = b, a
	}
	return len(a) >= 7 && isHex(b) && strings.HasPrefix(b, a)
}

func isHex(s string) bool {
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return s != ""
}

// ErrNeedsRevision is a component whose image holds RevisionPlaceholder
// while no revision was given.
var ErrNeedsRevision = errors.New("needs a revision")

// MixedRevisionsError is a release whose components come from different
// revisions (Groups lists them) without AllowMixed; Given is the revision
// the caller set, if any.
type MixedRevisionsError struct {
	Given, Groups string
}

// Problem is the refusal's cause, without the way on.
func (e *MixedRevisionsError) Problem() string {
	what := "components come from different revisions: " + e.Groups
	if e.Given != "" {
		what = fmt.Sprintf("revision %s was given, but %s", e.Given, what)
	}
	return what
}

func (e *MixedRevisionsError) Error() string {
	return e.Problem() + "; release one commit's images or allow mixed revisions"
}
