package trustroot

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
)

// NewRoot returns version 1 of a root for product, expiring at expires, with
// no keys yet: AddKey fills the roles before it is encoded.
func NewRoot(product string, expires time.Time) *manifest.Root {
	return &manifest.Root{SchemaVersion: manifest.SchemaVersion, Kind: manifest.KindRoot, Product: product,
		Version: 1, Expires: expires, Keys: map[string]manifest.Key{}, Roles: map[string]manifest.Role{}}
}

// NextDraft returns the root that follows r: version+1, same keys and roles,
// expiring at expires. Its signatures start empty.
func NextDraft(r *manifest.Root, expires time.Time) *manifest.Root {
	n := *r
	n.Version = r.Version + 1
	n.Expires = expires
	n.Keys = map[string]manifest.Key{}
	for id, k := range r.Keys {
		n.Keys[id] = k
	}
	n.Roles = map[string]manifest.Role{}
	for name, role := range r.Roles {
		n.Roles[name] = manifest.Role{KeyIDs: slices.Clone(role.KeyIDs), Threshold: role.Threshold}
	}
	return &n
}

// AddKey lists a PEM public key in role (creating the role with threshold 1
// if it is new) and returns its id. Adding a key a role has is an error.
func AddKey(r *manifest.Root, role string, pemBytes []byte) (string, error) {
	id, k, err := KeyFromPEM(pemBytes)
	if err != nil {
		return "", err
	}
	ro := r.Roles[role]
	if slices.Contains(ro.KeyIDs, id) {
		return "", fmt.Errorf("role %s already lists key %s", role, id)
	}
	r.Keys[id] = k
	ro.KeyIDs = append(ro.KeyIDs, id)
	if ro.Threshold == 0 {
		ro.Threshold = 1
	}
	r.Roles[role] = ro
	return id, nil
}

// AddIdentity lists a CI identity in role as a signer (a sigstore-identity
// entry, creating the role with threshold 1 if it is new) and returns its id.
func AddIdentity(r *manifest.Root, role string, id manifest.Identity) (string, error) {
	if role == manifest.RoleRoot {
		return "", fmt.Errorf("the root role lists keys only: roots are signed with keys")
	}
	keyID, err := manifest.IdentityKeyID(id)
	if err != nil {
		return "", err
	}
	if err := keylessIdentity(keyID, id).Validate(); err != nil {
		return "", err
	}
	ro := r.Roles[role]
	if slices.Contains(ro.KeyIDs, keyID) {
		return "", fmt.Errorf("role %s already lists identity %s", role, keyID)
	}
	r.Keys[keyID] = manifest.Key{Type: manifest.KeyTypeSigstoreIdentity, Identity: &id}
	ro.KeyIDs = append(ro.KeyIDs, keyID)
	if ro.Threshold == 0 {
		ro.Threshold = 1
	}
	r.Roles[role] = ro
	return keyID, nil
}

// RemoveKey takes the key whose id starts with idPrefix out of role (and out
// of the root when no role lists it any more). The role's threshold must
// still be reachable, and a role may not be left empty.
func RemoveKey(r *manifest.Root, role, idPrefix string) (string, error) {
	ro, ok := r.Roles[role]
	if !ok {
		return "", fmt.Errorf("the root has no role %s", role)
	}
	var id string
	for _, k := range ro.KeyIDs {
		if len(idPrefix) >= 8 && len(idPrefix) <= len(k) && k[:len(idPrefix)] == idPrefix {
			if id != "" {
				return "", fmt.Errorf("key id %s is ambiguous in role %s: give more of it", idPrefix, role)
			}
			id = k
		}
	}
	if id == "" {
		return "", fmt.Errorf("role %s lists no key %s (give at least 8 hex digits of its id)", role, idPrefix)
	}
	ro.KeyIDs = slices.DeleteFunc(slices.Clone(ro.KeyIDs), func(k string) bool { return k == id })
	if len(ro.KeyIDs) == 0 {
		return "", fmt.Errorf("removing %s would leave role %s without keys: add its replacement first", id, role)
	}
	if ro.Threshold > len(ro.KeyIDs) {
		return "", fmt.Errorf("removing %s would leave role %s with %d keys, under its threshold %d: lower the threshold first", id, role, len(ro.KeyIDs), ro.Threshold)
	}
	r.Roles[role] = ro
	used := false
	for _, other := range r.Roles {
		used = used || slices.Contains(other.KeyIDs, id)
	}
	if !used {
		delete(r.Keys, id)
	}
	return id, nil
}

// Sign adds signer's signature over s.Bytes (replacing an earlier one by
// the same key), so signatures can be collected one person or KMS key at a time.
func Sign(ctx context.Context, signer *signing.Signer, s Signed) (Signed, error) {
	id, err := KeyID(signer.PublicKey())
	if err != nil {
		return Signed{}, err
	}
	sig, err := signer.SignBlob(ctx, s.Bytes)
	if err != nil {
		return Signed{}, err
	}
	out := Signed{Bytes: s.Bytes}
	for _, old := range s.Signatures {
		if old.KeyID != id {
			out.Signatures = append(out.Signatures, old)
		}
	}
	out.Signatures = append(out.Signatures, manifest.Signature{KeyID: id, Sig: string(sig)})
	return out, nil
}
