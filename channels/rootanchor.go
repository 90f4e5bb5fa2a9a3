package channels

import (
	"context"
	"errors"

	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
	"github.com/wellcomecollection/pin/trustroot"
)

// RootAnchor is a root of trust as Trusted's anchor: a channel index needs a
// threshold of distinct signers (keys, and CI identities by the document's
// Sigstore bundle) of its channel's index role (index-<channel>
// when the root has one, else index), a release a threshold of the release
// role. Earlier roots, when given (newest first), also vouch for an index:
// the publisher's first publish after an index key rotation builds on the
// index the old key signed. Consumers give none.
func RootAnchor(root *trustroot.Trusted, earlier ...*trustroot.Trusted) SignatureVerifier {
	return rootAnchor{root: root, earlier: earlier}
}

type rootAnchor struct {
	root    *trustroot.Trusted
	earlier []*trustroot.Trusted
}

func (a rootAnchor) VerifySignatures(ctx context.Context, s Signed) ([]string, error) {
	ids, err := verifyRole(ctx, a.root, s)
	if s.Role != RoleIndex {
		return ids, err
	}
	for _, prev := range a.earlier {
		if !errors.Is(err, signing.ErrSignature) {
			break
		}
		ids, err = verifyRole(ctx, prev, s)
	}
	return ids, err
}

func verifyRole(ctx context.Context, t *trustroot.Trusted, s Signed) ([]string, error) {
	role := manifest.RoleRelease
	if s.Role == RoleIndex {
		role = t.Root.IndexRole(s.Channel)
	}
	var sigs []manifest.Signature
	if len(s.Doc.Signature) > 0 {
		sigs = append(sigs, manifest.Signature{Sig: string(s.Doc.Signature)})
	}
	sigs = append(sigs, s.Doc.More...)
	// The bundle counts as one more signer when it verifies against an
	// identity the role lists (trustroot.Trusted.VerifyDocument).
	return t.VerifyDocument(ctx, role, s.Doc.Bytes, sigs, s.Doc.Bundle)
}
