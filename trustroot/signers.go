package trustroot

import (
	"sort"

	"github.com/wellcomecollection/pin/manifest"
)

// Signer is one key or CI identity a root lists, with the roles that list it.
type Signer struct {
	ID    string // the root's id: the hex sha256 of the key's DER, or of the identity's canonical JSON
	Type  string // manifest.KeyType*: ecdsa-p256, ..., sigstore-identity
	Roles []string
	// Identity is set for a CI identity (Type sigstore-identity).
	Identity *manifest.Identity
}

// Signers lists every key and identity the root's roles list, by id, each
// with the roles (sorted) that list it: what `pin keys id` shows for a
// rooted pin.yaml. A key the root lists under no role signs nothing and is
// left out.
func (t *Trusted) Signers() []Signer {
	byID := map[string]*Signer{}
	roles := make([]string, 0, len(t.Root.Roles))
	for name := range t.Root.Roles {
		roles = append(roles, name)
	}
	sort.Strings(roles)
	for _, name := range roles {
		for _, id := range t.Root.Roles[name].KeyIDs {
			s, ok := byID[id]
			if !ok {
				k := t.Root.Keys[id]
				s = &Signer{ID: id, Type: k.Type, Identity: k.Identity}
				byID[id] = s
			}
			s.Roles = append(s.Roles, name)
		}
	}
	out := make([]Signer, 0, len(byID))
	for _, s := range byID {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// RoleKeys returns the PEM public keys role lists, by id (its identities
// are left out: they sign with bundles, not key signatures).
func (t *Trusted) RoleKeys(role string) map[string][]byte {
	_, keys, _, err := t.roleSigners(role)
	if err != nil {
		return nil
	}
	return keys
}
