package pin

import (
	"context"
	"fmt"
	"sort"

	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
	"github.com/wellcomecollection/pin/rewrite"
)

// FindingMovedTag is a tag pin set from a release (a shared tag, a split
// object's tag) that no longer resolves to the digest the release signed:
// the next deployment would run other code than the release.
const FindingMovedTag = "moved-tag"

// addCheckWarning files a scan warning: a product value pin cannot pin is
// an unmanaged finding (a check that skipped it must not pass); advice is a
// note.
func addCheckWarning(res *CheckResult, fw FileWarning) {
	if IsUnmanaged(fw) {
		msg := fw.Message
		if fw.Value != "" {
			msg += " (" + fw.Value + ")"
		}
		if fw.Hint != "" {
			msg += ": " + fw.Hint
		}
		res.Findings = append(res.Findings, Finding{Kind: FindingUnmanaged, File: fw.File, Line: fw.Line, Component: fw.Component, Found: fw.Value, Message: msg})
		return
	}
	res.Warnings = append(res.Warnings, fw)
	res.Notes = append(res.Notes, fw.String())
}

// checkDeploy compares a file's module refs and shared/split tags with the
// release, and returns the tags `--online` must verify.
func checkDeploy(res *CheckResult, s scanned, rel *manifest.Release, seen map[string]int) []PlannedDeployRef {
	var tagged []PlannedDeployRef
	for _, r := range s.deploy {
		pr := planDeployRef(s.file.Rel, r, rel)
		if pr.Problem != "" {
			addCheckWarning(res, pr.Unmanaged())
			continue
		}
		seen[s.file.Rel+"\x00"+pr.LockComponent()+"\x00"+pr.Kind]++
		res.References++
		if pr.Kind == rewrite.KindSharedTag {
			// A split tag is written tag@digest: the digest is what runs, so
			// only a shared tag depends on where the tag points.
			tagged = append(tagged, pr)
		}
		if pr.Value == pr.New {
			continue
		}
		kind, what := FindingDrift, ""
		switch pr.Kind {
		case rewrite.KindModuleRef:
			what = fmt.Sprintf("module source %s is at ref %q, release %s was built from %s", pr.Address, pr.Value, rel.Version, pr.New)
			if pr.Value == "" {
				kind = FindingUnpinned
				what = fmt.Sprintf("module source %s has no ref (it follows the default branch); release %s was built from %s", pr.Address, rel.Version, pr.New)
			}
		default:
			what = fmt.Sprintf("%s is %q, release %s sets %q for %d component(s) under %s", pr.Object, pr.Value, rel.Version, pr.New, len(pr.Components), pr.Registry)
		}
		res.Findings = append(res.Findings, Finding{Kind: kind, File: s.file.Rel, Line: pr.Line, Component: pr.LockComponent(), Found: pr.Value, Want: pr.New, Message: what})
	}
	for _, w := range s.deployWarns {
		addCheckWarning(res, FileWarning{File: s.file.Rel, Warning: w})
	}
	return tagged
}

// verifyTags resolves, for every shared or split tag that matches the
// release, each component's TARGET:TAG and reports a tag that no longer
// names the signed digest. Resolution failures are operational errors.
func verifyTags(ctx context.Context, tagged []PlannedDeployRef, rel *manifest.Release, m *Matcher, opts []registry.Option) ([]Finding, error) {
	type want struct {
		ref    PlannedDeployRef
		comp   manifest.Component
		target string
	}
	var wants []want
	var refs []string
	seen := map[string]bool{}
	for _, t := range tagged {
		if t.Value != t.New {
			continue // already drift; the tag written is not the release's
		}
		for _, name := range t.Components {
			c, ok := rel.Component(name)
			if !ok {
				continue
			}
			target := m.Target(name) + ":" + t.Tag
			if seen[target] {
				continue
			}
			seen[target] = true
			wants = append(wants, want{t, c, target})
			refs = append(refs, target)
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	results := registry.NewResolver(opts...).Resolve(ctx, refs, nil)
	var out []Finding
	for i, r := range results {
		w := wants[i]
		if r.Err != nil {
			return nil, fmt.Errorf("verify tag %s of release %s: %w", w.target, rel.Version, r.Err)
		}
		if r.Digest != w.comp.Digest {
			out = append(out, Finding{Kind: FindingMovedTag, File: w.ref.File, Line: w.ref.Line, Component: w.comp.Name, Found: r.Digest, Want: w.comp.Digest,
				Message: fmt.Sprintf("%s now resolves to %s, but release %s signed %s for %s: the tag moved, and the next deployment would run unreleased code", w.target, r.Digest, rel.Version, w.comp.Digest, w.comp.Name)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Component < out[j].Component })
	return out, nil
}
