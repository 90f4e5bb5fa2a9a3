// Package catalog builds the catalog pin audit judges against from a
// product's store: the verified releases (pin.LoadReleaseSet), or, after a
// trust failure, only an unverified read of which references are the
// product's. It sits apart from audit so that audit (inputs, statuses,
// renderers) needs nothing of pin's.
package catalog

import (
	"context"

	"github.com/wellcomecollection/pin/audit"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/rewrite"
)

// Build loads the releases an audit judges against (verified, through
// pin.LoadReleaseSet) and makes the catalog and the matcher that tells the
// product's references apart. When trust fails, the catalog carries
// VerifyErr and nothing trusted: an unverified read (pin.UnverifiedRelease)
// only says which references belong to the product, so they can be flagged.
// cfg (pin.yaml, or nil) gives the registryMap, checked against every
// component any visible release has. Other failures are returned.
func Build(ctx context.Context, o pin.ReleaseSetOptions, cfg *pin.Config) (*audit.Catalog, *pin.Matcher, *pin.ReleaseSet, error) {
	var registryMap map[string]string
	if cfg != nil {
		registryMap = cfg.RegistryMap
	}
	cat := &audit.Catalog{Channel: o.Channel, Product: o.Product}
	rs, err := pin.LoadReleaseSet(ctx, o)
	switch {
	case err == nil:
		m, union := fillCatalog(cat, rs, registryMap)
		if cfg != nil {
			if err := cfg.CheckRegistryMap(union); err != nil {
				return nil, nil, nil, err
			}
			if err := cfg.CheckRepositories(union, o.Lock); err != nil {
				return nil, nil, nil, err
			}
		}
		return cat, m, rs, nil
	case exitcode.Of(err) == exitcode.Trust:
		cat.VerifyErr = err
		var m *pin.Matcher
		if rel := pin.UnverifiedRelease(ctx, o); rel != nil {
			m = pin.NewMatcher(rel, registryMap)
			cat.Component = m.Component
			if cat.Product == "" {
				cat.Product = rel.Product + " (unverified)"
			}
		}
		return cat, m, nil, nil
	default:
		return nil, nil, nil, err
	}
}

// fillCatalog turns a verified release set into the audit's catalog. The
// component map covers every component any visible release has.
func fillCatalog(cat *audit.Catalog, rs *pin.ReleaseSet, registryMap map[string]string) (*pin.Matcher, *manifest.Release) {
	cat.Product, cat.Channel, cat.Newest = rs.Product, rs.Channel, rs.Newest
	cat.Expired = append([]string(nil), rs.Expired...)
	union := &manifest.Release{Product: rs.Product, Version: "(releases on " + rs.Channel + ")", Source: NewestSource(rs)}
	seen := map[string]bool{}
	for _, e := range rs.Entries {
		rel := rs.Releases[e.Version]
		if rel == nil {
			continue
		}
		cat.Releases = append(cat.Releases, audit.CatalogRelease{Version: e.Version, Channel: e.Channel, Yanked: e.Yanked, Reason: e.Reason, Release: rel})
		for _, c := range rel.Components {
			if !seen[c.Repository] {
				seen[c.Repository] = true
				union.Components = append(union.Components, c)
			}
		}
	}
	m := pin.NewMatcher(union, registryMap)
	cat.Component = m.Component
	return m, union
}

// NewestSource is the source repository the newest verified release names.
func NewestSource(rs *pin.ReleaseSet) manifest.Source {
	if rel := rs.Releases[rs.Newest]; rel != nil {
		return rel.Source
	}
	for _, rel := range rs.Releases {
		return rel.Source
	}
	return manifest.Source{}
}

// IsProductRepo reports whether a note's subject, a repository as written,
// belongs to the product.
func IsProductRepo(m *pin.Matcher, repo string) bool {
	r, _, _ := rewrite.SplitRef(repo)
	_, ok := m.Component(r)
	return ok
}
