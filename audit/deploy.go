package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/wellcomecollection/pin/internal/regular"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/rewrite"
)

// FieldModuleRef marks a Found that is the ref of a Terraform module source
// in the product's source repository: Ref holds the ref, Address the module.
const FieldModuleRef = rewrite.KindModuleRef

// StatusMovedTag is a tag that a release recorded for a component and that
// now resolves to another digest than the one the release signed.
const StatusMovedTag Status = "moved-tag"

// ExtractDeploy reads the Terraform files among paths (files or directories,
// walked as ExtractPaths walks them; "-" is skipped) for the deployment
// values pin update manages besides whole references: module source refs in
// sourceRepo, and {registry, name, tag} objects under the product's registry
// prefixes. A shared tag becomes one Found per component (REGISTRY/NAME:TAG);
// a split object one Found (REGISTRY/NAME:TAG, with its @digest when it has
// one). Product values pin cannot manage become Notes with their component.
func ExtractDeploy(paths []string, m rewrite.ProductMatcher, sourceRepo string) ([]Found, []Note, error) {
	var files []string
	for _, p := range paths {
		if p == "-" {
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		if !info.IsDir() {
			if terraformFile(filepath.Base(p)) {
				files = append(files, p)
			}
			continue
		}
		walked, err := walkInputs(p, terraformFile)
		if err != nil {
			return nil, nil, err
		}
		files = append(files, walked...)
	}
	sort.Strings(files)
	var found []Found
	var notes []Note
	for _, path := range files {
		data, err := regular.ReadFile(path, maxInput)
		if errors.Is(err, regular.ErrTooLarge) {
			continue // ExtractPaths reports it
		}
		if err != nil {
			return nil, nil, err
		}
		refs, warns, err := rewrite.ScanDeploy(path, data, m, sourceRepo)
		if err != nil {
			continue // ExtractPaths reports files that do not parse
		}
		for _, r := range refs {
			switch r.Kind {
			case rewrite.KindModuleRef:
				found = append(found, Found{Source: path, Line: r.Line, Address: r.Object + " source " + r.Address, Ref: r.Value, Field: FieldModuleRef})
			default:
				for _, c := range r.Components {
					name := r.Name
					if name == "" {
						name = c
					}
					found = append(found, Found{Source: path, Line: r.Line, Address: fmt.Sprintf("%s (%s)", r.Object, r.Kind), Ref: r.Registry + "/" + name + ":" + r.Value})
				}
			}
		}
		for _, w := range warns {
			notes = append(notes, Note{Source: path, Line: w.Line, Component: w.Component, Value: w.Value, Message: w.Message, Hint: w.Hint})
		}
	}
	return found, notes, nil
}

// terraformFile reports the files ExtractDeploy reads, by base name.
func terraformFile(base string) bool {
	l := strings.ToLower(base)
	return strings.HasSuffix(l, ".tf") || strings.HasSuffix(l, ".tfvars")
}

// TagsToVerify returns the tag references (no digest) among found whose tag
// names a commit (manifest.TagNamesCommit) and some release in the catalog
// recorded for that component: resolving them (the caller does, online)
// tells whether they still run the release. A tag like `latest` is never
// verified: it moves with every build, so it stays unpinned.
func TagsToVerify(found []Found, cat *Catalog) []string {
	recorded := map[string]bool{} // component \x00 tag
	for _, r := range cat.Releases {
		if r.Release == nil {
			continue
		}
		for _, c := range r.Release.Components {
			if c.Tag != "" && manifest.TagNamesCommit(c.Tag, r.Release.Source.Revision) {
				recorded[c.Name+"\x00"+c.Tag] = true
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range found {
		if f.Field != "" && f.Field != "ref" {
			continue
		}
		repo, tag, digest := rewrite.SplitRef(f.Ref)
		if tag == "" || digest != "" || seen[f.Ref] {
			continue
		}
		if comp, ok := lookup(cat, repo); ok && recorded[comp+"\x00"+tag] {
			seen[f.Ref] = true
			out = append(out, f.Ref)
		}
	}
	return out
}

// judgeTag judges a reference with a tag and no digest: unpinned, unless a
// release recorded the tag for the component and the caller resolved it
// (Catalog.TagDigest): to a digest a release signed, it is judged as that
// digest would be; to another, the tag moved.
func judgeTag(fd *Finding, rels []release, cat *Catalog, byDigest map[string][]int, newest *semver.Version) {
	fd.Status = StatusUnpinned
	var tagged []string
	for _, r := range rels {
		if c, ok := r.Release.Component(fd.Component); ok && c.Tag == fd.Tag && manifest.TagNamesCommit(c.Tag, r.Release.Source.Revision) {
			tagged = append(tagged, r.Version)
		}
	}
	if len(tagged) == 0 {
		return
	}
	resolved, ok := cat.TagDigest[fd.Ref]
	if !ok {
		fd.Reason = fmt.Sprintf("tag %s was recorded by release(s) %s; not resolved (offline), so not verified", fd.Tag, strings.Join(tagged, ", "))
		return
	}
	var in []int
	for _, i := range byDigest[resolved] {
		if c, ok := rels[i].Release.Component(fd.Component); ok && c.Tag == fd.Tag {
			in = append(in, i)
		}
	}
	if len(in) == 0 {
		fd.Status = StatusMovedTag
		fd.Reason = fmt.Sprintf("tag %s, recorded by release(s) %s, now resolves to %s, which they did not sign: the next deployment runs unreleased code", fd.Tag, strings.Join(tagged, ", "), resolved)
		return
	}
	judge(fd, rels, in, newest)
	fd.Reason = strings.TrimPrefix(fd.Reason+"; ", "; ") + fmt.Sprintf("by tag %s, which resolves to the digest the release signed (%s)", fd.Tag, resolved)
}

// judgeModuleRef judges a module source ref by the releases built from it:
// their signed source.revision equals the ref, or starts with it (a short
// commit of at least 7 hex digits).
func judgeModuleRef(fd *Finding, rels []release, newest *semver.Version) {
	fd.Tag = fd.Ref
	if fd.Ref == "" {
		fd.Status = StatusUnpinned
		fd.Reason = "module source without a ref: it follows the repository's default branch"
		return
	}
	var in []int
	for i, r := range rels {
		rev := r.Release.Source.Revision
		if rev != "" && (rev == fd.Ref || len(fd.Ref) >= 7 && isHex(fd.Ref) && strings.HasPrefix(rev, strings.ToLower(fd.Ref))) {
			in = append(in, i)
		}
	}
	if len(in) == 0 {
		fd.Status = StatusUnknownDigest
		fd.Reason = fmt.Sprintf("no release on the channel was built from %s (releases record their commit in source.revision)", fd.Ref)
		return
	}
	judge(fd, rels, in, newest)
	fd.Reason = strings.TrimPrefix(fd.Reason+"; ", "; ") + "module ref: the release's signed source revision"
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
