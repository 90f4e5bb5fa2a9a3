package pin

import (
	"fmt"
	"sort"
	"strings"

	"github.com/wellcomecollection/pin/internal/exitcode"
)

// FindingUnmanaged is a value that names the product (its repository, a
// registry prefix of it, its source repository) that pin cannot pin: an
// interpolation, a heredoc, a templated reference, a registry prefix with no
// tag beside it, a shared tag the release does not record. `pin check`
// reports each one; `pin update` and `pin audit --fail-on` exit 4 on them.
const FindingUnmanaged = "unmanaged"

// IsUnmanaged reports whether a scan warning is about a product value pin
// leaves unpinned (rather than advice about one it pins).
func IsUnmanaged(w FileWarning) bool { return w.Component != "" && !w.Advisory }

// Unmanaged returns the warnings IsUnmanaged accepts.
func Unmanaged(ws []FileWarning) []FileWarning {
	var out []FileWarning
	for _, w := range ws {
		if IsUnmanaged(w) {
			out = append(out, w)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// NothingManagedError says the configured files hold nothing pin pins: a
// run that checked nothing must not pass. It is a configuration error
// (exit 2): the files: globs, or the files themselves, need changing.
type NothingManagedError struct {
	Dir       string
	Files     []string
	Product   string
	Unmanaged []FileWarning
}

func (e *NothingManagedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "no managed reference to %s under %s (files: %s): nothing was pinned or checked", e.Product, e.Dir, strings.Join(e.Files, ", "))
	if len(e.Unmanaged) > 0 {
		fmt.Fprintf(&b, "; %d value(s) name the product in a form pin cannot pin:", len(e.Unmanaged))
		for _, w := range e.Unmanaged {
			b.WriteString("\n  " + w.String())
		}
	} else {
		b.WriteString("; pin pins whole image references of the release's components, module sources in its source repository (?ref=), and {registry, name, tag} objects under its registry prefixes: see docs/storage-service.md")
	}
	return b.String()
}

func nothingManaged(cfg *Config, product string, ws []FileWarning) error {
	return exitcode.UsageError(&NothingManagedError{Dir: cfg.Dir(), Files: cfg.Files, Product: product, Unmanaged: Unmanaged(ws)})
}

// UnmanagedError is the findings error (exit 4) for a tree that holds
// product values pin did not pin, listing each with file:line and a hint;
// nil when there are none.
func UnmanagedError(ws []FileWarning) error {
	un := Unmanaged(ws)
	if len(un) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d value(s) name the product but are not pinned (the tree is not fully pinned):", len(un))
	for _, w := range un {
		b.WriteString("\n  " + w.String())
	}
	return exitcode.FindingsError(fmt.Errorf("%s", b.String()))
}

// Managed is how many values the plan pins: image references, module
// refs and shared/split tags.
func (p *Plan) Managed() int { return len(p.Refs) + len(p.DeployRefs) }

// ChangedCount is how many values (references, module refs, tags) change.
func (p *Plan) ChangedCount() int {
	n := len(p.Summary())
	for _, r := range p.DeployRefs {
		if r.Value != r.New {
			n++
		}
	}
	return n
}
