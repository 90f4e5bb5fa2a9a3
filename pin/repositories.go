package pin

import (
	"fmt"
	"sort"
	"strings"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
)

// ReleaseNamespaces returns the repository prefixes rel's components live
// under, as pin init records them in pin.yaml's repositories: each
// component's repository without its last path element and with a trailing
// "/" (public.ecr.aws/y1p3h6z3/), or the repository itself when it sits
// directly under the registry (so a bound never widens to a whole registry).
func ReleaseNamespaces(rel *manifest.Release) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range rel.Components {
		p := c.Repository
		if host, path, ok := strings.Cut(c.Repository, "/"); ok {
			if i := strings.LastIndex(path, "/"); i >= 0 {
				p = host + "/" + path[:i+1]
			}
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// repositoryAllowed reports whether repo is under one of prefixes, at a path
// boundary: public.ecr.aws/y1p3h6z3/ allows public.ecr.aws/y1p3h6z3/bags_api,
// never public.ecr.aws/y1p3h6z3x/bags_api.
func repositoryAllowed(repo string, prefixes []string) bool {
	for _, p := range prefixes {
		p = strings.TrimSuffix(p, "/")
		if repo == p || strings.HasPrefix(repo, p+"/") {
			return true
		}
	}
	return false
}

// CheckRepositories refuses (exit 3) a release naming a repository outside
// the prefixes the consumer allows the product: a validly signed release
// could otherwise claim docker.io/library/redis as a component and rewrite
// a consumer's unrelated references to it. The bound is pin.yaml's
// repositories; a pin.yaml written before that field existed is bounded by
// the namespaces of the release pin.lock pins (what the consumer already
// accepted), and with neither there is no bound yet.
func (c *Config) CheckRepositories(rel *manifest.Release, lock *Lock) error {
	bound, from := c.repositoryBound(lock)
	if bound == nil {
		return nil
	}
	for _, comp := range rel.Components {
		if !repositoryAllowed(comp.Repository, bound) {
			return exitcode.TrustError(fmt.Errorf("release %s: component %s is in repository %s, outside the repositories %s (%s): a release may only rewrite references to the product's own repositories; if the product really moved there, add the prefix to repositories in %s",
				rel.Version, comp.Name, comp.Repository, strings.Join(bound, ", "), from, c.Path))
		}
	}
	return nil
}

// repositoryBound returns the allowed prefixes and where they came from, or
// nil when nothing bounds the product yet.
func (c *Config) repositoryBound(lock *Lock) ([]string, string) {
	if len(c.Repositories) > 0 {
		return c.Repositories, "pin.yaml's repositories"
	}
	if lock == nil || lock.Product != c.Product || lock.Manifest == "" {
		return nil, ""
	}
	locked, err := manifest.DecodeRelease([]byte(lock.Manifest), manifest.Expect{Product: c.Product})
	if err != nil {
		return nil, "" // the lock's own checks report it
	}
	return ReleaseNamespaces(locked), fmt.Sprintf("those of release %s that pin.lock pins, as pin.yaml lists no repositories", locked.Version)
}
