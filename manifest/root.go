package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// KindRoot is the kind of a root of trust document.
const KindRoot = "Root"

// RootMediaType is the artifact type of a root document in an OCI store.
const RootMediaType = "application/vnd.wellcomecollection.pin.root.v1+json"

// MaxRootSize caps a root document: a few dozen keys fit in a tenth of it.
const MaxRootSize = 64 << 10

// MaxRootKeys caps the keys one root may list (and so the signatures a
// reader ever checks for one document).
const MaxRootKeys = 32

// Roles every root defines. A role "index-<channel>" may be added to give one
// channel's index its own keys and threshold (say, CI and a person for stable).
const (
	RoleRoot    = "root"    // signs the next root; rarely used, may be offline
	RoleRelease = "release" // signs release manifests
	RoleIndex   = "index"   // signs channel indexes: the online key of scheduled refreshes
)

// IndexRolePrefix starts a per-channel index role: index-stable.
const IndexRolePrefix = "index-"

// KeyTypeECDSAP256 is the only signer type this build makes; the type field
// exists so that a later build can add signers that are identities (an
// issuer and subject checked through Sigstore) rather than keys.
const (
	KeyTypeECDSAP256 = "ecdsa-p256"
	KeyTypeECDSAP384 = "ecdsa-p384"
	KeyTypeRSA       = "rsa"
	KeyTypeEd25519   = "ed25519"
	// KeyTypeSigstoreIdentity is a signer that is a CI identity rather than
	// a key: a document's Sigstore bundle counts for it when its Fulcio
	// certificate carries the identity (see signing/keyless).
	KeyTypeSigstoreIdentity = "sigstore-identity"
)

// Root is the signed root of trust: which keys may sign what, and how many
// of them must. Root N+1 is accepted only when signed by a threshold of root
// N's root keys and of its own (see package trustroot).
type Root struct {
	SchemaVersion int             `json:"schemaVersion"`
	Kind          string          `json:"kind"`
	Product       string          `json:"product"`
	Version       int64           `json:"version"`
	Expires       time.Time       `json:"expires"`
	Keys          map[string]Key  `json:"keys"`
	Roles         map[string]Role `json:"roles"`
}

// Key is one signer a root lists, named in roles by its id: the hex sha256
// of the public key's DER (PKIX) encoding.
//
// A key of type sigstore-identity has no public key but an identity, and
// its id is the hex sha256 of the identity's canonical JSON.
type Key struct {
	Type      string    `json:"type"`
	PublicKey string    `json:"publicKey,omitempty"` // PEM
	Identity  *Identity `json:"identity,omitempty"`
}

// Identity is a CI identity a root lists as a signer: the fields of
// pin.yaml's identities (signing/keyless.Identity), which checks them.
type Identity struct {
	Name             string `json:"name,omitempty"`
	Issuer           string `json:"issuer"`
	Subject          string `json:"subject,omitempty"`
	SubjectRegexp    string `json:"subjectRegexp,omitempty"`
	SourceRepository string `json:"sourceRepository,omitempty"`
	Ref              string `json:"ref,omitempty"`
	Trigger          string `json:"trigger,omitempty"`
}

// IdentityKeyID is the id a root gives an identity: the hex sha256 of its
// canonical JSON, so the same identity has the same id in every root.
func IdentityKeyID(id Identity) (string, error) {
	b, err := canonical(&id)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(Digest(bytes.TrimSpace(b)), "sha256:"), nil
}

// Role lists the key ids that may sign a role's documents and how many
// distinct keys must.
type Role struct {
	KeyIDs    []string `json:"keyids"`
	Threshold int      `json:"threshold"`
}

// IndexRole returns the role that signs channel's index: index-<channel>
// when the root defines it, else index.
func (r *Root) IndexRole(channel string) string {
	if _, ok := r.Roles[IndexRolePrefix+channel]; ok {
		return IndexRolePrefix + channel
	}
	return RoleIndex
}

// Encode returns the canonical bytes of the root after validating it.
func (r *Root) Encode() ([]byte, error) {
	n := *r
	n.Expires = normTime(r.Expires)
	n.Roles = map[string]Role{}
	for name, role := range r.Roles {
		ids := append([]string(nil), role.KeyIDs...)
		sort.Strings(ids)
		n.Roles[name] = Role{KeyIDs: ids, Threshold: role.Threshold}
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	return canonical(&n)
}

// DecodeRoot strictly decodes and validates a root document for product
// (any product when empty). Only canonical bytes are accepted: a JSON object
// with a repeated name (which encoding/json would silently collapse) or any
// other spelling than Encode's is refused.
func DecodeRoot(b []byte, product string) (*Root, error) {
	if len(b) > MaxRootSize {
		return nil, fmt.Errorf("root document is %d bytes, over the %d-byte cap", len(b), MaxRootSize)
	}
	var r Root
	if err := strictDecode(b, KindRoot, &r); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if err := expectField(KindRoot, "product", r.Product, product); err != nil {
		return nil, err
	}
	again, err := r.Encode()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, b) {
		return nil, fmt.Errorf("root document is not in canonical form (sorted keys, no whitespace, no repeated names)")
	}
	return &r, nil
}

// Validate checks every field of the root.
func (r *Root) Validate() error {
	const k = KindRoot
	if err := validateHeader(k, r.SchemaVersion, r.Kind, r.Product); err != nil {
		return err
	}
	if r.Version < 1 {
		return fieldErr(k, "version", "is %d, must be 1 or more", r.Version)
	}
	if err := checkTime(k, "expires", r.Expires); err != nil {
		return err
	}
	if len(r.Keys) == 0 || len(r.Keys) > MaxRootKeys {
		return fieldErr(k, "keys", "lists %d keys, must list 1 to %d", len(r.Keys), MaxRootKeys)
	}
	for id, key := range r.Keys {
		if !validKeyID(id) {
			return fieldErr(k, "keys."+id, "key id is not 64 lowercase hex digits (the sha256 of the public key)")
		}
		switch key.Type {
		case KeyTypeECDSAP256, KeyTypeECDSAP384, KeyTypeRSA, KeyTypeEd25519:
			if key.Identity != nil {
				return fieldErr(k, "keys."+id+".identity", "is set on a %s key (only a %s entry has one)", key.Type, KeyTypeSigstoreIdentity)
			}
		case KeyTypeSigstoreIdentity:
			if err := validIdentityEntry(id, key); err != nil {
				return fieldErr(k, "keys."+id, "%v", err)
			}
			continue
		default:
			return fieldErr(k, "keys."+id+".type", "%q is not a key type this build knows", key.Type)
		}
		if !strings.HasPrefix(key.PublicKey, "-----BEGIN PUBLIC KEY-----") {
			return fieldErr(k, "keys."+id+".publicKey", "is not a PEM public key")
		}
	}
	for _, need := range []string{RoleRoot, RoleRelease, RoleIndex} {
		if _, ok := r.Roles[need]; !ok {
			return fieldErr(k, "roles."+need, "is missing")
		}
	}
	for name, role := range r.Roles {
		if name != RoleRoot && name != RoleRelease && name != RoleIndex {
			ch, ok := strings.CutPrefix(name, IndexRolePrefix)
			if !ok || !ValidName(ch) {
				return fieldErr(k, "roles."+name, "is not a role (root, release, index or index-<channel>)")
			}
		}
		if len(role.KeyIDs) == 0 {
			return fieldErr(k, "roles."+name+".keyids", "is empty")
		}
		seen := map[string]bool{}
		for _, id := range role.KeyIDs {
			key, ok := r.Keys[id]
			if !ok {
				return fieldErr(k, "roles."+name+".keyids", "names %s, which keys does not list", id)
			}
			if name == RoleRoot && key.Type == KeyTypeSigstoreIdentity {
				return fieldErr(k, "roles."+name+".keyids", "names identity %s: roots are signed with keys, so the root role lists keys only", id)
			}
			if seen[id] {
				return fieldErr(k, "roles."+name+".keyids", "lists %s twice", id)
			}
			seen[id] = true
		}
		if role.Threshold < 1 || role.Threshold > len(role.KeyIDs) {
			return fieldErr(k, "roles."+name+".threshold", "is %d, must be 1 to %d (the role's keys)", role.Threshold, len(role.KeyIDs))
		}
	}
	return nil
}

// validIdentityEntry checks the shape of a sigstore-identity entry; the
// identity's policy (anchored regular expressions and so on) is checked by
// signing/keyless when the root is parsed.
func validIdentityEntry(id string, key Key) error {
	if key.PublicKey != "" {
		return fmt.Errorf("a %s entry has no publicKey", KeyTypeSigstoreIdentity)
	}
	if key.Identity == nil {
		return fmt.Errorf("a %s entry needs an identity (issuer, subject)", KeyTypeSigstoreIdentity)
	}
	if strings.TrimSpace(key.Identity.Issuer) == "" {
		return errors.New("identity needs an issuer")
	}
	if (key.Identity.Subject == "") == (key.Identity.SubjectRegexp == "") {
		return errors.New("identity needs a subject or a subjectRegexp (one of them)")
	}
	want, err := IdentityKeyID(*key.Identity)
	if err != nil {
		return err
	}
	if want != id {
		return fmt.Errorf("the identity's id is %s (the sha256 of its canonical JSON)", want)
	}
	return nil
}

func validKeyID(id string) bool {
	return ValidDigest("sha256:" + id)
}

// Signature is one signature over a document: the id of the key that claims
// to have made it and the base64 signature (the content of a cosign .sig
// file, so each one checks with `cosign verify-blob` on its own). The key id
// is a hint; a verifier trusts only the public key that checks the signature.
type Signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// MaxSignatures caps the signatures one document may carry.
const MaxSignatures = MaxRootKeys * 2

// SignatureSet is the file that holds several signatures over one document
// (root/<N>.json.sigs in a directory store).
type SignatureSet struct {
	Signatures []Signature `json:"signatures"`
}

// EncodeSignatures returns a signature set's bytes: indented JSON, one
// signature per entry, ordered by key id, so a person can read which keys signed.
func EncodeSignatures(sigs []Signature) ([]byte, error) {
	s := SignatureSet{Signatures: append([]Signature{}, sigs...)}
	sort.SliceStable(s.Signatures, func(i, j int) bool { return s.Signatures[i].KeyID < s.Signatures[j].KeyID })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// DecodeSignatures strictly decodes a signature set.
func DecodeSignatures(b []byte) ([]Signature, error) {
	if len(b) > 64<<10 {
		return nil, fmt.Errorf("signature set is %d bytes, over the %d-byte cap", len(b), 64<<10)
	}
	var s SignatureSet
	if err := strictDecode(b, "Signatures", &s); err != nil {
		return nil, err
	}
	if len(s.Signatures) > MaxSignatures {
		return nil, fmt.Errorf("signature set holds %d signatures, over the cap of %d", len(s.Signatures), MaxSignatures)
	}
	return s.Signatures, nil
}
