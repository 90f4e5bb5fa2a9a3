package pin

import (
	"fmt"
	"sort"
	"strings"

	"github.com/wellcomecollection/pin/manifest"
)

// MarkdownSummary renders the update as a pull request body, as update bots
// write them: the release moved to (and from), a table of the components
// whose references change with their old and new values and where, and a
// link to the release's source changes. It is built from verified data only.
func (p *Plan) MarkdownSummary() string {
	rel := p.Release.Release
	var b strings.Builder
	prev := ""
	var prevRel *manifest.Release
	if p.OldLock != nil && p.OldLock.Version != rel.Version {
		prev = p.OldLock.Version
		prevRel, _ = manifest.DecodeRelease([]byte(p.OldLock.Manifest), manifest.Expect{})
	}
	fmt.Fprintf(&b, "## Pin %s to %s\n\n", rel.Product, rel.Version)
	switch {
	case prev != "":
		fmt.Fprintf(&b, "Moves **%s** from %s to **%s** (%s channel).", rel.Product, prev, rel.Version, p.Selected.Channel)
	default:
		fmt.Fprintf(&b, "Pins **%s** to **%s** (%s channel).", rel.Product, rel.Version, p.Selected.Channel)
	}
	fmt.Fprintf(&b, " The release manifest `%s` was verified by `pin update`: signature, expiry, no rollback.\n\n", p.Release.Digest)
	if y := p.MovedOffYanked; y != nil {
		fmt.Fprintf(&b, "> **%s was yanked** on %s: %s\n\n", y.Version, y.Channel, mdEscape(y.Reason))
	}
	if h := p.Lock.Hold; h != nil {
		fmt.Fprintf(&b, "> Held at %s: %s\n\n", h.Version, mdEscape(h.Reason))
	}

	type row struct {
		component, from, to string
		where               []string
	}
	rows := map[string]*row{}
	for _, r := range p.Summary() {
		k := r.Component
		if rows[k] == nil {
			rows[k] = &row{component: k, from: r.Value, to: r.New}
		}
		rows[k].where = append(rows[k].where, fmt.Sprintf("%s:%d", r.File, r.Line))
	}
	names := make([]string, 0, len(rows))
	for k := range rows {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) == 0 {
		b.WriteString("No file changes: the references already list these digests.\n")
	} else {
		b.WriteString("| Component | From | To | Where |\n|---|---|---|---|\n")
		for _, n := range names {
			r := rows[n]
			fmt.Fprintf(&b, "| %s | `%s` | `%s` | %s |\n", n, mdEscape(shortRef(r.from)), mdEscape(shortRef(r.to)), mdEscape(strings.Join(r.where, ", ")))
		}
		if unchanged := len(rel.Components) - len(names); unchanged > 0 {
			fmt.Fprintf(&b, "\n%d other component(s) unchanged.\n", unchanged)
		}
	}
	if link := changesLink(prevRel, rel); link != "" {
		fmt.Fprintf(&b, "\nRelease notes: %s\n", link)
	}
	return b.String()
}

// shortRef abbreviates the digest of a reference to 12 hex digits, as
// registries' web pages do; the full value is in the diff and pin.lock.
func shortRef(ref string) string {
	i := strings.Index(ref, "sha256:")
	if i < 0 || len(ref) < i+7+12 {
		return ref
	}
	return ref[:i+7+12] + "…"
}

// changesLink points at the source changes between two releases: a compare
// view for GitHub repositories when both revisions are known, else the new
// revision's commit, else the repository.
func changesLink(from, to *manifest.Release) string {
	repo := strings.TrimSuffix(to.Source.Repository, ".git")
	if !strings.HasPrefix(repo, "https://") {
		return ""
	}
	rev := to.Source.Revision
	switch {
	case strings.HasPrefix(repo, "https://github.com/") && from != nil && from.Source.Revision != "" && rev != "" &&
		strings.TrimSuffix(from.Source.Repository, ".git") == repo:
		return fmt.Sprintf("%s/compare/%s...%s", repo, from.Source.Revision, rev)
	case strings.HasPrefix(repo, "https://github.com/") && rev != "":
		return fmt.Sprintf("%s/commit/%s", repo, rev)
	}
	return repo
}

// mdEscape keeps a value from breaking a Markdown table or quote.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
}
