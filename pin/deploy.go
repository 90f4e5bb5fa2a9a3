package pin

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/wellcomecollection/pin/internal/reponame"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/rewrite"
)

// Under lists, sorted, the components whose repository (upstream or
// mirrored) is prefix/NAME: prefix is a registry namespace of the product.
func (m *Matcher) Under(prefix string) []string {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" || !strings.Contains(prefix, "/") && !strings.ContainsAny(prefix, ".:") {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for repo, c := range m.byRepo {
		for _, p := range []string{prefix, reponame.Canonical(prefix)} {
			if rest, ok := strings.CutPrefix(repo, p+"/"); ok && rest != "" && !strings.Contains(rest, "/") && !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	sort.Strings(out)
	return out
}

// deployNeedles are substrings one of which a file holding a deployment
// value of the product must contain: a registry prefix ending a string or
// followed by "/" and an interpolation, or the source repository's name.
// Like MayContain, they let most files skip parsing; whole references
// (prefix/name:tag) do not match them, so files of whole references are
// parsed once, not twice. A source repository spelled in another case than
// the release's is not found.
func deployNeedles(rel *manifest.Release, m *Matcher) [][]byte {
	seen := map[string]bool{}
	var out [][]byte
	for repo := range m.byRepo {
		if i := strings.LastIndexByte(repo, '/'); i > 0 && !seen[repo[:i]] {
			seen[repo[:i]] = true
			for _, end := range []string{`"`, `/"`, `/$`} {
				out = append(out, []byte(repo[:i]+end))
			}
		}
	}
	if repo, ok := rewrite.CanonicalSourceRepo(rel.Source.Repository); ok {
		out = append(out, []byte(repo[strings.LastIndexByte(repo, '/')+1:]))
	}
	return out
}

// mayHoldDeploy reports whether data could hold a deployment value.
func mayHoldDeploy(data []byte, needles [][]byte) bool {
	for _, n := range needles {
		if bytes.Contains(data, n) {
			return true
		}
	}
	return false
}

// PlannedDeployRef is a module source ref or a shared/split tag and the
// value the release gives it ("" New when it cannot give one: see Problem).
type PlannedDeployRef struct {
	File string
	rewrite.DeployRef
	New string
	// Tag is the tag each of Components must resolve to its signed digest
	// (shared-tag, split-tag); pin check --online verifies it.
	Tag string
	// Problem says why the release cannot set this value; it is then an
	// unmanaged finding, not a reference.
	Problem string
	Hint    string
}

// LockComponent is what pin.lock records as the reference's component:
// "source" for a module ref, the registry prefix for a shared tag.
func (r PlannedDeployRef) LockComponent() string {
	switch r.Kind {
	case rewrite.KindModuleRef:
		return "source"
	case rewrite.KindSharedTag:
		return r.Registry
	}
	return r.Components[0]
}

// planDeployRef decides what the release makes of one deployment value.
func planDeployRef(file string, r rewrite.DeployRef, rel *manifest.Release) PlannedDeployRef {
	p := PlannedDeployRef{File: file, DeployRef: r}
	switch r.Kind {
	case rewrite.KindModuleRef:
		if rel.Source.Revision == "" {
			p.Problem = fmt.Sprintf("release %s records no source revision, so pin cannot set this module's ref", rel.Version)
			p.Hint = RemedyRecordRevision + "; until then pin cannot pin this module"
			return p
		}
		p.New = rel.Source.Revision
	case rewrite.KindSharedTag, rewrite.KindSplitTag:
		tags := map[string][]string{}
		for _, name := range r.Components {
			c, ok := rel.Component(name)
			if !ok {
				continue
			}
			tags[c.Tag] = append(tags[c.Tag], name)
		}
		if len(tags) == 0 {
			p.Problem = fmt.Sprintf("release %s has none of the components under %s", rel.Version, r.Registry)
			p.Hint = "remove the object or point it at the product's registry"
			return p
		}
		if len(tags) > 1 || tags[""] != nil {
			var parts []string
			for t, cs := range tags {
				if t == "" {
					t = "(no tag recorded)"
				}
				parts = append(parts, fmt.Sprintf("%s: %s", t, strings.Join(cs, ", ")))
			}
			sort.Strings(parts)
			p.Problem = fmt.Sprintf("release %s does not record one tag for the %d components sharing %s (%s)", rel.Version, len(r.Components), r.Object, strings.Join(parts, "; "))
			p.Hint = "a shared tag can only be pinned when every component was released from the same tag (e.g. ref.<revision>); use whole references per service (see docs/storage-service.md)"
			return p
		}
		for t := range tags {
			p.Tag = t
		}
		if r.Kind == rewrite.KindSharedTag && !manifest.TagNamesCommit(p.Tag, rel.Source.Revision) {
			p.Problem = fmt.Sprintf("release %s recorded tag %q for the %d components sharing %s: a tag that does not name a commit moves with every build, so writing it would pin nothing", rel.Version, p.Tag, len(r.Components), r.Object)
			p.Hint = RemedyCommitTags + ", or use whole references per service (see docs/storage-service.md)"
			p.Tag = ""
			return p
		}
		p.New = p.Tag
		if r.Kind == rewrite.KindSplitTag {
			// The module composes registry/name:TAG, so TAG@sha256:... makes
			// a name:tag@digest reference: the digest is what runs.
			c, _ := rel.Component(r.Components[0])
			p.New = p.Tag + "@" + c.Digest
		}
	}
	return p
}

// Edit is the splice that gives the value its new bytes.
func (r PlannedDeployRef) Edit() (rewrite.Edit, bool) {
	if r.Problem != "" || r.New == r.Value {
		return rewrite.Edit{}, false
	}
	return rewrite.Edit{Start: r.Start, End: r.End, New: r.Prefix + r.New}, true
}

// Unmanaged is the warning a value becomes when the release cannot set it.
func (r PlannedDeployRef) Unmanaged() FileWarning {
	comp := r.LockComponent()
	return FileWarning{File: r.File, Warning: rewrite.Warning{Line: r.Line, Component: comp, Value: r.Value, Message: r.Problem, Hint: r.Hint}}
}

// sourceRepo is the release's source repository as module sources spell it.
func sourceRepo(rel *manifest.Release) string {
	repo, _ := rewrite.CanonicalSourceRepo(rel.Source.Repository)
	return repo
}

// scanDeployFile finds the deployment values of a Terraform file (nothing
// for other formats, or when no needle is in the file).
func scanDeployFile(rel string, data []byte, m *Matcher) ([]rewrite.DeployRef, []rewrite.Warning, error) {
	if f, _ := rewrite.FormatOf(rel); f != rewrite.FormatHCL || strings.HasSuffix(strings.ToLower(rel), ".tf.json") || !mayHoldDeploy(data, m.deployNeedles) {
		return nil, nil, nil
	}
	return rewrite.ScanDeploy(rel, data, m, m.source)
}

// planDeploy plans a file's deployment values: those the release sets go
// to p.DeployRefs (their splices are returned), the others to p.Warnings.
func (p *Plan) planDeploy(s scanned, rel *manifest.Release) []rewrite.Edit {
	var edits []rewrite.Edit
	for _, r := range s.deploy {
		pr := planDeployRef(s.file.Rel, r, rel)
		if pr.Problem != "" {
			p.Warnings = append(p.Warnings, pr.Unmanaged())
			continue
		}
		p.DeployRefs = append(p.DeployRefs, pr)
		if e, ok := pr.Edit(); ok {
			edits = append(edits, e)
		}
	}
	for _, w := range s.deployWarns {
		p.Warnings = append(p.Warnings, FileWarning{File: s.file.Rel, Warning: w})
	}
	return edits
}
