// Package reponame is the one home of pin's rules about repository names:
// their canonical form, registry prefixes (a registryMap side, a mirror's
// --to), and registryMap entries: how one applies to a repository, and the
// entries that point a product at a mirror.
package reponame

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wellcomecollection/pin/manifest"
)

// Canonical is repo the way registries see it (docker.io/library/nginx for
// nginx); a name that does not parse is returned as written.
func Canonical(repo string) string {
	r, err := name.NewRepository(repo, name.WeakValidation)
	if err != nil {
		return repo
	}
	return r.Name()
}

// ErrPrefix is wrapped by every prefix ParsePrefix refuses.
var ErrPrefix = errors.New("want a registry host with an optional namespace (registry.example.org/storage), without tag or digest")

// ParsePrefix checks a registry prefix: a registry host, written out (not
// defaulted to Docker Hub), with an optional namespace, no tag or digest, such
// that any component name under it makes a valid repository. A trailing
// slash and an oci:// scheme are dropped.
func ParsePrefix(prefix string) (string, error) {
	p := strings.TrimSuffix(strings.TrimPrefix(prefix, "oci://"), "/")
	if p == "" || strings.ContainsAny(p, "@ \t") {
		return "", fmt.Errorf("%q: %w", prefix, ErrPrefix)
	}
	host := strings.SplitN(p, "/", 2)[0]
	if !strings.ContainsAny(host, ".:") && host != "localhost" {
		return "", fmt.Errorf("%q: name the registry host first: %w", prefix, ErrPrefix)
	}
	repo, err := name.NewRepository(p+"/x", name.StrictValidation)
	if err != nil {
		return "", fmt.Errorf("%q: %w: %v", prefix, ErrPrefix, err)
	}
	if repo.RegistryStr() != host {
		return "", fmt.Errorf("%q: name the registry host first: %w", prefix, ErrPrefix)
	}
	return p, nil
}

// MapEntry returns the registryMap key (as written) whose prefix applies to
// repo: the longest that matches whole path elements.
func MapEntry(repo string, registryMap map[string]string) (string, bool) {
	best, key := "", ""
	for from := range registryMap {
		f := strings.TrimSuffix(from, "/")
		if (repo == f || strings.HasPrefix(repo, f+"/")) && len(f) > len(best) {
			best, key = f, from
		}
	}
	return key, best != ""
}

// Map applies the longest matching registryMap prefix to repo.
func Map(repo string, registryMap map[string]string) (string, bool) {
	from, ok := MapEntry(repo, registryMap)
	if !ok {
		return "", false
	}
	return strings.TrimSuffix(registryMap[from], "/") + strings.TrimPrefix(repo, strings.TrimSuffix(from, "/")), true
}

// Destination is the repository a component is mirrored to: PREFIX/<component>.
func Destination(prefix string, c manifest.Component) string {
	return strings.TrimSuffix(prefix, "/") + "/" + c.Name
}

// MirrorMap returns the registryMap entries that make every component of
// rel point at PREFIX/<component>: one entry per upstream namespace whose
// repositories end in their component's name, and a whole-repository entry
// for any component whose repository is named otherwise (the longest prefix
// wins, so both coexist).
func MirrorMap(rel *manifest.Release, prefix string) map[string]string {
	out := map[string]string{}
	prefix = strings.TrimSuffix(prefix, "/")
	for _, c := range rel.Components {
		i := strings.LastIndexByte(c.Repository, '/')
		ns, last := c.Repository[:i], c.Repository[i+1:]
		if last == c.Name {
			out[ns] = prefix
		}
	}
	for _, c := range rel.Components {
		i := strings.LastIndexByte(c.Repository, '/')
		if c.Repository[i+1:] != c.Name || out[c.Repository[:i]] != prefix {
			out[c.Repository] = Destination(prefix, c)
		}
	}
	return out
}

// Contains reports whether have already holds every entry of want (a
// trailing slash on have's side does not count).
func Contains(have, want map[string]string) bool {
	for k, v := range want {
		if strings.TrimSuffix(have[k], "/") != v {
			return false
		}
	}
	return true
}

// Lines returns registryMap entries as "from: to" lines, sorted.
func Lines(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+": "+v)
	}
	sort.Strings(out)
	return out
}
