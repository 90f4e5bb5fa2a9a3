package audit

import (
	"cmp"
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/wellcomecollection/pin/internal/opterr"
	"github.com/wellcomecollection/pin/internal/reponame"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/rewrite"
)

// Catalog is what is known about the product's releases, built and verified
// by the caller.
type Catalog struct {
	Product string
	Channel string
	// Component maps a repository as written in a reference (registry map
	// applied by the caller) to its component name.
	Component func(repo string) (string, bool)
	// Releases is every release visible on the channel, verified; Evaluate
	// orders them by SemVer itself.
	Releases []CatalogRelease
	// Newest is the newest allowed version, "" if none.
	Newest string
	// VerifyErr, when set, says the release source failed verification:
	// managed references are then StatusUnsignedSource and judged no further.
	VerifyErr error
	// TagDigest maps a tag reference as written (TagsToVerify lists which)
	// to the digest it resolved to now; nil offline.
	TagDigest map[string]string
	// Expired lists the channels whose verified index has expired. A
	// reference the newest release lists is then StatusExpired, not
	// current: a frozen index can hide a yank or a newer release.
	Expired []string
}

// CatalogRelease is one release visible on the channel.
type CatalogRelease struct {
	Version string
	Channel string // the channel that lists it (edge sees stable too)
	Yanked  bool
	Reason  string
	Release *manifest.Release
}

// Status is the verdict on one reference.
type Status string

// Statuses, in the order reports count them.
const (
	StatusCurrent        Status = "current"         // the newest allowed release lists the digest
	StatusOutdated       Status = "outdated"        // only older releases list it
	StatusYanked         Status = "yanked"          // every release listing it is yanked
	StatusUnknownDigest  Status = "unknown-digest"  // a managed repository at a digest no release lists
	StatusUnpinned       Status = "unpinned"        // a mutable tag, no digest
	StatusUnsignedSource Status = "unsigned-source" // the releases failed verification
	StatusForeign        Status = "foreign"         // not a component of the product
	// StatusExpired: the newest release lists the digest, but only
	// according to an expired channel index (not refreshed: a freeze?).
	StatusExpired Status = "expired"
)

// Statuses lists every status in report order.
var Statuses = []Status{StatusCurrent, StatusExpired, StatusOutdated, StatusYanked, StatusUnknownDigest, StatusUnpinned, StatusMovedTag, StatusUnsignedSource, StatusForeign}

// Finding is the verdict on one reference.
type Finding struct {
	Found
	Component  string
	Repository string
	Tag        string
	Digest     string
	Status     Status
	Releases   []string // versions listing the digest, ascending
	Newest     string   // newest allowed version
	Behind     int      // non-yanked releases newer than the highest in Releases
	Reason     string   // yank reason, verification error or a note
}

// Report is the result of an audit.
type Report struct {
	Product  string
	Channel  string
	Newest   string
	Findings []Finding
	Summary  Summary
	// Notes are what the extraction saw but could not judge; the caller
	// fills them in (ExtractPathsWith returns them).
	Notes []Note
	// Expired lists the channels whose index had expired (Catalog.Expired).
	Expired []string
}

// Summary says whether the deployment runs one release.
type Summary struct {
	// Consistent is true when every pinned managed reference (one with a
	// digest) is listed by at least one common release; Version names the
	// highest such release.
	Consistent bool
	Version    string
	// Mixed is true when there are pinned managed references and no release
	// lists them all (an unknown digest makes a mix too).
	Mixed bool
	// Versions holds the highest release of each pinned managed reference.
	Versions []string
	Counts   map[Status]int
	Text     string
}

type release struct {
	CatalogRelease
	v *semver.Version
}

// Evaluate judges every reference against the catalog. Foreign references
// are kept only when includeForeign is set. Findings come out ordered by
// source, line and address. A nil catalog makes every reference foreign.
func Evaluate(found []Found, cat *Catalog, includeForeign bool) *Report {
	if cat == nil {
		cat = &Catalog{}
	}
	rels := make([]release, 0, len(cat.Releases))
	for _, r := range cat.Releases {
		v, err := semver.StrictNewVersion(r.Version)
		if err != nil || r.Release == nil {
			continue
		}
		rels = append(rels, release{r, v})
	}
	sort.SliceStable(rels, func(i, j int) bool { return rels[i].v.LessThan(rels[j].v) })
	var newestV *semver.Version
	if cat.Newest != "" {
		newestV, _ = semver.StrictNewVersion(cat.Newest)
	}

	// index: component → digest → positions in rels.
	index := map[string]map[string][]int{}
	for i, r := range rels {
		for _, c := range r.Release.Components {
			m := index[c.Name]
			if m == nil {
				m = map[string][]int{}
				index[c.Name] = m
			}
			add := func(d string) {
				if l := m[d]; len(l) == 0 || l[len(l)-1] != i {
					m[d] = append(l, i)
				}
			}
			add(c.Digest)
			for _, p := range c.Platforms {
				add(p.Digest)
			}
		}
	}

	rep := &Report{Product: cat.Product, Channel: cat.Channel, Newest: cat.Newest, Expired: append([]string(nil), cat.Expired...)}
	for _, f := range found {
		fd := Finding{Found: f, Newest: cat.Newest}
		if f.Field == FieldModuleRef {
			if cat.VerifyErr != nil {
				fd.Status, fd.Reason = StatusUnsignedSource, cat.VerifyErr.Error()
			} else {
				judgeModuleRef(&fd, rels, newestV)
			}
			rep.Findings = append(rep.Findings, fd)
			continue
		}
		if f.Field != "" && f.Field != "ref" {
			fd.Component = f.Component
			if f.Field == "tag" {
				fd.Tag = f.Ref
			} else {
				fd.Digest = f.Ref
			}
			if _, ok := index[f.Component]; !ok {
				fd.Status = StatusForeign
			}
		} else {
			fd.Repository, fd.Tag, fd.Digest = rewrite.SplitRef(f.Ref)
			if comp, ok := lookup(cat, fd.Repository); ok {
				fd.Component = comp
			} else {
				fd.Status = StatusForeign
			}
		}
		switch {
		case fd.Status == StatusForeign:
			fd.Newest = ""
			if !includeForeign {
				continue
			}
		case cat.VerifyErr != nil:
			fd.Status, fd.Reason = StatusUnsignedSource, cat.VerifyErr.Error()
		case fd.Digest == "":
			judgeTag(&fd, rels, cat, index[fd.Component], newestV)
		default:
			judge(&fd, rels, index[fd.Component][fd.Digest], newestV)
		}
		if fd.Status == StatusCurrent && len(cat.Expired) > 0 {
			fd.Status = StatusExpired
			fd.Reason = fmt.Sprintf("current only per the expired %s index: the publisher has not refreshed it, and a freeze would hide a yank or a newer release", strings.Join(cat.Expired, " and "))
		}
		rep.Findings = append(rep.Findings, fd)
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Address, b.Address)) < 0
	})
	rep.Summary = summarize(rep, rels, cat)
	return rep
}

// lookup asks the catalog for the component of repo, as written first, then
// in the canonical form registries use (index.docker.io/library/nginx).
func lookup(cat *Catalog, repo string) (string, bool) {
	if cat.Component == nil || repo == "" {
		return "", false
	}
	if c, ok := cat.Component(repo); ok {
		return c, true
	}
	if c := reponame.Canonical(repo); c != repo {
		return cat.Component(c)
	}
	return "", false
}

// judge sets the status of a pinned managed reference listed by the
// releases at positions in (ascending).
func judge(fd *Finding, rels []release, in []int, newest *semver.Version) {
	if len(in) == 0 {
		fd.Status = StatusUnknownDigest
		fd.Reason = "no release on the channel lists this digest"
		return
	}
	allYanked := true
	var reasons []string
	for _, i := range in {
		r := rels[i]
		fd.Releases = append(fd.Releases, r.Version)
		if !r.Yanked {
			allYanked = false
		} else if r.Reason != "" && !contains(reasons, r.Reason) {
			reasons = append(reasons, r.Reason)
		}
	}
	if allYanked {
		fd.Status = StatusYanked
		fd.Reason = strings.Join(reasons, "; ")
		return
	}
	for _, i := range in {
		if newest != nil && rels[i].v.Equal(newest) {
			fd.Status = StatusCurrent
			return
		}
	}
	fd.Status = StatusOutdated
	high := rels[in[len(in)-1]].v
	for _, r := range rels {
		if !r.Yanked && r.v.GreaterThan(high) && (newest == nil || !r.v.GreaterThan(newest)) {
			fd.Behind++
		}
	}
	if newest != nil && high.GreaterThan(newest) {
		fd.Reason = fmt.Sprintf("only releases newer than the newest allowed version %s list it", newest)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// summarize decides whether the pinned managed references make one release.
func summarize(rep *Report, rels []release, cat *Catalog) Summary {
	s := Summary{Counts: map[Status]int{}}
	for _, st := range Statuses {
		s.Counts[st] = 0
	}
	var common map[string]bool
	pinned := 0
	versions := map[string]bool{}
	for _, f := range rep.Findings {
		s.Counts[f.Status]++
		switch f.Status {
		case StatusCurrent, StatusExpired, StatusOutdated, StatusYanked, StatusUnknownDigest:
		default:
			continue
		}
		pinned++
		if len(f.Releases) > 0 {
			versions[f.Releases[len(f.Releases)-1]] = true
		}
		set := map[string]bool{}
		for _, v := range f.Releases {
			if common == nil || common[v] {
				set[v] = true
			}
		}
		common = set
	}
	for _, r := range rels {
		if versions[r.Version] {
			s.Versions = append(s.Versions, r.Version)
		}
	}
	if s.Versions == nil {
		s.Versions = []string{}
	}
	for _, r := range rels {
		if common[r.Version] {
			s.Version = r.Version // ascending: the last one is the highest
		}
	}
	s.Consistent = pinned > 0 && s.Version != ""
	s.Mixed = pinned > 0 && !s.Consistent

	var b strings.Builder
	switch {
	case cat.VerifyErr != nil:
		fmt.Fprintf(&b, "releases of %s failed verification: %v", orProduct(cat.Product), cat.VerifyErr)
	case pinned == 0:
		b.WriteString("no pinned references to the product's components")
	case s.Consistent:
		fmt.Fprintf(&b, "consistent: one release, %s", s.Version)
		switch {
		case s.Version == cat.Newest:
			b.WriteString(" (the newest)")
		case cat.Newest != "":
			fmt.Fprintf(&b, " (newest is %s)", cat.Newest)
		}
	default:
		fmt.Fprintf(&b, "mixed: %d pinned references span ", pinned)
		if len(s.Versions) > 0 {
			fmt.Fprintf(&b, "releases %s", strings.Join(s.Versions, ", "))
		} else {
			b.WriteString("no release")
		}
		if n := s.Counts[StatusUnknownDigest]; n > 0 {
			fmt.Fprintf(&b, " and %d unknown digest%s", n, plural(n))
		}
	}
	for _, st := range []Status{StatusYanked, StatusUnpinned, StatusMovedTag} {
		if n := s.Counts[st]; n > 0 && cat.VerifyErr == nil {
			fmt.Fprintf(&b, "; %d %s", n, st)
		}
	}
	if len(cat.Expired) > 0 && cat.VerifyErr == nil {
		fmt.Fprintf(&b, "; channel index expired: %s (not refreshed by the publisher: a freeze?)", strings.Join(cat.Expired, ", "))
	}
	s.Text = b.String()
	return s
}

func orProduct(p string) string {
	if p == "" {
		return "the product"
	}
	return p
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// FailOnItems are the findings --fail-on may name.
var FailOnItems = []string{"unpinned", "unknown-digest", "outdated", "yanked", "mixed", "expired", string(StatusMovedTag)}

// ParseFailOn validates a comma-separated --fail-on list and returns its
// items in FailOnItems order, without duplicates. An empty list is nil.
func ParseFailOn(s string) ([]string, error) {
	want := map[string]bool{}
	for _, it := range strings.Split(s, ",") {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		if !contains(FailOnItems, it) {
			return nil, opterr.Errorf("FailOn", ": %q is not one of %s", it, strings.Join(FailOnItems, ", "))
		}
		want[it] = true
	}
	var out []string
	for _, it := range FailOnItems {
		if want[it] {
			out = append(out, it)
		}
	}
	return out, nil
}

// Failed returns the fail-on items the report matches, in FailOnItems order:
// a status item when any finding has that status, "mixed" when the summary
// is Mixed. The caller maps a non-empty result to exit code 4.
func (r *Report) Failed(failOn []string) []string {
	var out []string
	for _, it := range FailOnItems {
		if !contains(failOn, it) {
			continue
		}
		hit := false
		switch it {
		case "mixed":
			hit = r.Summary.Mixed
		case "expired":
			// An expired index fails the audit whatever the statuses: a
			// freeze hides yanks from outdated references too.
			hit = len(r.Expired) > 0
		default:
			for _, f := range r.Findings {
				if string(f.Status) == it {
					hit = true
					break
				}
			}
		}
		if hit {
			out = append(out, it)
		}
	}
	return out
}
