package producer

import (
	"fmt"
	"strings"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/opterr"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
)

// revisionCheck decides whether a release's components come from one
// commit, from their images' revision labels and the revision given.
type revisionCheck struct {
	path       string // release.yaml, for file:line
	given      string // the revision the release is built from ("" when not given)
	allowMixed bool   // components from several revisions are accepted and each one's recorded
}

// revisionSurvey is what the labels of a release's components say.
type revisionSurvey struct {
	groups   revisionGroups // components by revision (the given one first)
	wrongTag []string       // tags filled from the given revision whose images name another
	unknown  []string       // components without a label
}

// apply checks the revision labels of comps and records the outcome in
// their manifest components: each component's revision when mixed
// revisions are allowed, and the source and revision of a component built
// from its own repository. It returns the release's source.revision. It
// refuses, with a usage error (exit 2):
//   - an image whose tag was filled from the given revision but whose label
//     names another revision (the tag ref.<sha> should carry that sha), always;
//   - components whose labels name different revisions (or another revision
//     than the given one), unless allowMixed.
//
// An image without the label has an unknown revision and conflicts with
// nothing; the notes returned name such components.
func (rc revisionCheck) apply(comps []component) (source string, notes []string, err error) {
	recordOwnSources(comps)
	s := rc.survey(comps)
	if len(s.wrongTag) > 0 {
		return "", nil, opterr.Errorf("Revision", " %s fills these tags, but the images they name were built from another revision (was the tag pushed by another build?):\n  %s", rc.given, strings.Join(s.wrongTag, "\n  "))
	}
	if note := s.unknownNote(len(comps)); note != "" {
		notes = append(notes, note)
	}
	if len(s.groups) <= 1 {
		if rc.given == "" && len(s.groups) == 1 {
			return s.groups[0].rev, notes, nil
		}
		return rc.given, notes, nil
	}
	mixed := &MixedRevisionsError{Given: rc.given, Groups: s.groups.String()}
	if !rc.allowMixed {
		return "", nil, exitcode.UsageError(mixed)
	}
	rc.recordMixed(comps)
	// A note, not an error: the producer's command prints it as it is.
	notes = append(notes, mixed.Problem()+NoteMixedAllowed)
	return rc.given, notes, nil
}

// NoteMixedAllowed ends the note for components from different revisions
// that the options allowed (Problem's words come first). It names no flag:
// cmd/pin words it with the flags that allowed the mix.
const NoteMixedAllowed = "; allowed as mixed revisions were permitted, each component's revision is recorded in the manifest"

// survey groups the product's own components by the revisions their labels
// name. A component built from its own repository is outside the
// one-revision rule; a component whose tag the given revision filled and
// whose image has no label is vouched for by its tag.
func (rc revisionCheck) survey(comps []component) revisionSurvey {
	var s revisionSurvey
	if rc.given != "" {
		s.groups.add(rc.given, "")
	}
	for _, c := range comps {
		d := c.revs.Distinct()
		filled := rc.given != "" && c.conf.UsesRevision()
		if len(d) == 0 {
			if c.conf.Source != "" || !filled {
				s.unknown = append(s.unknown, c.conf.Name)
			}
			continue
		}
		if c.conf.Source != "" {
			continue
		}
		if filled {
			for _, l := range d {
				if !sameRevision(l, rc.given) {
					s.wrongTag = append(s.wrongTag, fmt.Sprintf("%s:%d: component %s: %s carries %s %s", rc.path, c.conf.Line, c.conf.Name, c.image, registry.RevisionLabel, l))
				}
			}
		}
		if len(d) == 1 {
			s.groups.add(d[0], c.conf.Name)
			continue
		}
		for _, im := range c.revs.Images {
			if im.Revision != "" {
				s.groups.add(im.Revision, c.conf.Name+"["+im.Platform+"]")
			}
		}
	}
	return s
}

// unknownNote is the warning about components whose revision is unknown.
func (s revisionSurvey) unknownNote(components int) string {
	switch n := len(s.unknown); {
	case n == 0:
		return ""
	case n == components:
		return fmt.Sprintf("no component carries the %s label: pin cannot check that they come from one commit", registry.RevisionLabel)
	default:
		return fmt.Sprintf("%d of %d components carry no %s label, so their revision is unknown: %s", n, components, registry.RevisionLabel, strings.Join(s.unknown, ", "))
	}
}

// recordOwnSources records the source and revision label(s) of every
// component built from another repository than the product's: its revision
// is its own, and conflicts with nothing.
func recordOwnSources(comps []component) {
	for i := range comps {
		if c := &comps[i]; c.conf.Source != "" {
			c.out.Source = c.conf.Source
			recordRevisions(&c.out, c.revs)
		}
	}
}

// recordMixed records each of the product's components' revision in a
// release whose components come from several revisions.
func (rc revisionCheck) recordMixed(comps []component) {
	for i := range comps {
		c := &comps[i]
		switch {
		case c.conf.Source != "":
			// recorded by recordOwnSources
		case len(c.revs.Distinct()) > 0:
			recordRevisions(&c.out, c.revs)
		case rc.given != "" && c.conf.UsesRevision():
			c.out.Revision = rc.given
		}
	}
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
