package main

import (
	"context"
	"fmt"

	"github.com/wellcomecollection/pin/audit"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/registry"
	"github.com/wellcomecollection/pin/rewrite"
)

// auditDeploy adds what the configs hold besides whole references (module
// source refs, shared and split tags; see audit.ExtractDeploy) to found and
// notes, and, online, resolves every tag a release recorded so that the
// audit can tell a verified tag from a moved one.
func auditDeploy(ctx context.Context, a *app, opts *auditOptions, paths []string, m *pin.Matcher, source string, cat *audit.Catalog, found []audit.Found, notes []audit.Note) ([]audit.Found, []audit.Note, error) {
	if m != nil {
		repo, _ := rewrite.CanonicalSourceRepo(source)
		more, moreNotes, err := audit.ExtractDeploy(paths, m, repo)
		if err != nil {
			return nil, nil, err
		}
		found = append(found, more...)
		notes = append(notes, moreNotes...)
	}
	if opts.Offline || cat.VerifyErr != nil {
		return found, notes, nil
	}
	refs := audit.TagsToVerify(found, cat)
	if len(refs) == 0 {
		return found, notes, nil
	}
	cat.TagDigest = map[string]string{}
	for _, r := range registry.NewResolver(registryOptions(a)...).Resolve(ctx, refs, nil) {
		if r.Err != nil {
			fmt.Fprintf(a.Err, "pin: warning: %s: not verified: %v\n", r.Ref, r.Err)
			continue
		}
		cat.TagDigest[r.Ref] = r.Digest
	}
	return found, notes, nil
}

// productFindings counts the findings that are the product's.
func productFindings(rep *audit.Report) int {
	n := 0
	for _, f := range rep.Findings {
		if f.Status != audit.StatusForeign {
			n++
		}
	}
	return n
}

func orName(product string) string {
	if product == "" {
		return "the product"
	}
	return product
}
