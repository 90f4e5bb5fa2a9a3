// Package trustroot is pin's root of trust: a signed, versioned root
// document (manifest.Root) that says which keys sign which documents and how
// many of them must, and the rules by which a consumer moves from the root it
// trusts to a newer one (TUF's root update, in pin's small form):
//
//   - root N+1 must say version N+1, and be signed by a threshold of root N's
//     root keys and by a threshold of its own root keys;
//   - at most MaxRotations new roots are taken in one run, each under
//     manifest.MaxRootSize;
//   - only the newest root's expiry matters;
//   - a key counts once however often it signs or is listed.
//
// When the keys of a channel's index role change between two roots, the
// sequences a consumer recorded under the old keys are forgotten (TUF's
// fast-forward recovery): a thief's sequence 10^9 is undone by rotating the
// index key. The package fetches nothing itself: a Fetch function reads root
// N from whatever store holds it.
package trustroot

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
	"github.com/wellcomecollection/pin/signing/keyless"
)

// MaxRotations bounds how many newer roots one update takes (TUF uses 32 too):
// a store cannot keep a consumer fetching forever.
const MaxRotations = 32

// ErrRootExpired is wrapped when the newest root a consumer reached has expired.
var ErrRootExpired = errors.New("root of trust expired")

// ErrNotFound is what a Fetch function wraps when the store has no root of
// that version: the end of the chain.
var ErrNotFound = errors.New("root not found")

// Signed is a root document as a store holds it: its canonical bytes and the
// signatures collected over them.
type Signed struct {
	Bytes      []byte
	Signatures []manifest.Signature
}

// Fetch reads root version from a store; a missing version wraps ErrNotFound.
type Fetch func(ctx context.Context, version int64) (Signed, error)

// Trusted is a root whose keys have been parsed and checked against their ids.
type Trusted struct {
	Root   *manifest.Root
	Signed Signed
	// Legacy is set for a root made from a plain list of keys (pin.yaml's
	// keys:, from before roots): every key may sign everything, and it cannot
	// rotate because no root document stands behind it.
	Legacy bool
	// Identities checks a document's Sigstore bundle against the identities
	// a role lists (sigstore-identity entries). Nil: no bundle counts. It is
	// handed on to the roots that follow (Next), so a consumer sets it once.
	Identities IdentityVerifier
}

// IdentityVerifier builds a verifier of Sigstore bundles for identities,
// each named by its key id (so the signer id a bundle verifies as is the
// id the role lists): keyless.NewLazyVerifier with the trusted root from
// pin.yaml's sigstore: settings.
type IdentityVerifier func(identities []keyless.Identity) (signing.BundleVerifier, error)

// Digest is the sha256 of the root's bytes (empty for a legacy root).
func (t *Trusted) Digest() string {
	if t.Legacy {
		return ""
	}
	return manifest.Digest(t.Signed.Bytes)
}

// KeyID is the id a root gives a public key: the hex sha256 of its PKIX DER.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := cryptoutils.MarshalPublicKeyToDER(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}

// KeyFromPEM parses a PEM public key into a root's key entry and its id.
func KeyFromPEM(pemBytes []byte) (string, manifest.Key, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return "", manifest.Key{}, errors.New("not a PEM public key (-----BEGIN PUBLIC KEY-----)")
	}
	typ, err := keyType(pub)
	if err != nil {
		return "", manifest.Key{}, err
	}
	id, err := KeyID(pub)
	if err != nil {
		return "", manifest.Key{}, err
	}
	canon, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return "", manifest.Key{}, err
	}
	return id, manifest.Key{Type: typ, PublicKey: string(canon)}, nil
}

func keyType(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return manifest.KeyTypeECDSAP256, nil
		case elliptic.P384():
			return manifest.KeyTypeECDSAP384, nil
		}
		return "", fmt.Errorf("ECDSA curve %s is not supported (use P-256)", k.Curve.Params().Name)
	case *rsa.PublicKey:
		return manifest.KeyTypeRSA, nil
	case ed25519.PublicKey:
		return manifest.KeyTypeEd25519, nil
	}
	return "", fmt.Errorf("key type %T is not supported", pub)
}

// Parse decodes a signed root for product (any when empty) and checks that
// every key's id is the hash of its public key and its type is what it
// says. It checks no signature: Verify, Update and VerifySelf do.
func Parse(s Signed, product string) (*Trusted, error) {
	r, err := manifest.DecodeRoot(s.Bytes, product)
	if err != nil {
		return nil, err
	}
	for id, k := range r.Keys {
		if k.Type == manifest.KeyTypeSigstoreIdentity {
			if err := keylessIdentity(id, *k.Identity).Validate(); err != nil {
				return nil, fmt.Errorf("root version %d: keys.%s: %w", r.Version, id, err)
			}
			continue
		}
		gotID, parsed, err := KeyFromPEM([]byte(k.PublicKey))
		if err != nil {
			return nil, fmt.Errorf("root version %d: keys.%s: %w", r.Version, id, err)
		}
		if gotID != id {
			return nil, fmt.Errorf("root version %d: keys.%s: the key's id is %s (the sha256 of its public key)", r.Version, id, gotID)
		}
		if parsed.Type != k.Type {
			return nil, fmt.Errorf("root version %d: keys.%s: type %q, but the key is %s", r.Version, id, k.Type, parsed.Type)
		}
	}
	return &Trusted{Root: r, Signed: s}, nil
}

// FromKeys makes the root a plain list of trusted public keys stands for:
// every key in every role with threshold one, version 0. It never rotates.
func FromKeys(product string, pems map[string][]byte) (*Trusted, error) {
	r := &manifest.Root{SchemaVersion: manifest.SchemaVersion, Kind: manifest.KindRoot, Product: product,
		Keys: map[string]manifest.Key{}, Roles: map[string]manifest.Role{}}
	var ids []string
	names := make([]string, 0, len(pems))
	for n := range pems {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		id, k, err := KeyFromPEM(pems[n])
		if err != nil {
			return nil, fmt.Errorf("public key %s: %w", n, err)
		}
		if _, dup := r.Keys[id]; !dup {
			ids = append(ids, id)
		}
		r.Keys[id] = k
	}
	if len(ids) == 0 {
		return nil, errors.New("no trusted public keys")
	}
	for _, role := range []string{manifest.RoleRoot, manifest.RoleRelease, manifest.RoleIndex} {
		r.Roles[role] = manifest.Role{KeyIDs: ids, Threshold: 1}
	}
	return &Trusted{Root: r, Legacy: true}, nil
}

// keylessIdentity is a root's identity entry as signing/keyless checks it,
// named by its key id.
func keylessIdentity(keyID string, id manifest.Identity) keyless.Identity {
	return keyless.Identity{Name: keyID, Issuer: id.Issuer, Subject: id.Subject, SubjectRegexp: id.SubjectRegexp,
		SourceRepository: id.SourceRepository, Ref: id.Ref, Trigger: id.Trigger}
}

// roleSigners splits role's signers into public keys (PEM by id) and identities.
func (t *Trusted) roleSigners(role string) (manifest.Role, map[string][]byte, []keyless.Identity, error) {
	r, ok := t.Root.Roles[role]
	if !ok {
		return r, nil, nil, fmt.Errorf("root version %d has no role %q", t.Root.Version, role)
	}
	keys := make(map[string][]byte, len(r.KeyIDs))
	var ids []keyless.Identity
	for _, id := range r.KeyIDs {
		k := t.Root.Keys[id]
		if k.Type == manifest.KeyTypeSigstoreIdentity {
			ids = append(ids, keylessIdentity(id, *k.Identity))
			continue
		}
		keys[id] = []byte(k.PublicKey)
	}
	return r, keys, ids, nil
}

// RoleVerifier returns a verifier for role's keys and threshold. A role
// that lists identities is checked with VerifyDocument instead.
func (t *Trusted) RoleVerifier(role string) (*signing.Verifier, error) {
	r, keys, ids, err := t.roleSigners(role)
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		return nil, fmt.Errorf("role %s of root version %d lists CI identities: its documents are checked with their Sigstore bundles", role, t.Root.Version)
	}
	return signing.NewThresholdVerifier(keys, r.Threshold)
}

// IndexVerifier returns the verifier of channel's index role (index-<channel>
// when the root defines it, else index).
func (t *Trusted) IndexVerifier(channel string) (*signing.Verifier, error) {
	return t.RoleVerifier(t.Root.IndexRole(channel))
}

// VerifyRole checks that a threshold of role's distinct keys signed data.
// It returns the ids of the keys that did.
func (t *Trusted) VerifyRole(ctx context.Context, role string, data []byte, sigs []manifest.Signature) ([]string, error) {
	return t.VerifyDocument(ctx, role, data, sigs, nil)
}

// VerifyDocument checks that a threshold of role's distinct signers signed
// data: keys by signatures, and an identity the role lists by the
// document's Sigstore bundle (one bundle, so at most one identity), each
// signer counted once. It returns the ids of the signers that did.
func (t *Trusted) VerifyDocument(ctx context.Context, role string, data []byte, sigs []manifest.Signature, bundle []byte) ([]string, error) {
	r, keys, ids, err := t.roleSigners(role)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 && len(bundle) == 0 {
		got, err := verifyKeys(ctx, data, sigs, keys, r.Threshold)
		if err != nil {
			return nil, fmt.Errorf("role %s of root version %d (threshold %d): %w", role, t.Root.Version, r.Threshold, err)
		}
		return got, nil
	}
	var signed, why []string
	if len(keys) > 0 {
		got, err := verifyKeys(ctx, data, sigs, keys, 1)
		if err != nil && !errors.Is(err, signing.ErrSignature) {
			return nil, err
		}
		if err != nil {
			why = append(why, err.Error())
		}
		signed = append(signed, got...)
	}
	if len(bundle) == 0 {
		why = append(why, "the document has no Sigstore bundle for the role's identities")
	} else {
		id, err := t.verifyBundle(ctx, role, ids, data, bundle)
		switch {
		case err == nil && !slices.Contains(signed, id):
			signed = append(signed, id)
		case err != nil && !errors.Is(err, signing.ErrSignature):
			return nil, err
		case err != nil:
			why = append(why, err.Error())
		}
	}
	if len(signed) >= r.Threshold {
		return signed, nil
	}
	return nil, fmt.Errorf("role %s of root version %d (threshold %d): %w: %w: %d of the %d required (signed by %v; %s)",
		role, t.Root.Version, r.Threshold, signing.ErrSignature, signing.ErrThreshold, len(signed), r.Threshold, signed, strings.Join(why, "; "))
}

// VerifyIdentity checks a document's Sigstore bundle against the identities
// role lists and returns the id of the one that signed: how a keyless
// publisher checks its own signature before publishing (it cannot know its
// certificate before signing). Refusals wrap signing.ErrSignature.
func (t *Trusted) VerifyIdentity(ctx context.Context, role string, data, bundle []byte) (string, error) {
	_, _, ids, err := t.roleSigners(role)
	if err != nil {
		return "", err
	}
	return t.verifyBundle(ctx, role, ids, data, bundle)
}

func (t *Trusted) verifyBundle(ctx context.Context, role string, ids []keyless.Identity, data, bundle []byte) (string, error) {
	switch {
	case len(ids) == 0:
		return "", fmt.Errorf("%w: role %s of root version %d lists no CI identity, so a Sigstore bundle counts for nothing", signing.ErrSignature, role, t.Root.Version)
	case t.Identities == nil:
		return "", fmt.Errorf("role %s of root version %d lists CI identities, but no Sigstore trusted root is configured to check them", role, t.Root.Version)
	}
	bv, err := t.Identities(ids)
	if err != nil {
		return "", fmt.Errorf("role %s of root version %d: %w", role, t.Root.Version, err)
	}
	id, err := bv.VerifyBundle(ctx, data, bundle)
	if err != nil {
		return "", fmt.Errorf("role %s of root version %d: %w", role, t.Root.Version, err)
	}
	return id, nil
}

// verifyKeys checks that threshold of keys (a role's public keys) signed data.
func verifyKeys(ctx context.Context, data []byte, sigs []manifest.Signature, keys map[string][]byte, threshold int) ([]string, error) {
	v, err := signing.NewThresholdVerifier(keys, threshold)
	if err != nil {
		return nil, err
	}
	raw := make([][]byte, len(sigs))
	for i, s := range sigs {
		raw[i] = []byte(s.Sig)
	}
	return v.VerifyBlobs(ctx, data, raw)
}

// VerifySelf checks a root that starts a chain (version 1, or one taken on a
// fingerprint given out of band): a threshold of its own root keys signed it.
func VerifySelf(ctx context.Context, s Signed, product string) (*Trusted, error) {
	t, err := Parse(s, product)
	if err != nil {
		return nil, exitcode.TrustError(err)
	}
	if _, err := t.VerifyRole(ctx, manifest.RoleRoot, s.Bytes, s.Signatures); err != nil {
		return nil, exitcode.TrustError(err)
	}
	return t, nil
}

// Next checks that next may follow t: it says version t+1 and a threshold
// of t's root keys and of its own root keys signed it. Expiry is not checked:
// only the newest root's expiry matters (Update checks it).
func (t *Trusted) Next(ctx context.Context, next Signed) (*Trusted, error) {
	want := t.Root.Version + 1
	n, err := Parse(next, t.Root.Product)
	if err != nil {
		return nil, exitcode.TrustError(fmt.Errorf("root version %d: %w", want, err))
	}
	if n.Root.Version != want {
		return nil, exitcode.TrustError(fmt.Errorf("root fetched as version %d says version %d: each root must be exactly one more than the last", want, n.Root.Version))
	}
	if _, err := t.VerifyRole(ctx, manifest.RoleRoot, next.Bytes, next.Signatures); err != nil {
		return nil, exitcode.TrustError(fmt.Errorf("root version %d is not signed by the previous root's keys: %w", want, err))
	}
	if _, err := n.VerifyRole(ctx, manifest.RoleRoot, next.Bytes, next.Signatures); err != nil {
		return nil, exitcode.TrustError(fmt.Errorf("root version %d is not signed by its own root keys: %w", want, err))
	}
	n.Identities = t.Identities
	return n, nil
}

// Chain is the result of an update: every root from the one started from
// (Chain[0]) to the newest reached (Newest), each verified against the one before.
type Chain struct {
	Roots []*Trusted
	// Truncated is set when MaxRotations newer roots were taken and the
	// store may hold more; the next run goes on from Newest.
	Truncated bool
}

// Newest is the last root of the chain: the one every signature is checked with.
func (c *Chain) Newest() *Trusted { return c.Roots[len(c.Roots)-1] }

// At returns the chain's root of version v, or nil.
func (c *Chain) At(v int64) *Trusted {
	for _, t := range c.Roots {
		if t.Root.Version == v {
			return t
		}
	}
	return nil
}

// Update walks from trusted to the newest root fetch finds: version N+1,
// N+2, ... each checked by Next, at most MaxRotations of them. The newest
// must not have expired at now (a zero now skips the check); intermediate
// roots may have. A legacy root does not rotate: the chain is just itself
// and nothing is fetched. A fetch error other than ErrNotFound stops the
// update (an operational error: the caller cannot tell whether a newer root
// exists).
func Update(ctx context.Context, trusted *Trusted, fetch Fetch, now time.Time) (*Chain, error) {
	c := &Chain{Roots: []*Trusted{trusted}}
	if trusted.Legacy {
		return c, nil
	}
	cur := trusted
	for i := 0; ; i++ {
		if i == MaxRotations {
			c.Truncated = true
			break
		}
		s, err := fetch(ctx, cur.Root.Version+1)
		if errors.Is(err, ErrNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("fetch root version %d: %w", cur.Root.Version+1, err)
		}
		if len(s.Bytes) > manifest.MaxRootSize {
			return nil, exitcode.TrustError(fmt.Errorf("root version %d is %d bytes, over the %d-byte cap", cur.Root.Version+1, len(s.Bytes), manifest.MaxRootSize))
		}
		next, err := cur.Next(ctx, s)
		if err != nil {
			return nil, err
		}
		c.Roots = append(c.Roots, next)
		cur = next
	}
	if !now.IsZero() && !now.Before(cur.Root.Expires) {
		return nil, exitcode.TrustError(fmt.Errorf("%w: root version %d expired at %s; the producer must sign and publish a new root", ErrRootExpired, cur.Root.Version, cur.Root.Expires.Format(time.RFC3339)))
	}
	return c, nil
}

// IndexKeysChanged reports whether the keys (or threshold) that sign
// channel's index differ between two roots. When they do, a consumer
// forgets the sequence it recorded for the channel under the old keys:
// whatever the old keys signed, a thief's huge sequence included, no longer
// binds it.
func IndexKeysChanged(old, cur *Trusted, channel string) bool {
	a := old.Root.Roles[old.Root.IndexRole(channel)]
	b := cur.Root.Roles[cur.Root.IndexRole(channel)]
	return !slices.Equal(sortedIDs(a), sortedIDs(b)) || a.Threshold != b.Threshold
}

// sortedIDs lists a role's key ids in order. Ids are hashes of the keys, so
// a legacy root and a root document name one key alike.
func sortedIDs(r manifest.Role) []string {
	out := slices.Clone(r.KeyIDs)
	sort.Strings(out)
	return out
}

// Latest is how a producer finds its store's current root: root 1, checked
// against its own root keys (the producer made it), followed to the newest.
// It returns nil, nil when the store has no root: keys are used as before.
func Latest(ctx context.Context, fetch Fetch, product string, now time.Time) (*Chain, error) {
	first, err := fetch(ctx, 1)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fetch root version 1: %w", err)
	}
	t, err := VerifySelf(ctx, first, product)
	if err != nil {
		return nil, fmt.Errorf("root version 1: %w", err)
	}
	c, err := Update(ctx, t, fetch, now)
	if err != nil {
		return nil, err
	}
	for c.Truncated {
		more, err := Update(ctx, c.Newest(), fetch, now)
		if err != nil {
			return nil, err
		}
		c = &Chain{Roots: append(c.Roots, more.Roots[1:]...), Truncated: more.Truncated}
	}
	return c, nil
}
