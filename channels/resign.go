package channels

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
	"github.com/wellcomecollection/pin/trustroot"
)

// ReleaseResigner is a store whose published releases can take new
// signatures: the release's bytes, and so its digest (what channel indexes
// list and consumers' pin.lock records), never change; only the signatures
// beside them do.
type ReleaseResigner interface {
	// ResignRelease replaces release version's signatures by doc's. doc's
	// bytes must be exactly the published ones, or nothing is written.
	ResignRelease(ctx context.Context, version string, doc Document) error
}

// ResignRelease rewrites releases/<version>.json's signature files (.sigs,
// then .sig and .sigstore.json), never the document. A reader that races
// it sees old and new signatures over the same bytes: each verifies.
func (s *DirStore) ResignRelease(ctx context.Context, version string, doc Document) error {
	if err := safeName("release", version); err != nil {
		return err
	}
	p := filepath.Join(s.root, filepath.FromSlash(releasePath(version)))
	old, err := readCapped(p, manifest.MaxDocumentSize)
	if err != nil {
		return fmt.Errorf("release %s in %s: %w", version, s, err)
	}
	if !bytes.Equal(old, doc.Bytes) {
		return fmt.Errorf("release %s in %s has other bytes than those re-signed: nothing written", version, s)
	}
	if err := writeMoreSignatures(p, doc); err != nil {
		return err
	}
	return WriteSignatureFiles(p, doc)
}

// ResignRelease pushes the release's artifact again with the new signature
// annotations and moves its tag: the layer (the document) is the same blob,
// so the release's digest is unchanged; the artifact's manifest, and with an
// image signer its cosign signature, are new.
func (s *OCIStore) ResignRelease(ctx context.Context, version string, doc Document) error {
	tag, err := s.tag("release", version)
	if err != nil {
		return err
	}
	old, err := s.get(ctx, "release "+version, tag)
	if err != nil {
		return err
	}
	if !bytes.Equal(old.Bytes, doc.Bytes) {
		return fmt.Errorf("release %s in %s has other bytes than those re-signed: nothing written", version, s)
	}
	return s.put(ctx, "release "+version, tag, manifest.ReleaseMediaType, doc)
}

var (
	_ ReleaseResigner = (*DirStore)(nil)
	_ ReleaseResigner = (*OCIStore)(nil)
)

// Resigned is one release Resign looked at.
type Resigned struct {
	Version string `json:"version"`
	Digest  string `json:"digest"`
	// Signers are the ids of the current keys whose signatures it carries now.
	Signers []string `json:"signers"`
	// Unchanged: it already carried the publisher's signatures; nothing written.
	Unchanged bool `json:"unchanged"`
	Yanked    bool `json:"yanked,omitempty"`
}

// Resign adds the publisher's release signatures (Signer, and CoSigners for
// a release role whose threshold is over one) to releases already published,
// so that they keep verifying once an older release key is removed from the
// root: TUF keeps old targets valid by re-signing the metadata that vouches
// for them, and a release's signatures are that metadata here. The bytes,
// and so every digest that names the release, stay as they are.
//
// Only a release a trusted channel index lists is re-signed, and only when
// its bytes hash to the listed digest and its signatures satisfy the release
// role of the current root or of an earlier one (or, without a root, the
// publisher's keys and previousKeys): re-signing vouches again for what was
// vouched for, never for something new. With no versions, every release the
// indexes list and have not yanked is re-signed. Signatures by keys the
// current root no longer lists for the release role are dropped.
func (p *Publisher) Resign(ctx context.Context, versions []string) (out []Resigned, err error) {
	err = p.exclusive(ctx, func() error {
		out, err = p.resign(ctx, versions)
		return err
	})
	return out, err
}

func (p *Publisher) resign(ctx context.Context, versions []string) ([]Resigned, error) {
	rs, ok := p.Store.(ReleaseResigner)
	if !ok {
		return nil, exitcode.UsageError(fmt.Errorf("store %s cannot re-sign releases", p.Store))
	}
	signers := append([]*signing.Signer{p.Signer}, p.CoSigners...)
	for _, s := range signers {
		if s.Keyless() {
			return nil, exitcode.UsageError(errors.New("re-sign releases with a key: a keyless signature is made for one run's identity, and a release role that lists identities keeps accepting the bundle the release already has"))
		}
		if err := p.checkRole(manifest.RoleRelease, s); err != nil {
			return nil, err
		}
	}
	listed := map[string]manifest.Entry{}
	var all []string
	for _, name := range Names {
		idx, err := p.current(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, e := range idx.Releases {
			if _, dup := listed[e.Version]; !dup {
				listed[e.Version] = e
				if !e.Yanked {
					all = append(all, e.Version)
				}
			}
		}
	}
	if len(versions) == 0 {
		versions = all
	}
	current, err := p.releaseKeys()
	if err != nil {
		return nil, err
	}
	var out []Resigned
	for _, v := range versions {
		e, ok := listed[v]
		if !ok {
			return nil, exitcode.UsageError(fmt.Errorf("release %s is not listed on any channel of %s: only a listed release is re-signed", v, p.Store))
		}
		r, err := p.resignOne(ctx, rs, e, signers, current)
		if err != nil {
			return nil, fmt.Errorf("re-sign release %s: %w", v, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// releaseKeys verifies single signatures by the keys that may sign releases
// now: the current root's release role, or without a root the publisher's
// keys and previousKeys.
func (p *Publisher) releaseKeys() (*signing.Verifier, error) {
	keys := map[string][]byte{}
	if p.Root != nil {
		keys = p.Root.RoleKeys(manifest.RoleRelease)
	} else {
		for name, pem := range p.AlsoTrust {
			keys[name] = pem
		}
	}
	for _, s := range append([]*signing.Signer{p.Signer}, p.CoSigners...) {
		pem, err := s.PublicKeyPEM()
		if err != nil {
			return nil, err
		}
		keys["signer "+s.KeyID()] = pem
	}
	return signing.NewVerifier(keys)
}

func (p *Publisher) resignOne(ctx context.Context, rs ReleaseResigner, e manifest.Entry, signers []*signing.Signer, current *signing.Verifier) (Resigned, error) {
	doc, err := p.Store.GetRelease(ctx, e.Version)
	if err != nil {
		return Resigned{}, fmt.Errorf("fetch from %s: %w", p.Store, err)
	}
	if got := manifest.Digest(doc.Bytes); got != e.Digest {
		return Resigned{}, refuse(ErrDigest, fmt.Errorf("its bytes hash to %s, the channel index lists %s", got, e.Digest))
	}
	if _, err := manifest.DecodeRelease(doc.Bytes, manifest.Expect{Product: p.Product, Version: e.Version}); err != nil {
		return Resigned{}, refuse(ErrInvalid, err)
	}
	if err := p.wasSigned(ctx, doc); err != nil {
		return Resigned{}, err
	}
	// Keep each valid signature by a current key, one per key; the
	// publisher's signers' own come first (the first one is the .sig file
	// cosign verify-blob reads).
	byKey := map[string][]byte{}
	var order []string
	for _, sig := range doc.Signatures() {
		if len(sig) == 0 {
			continue
		}
		id, err := current.VerifyBlob(ctx, doc.Bytes, sig)
		if err != nil || byKey[id] != nil {
			continue
		}
		byKey[id] = sig
		order = append(order, id)
	}
	next := Document{Bytes: doc.Bytes, Bundle: doc.Bundle}
	var ids []string
	for _, s := range signers {
		id := s.KeyID()
		sig := byKey[id]
		if sig == nil {
			if sig, err = s.SignBlob(ctx, doc.Bytes); err != nil {
				return Resigned{}, err
			}
		}
		ids = append(ids, id)
		next.add(sig, s.PublicKey())
	}
	for _, id := range order {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
			next.add(byKey[id], nil)
		}
	}
	if p.Root != nil {
		// What consumers will check: the current root's release role.
		if _, err := verifyRole(ctx, p.Root, Signed{Role: RoleRelease, Doc: next}); err != nil {
			if errors.Is(err, signing.ErrThreshold) {
				return Resigned{}, exitcode.UsageError(fmt.Errorf("%w: add --co-sign-key with another release key", err))
			}
			return Resigned{}, refuse(signing.ErrSignature, err)
		}
	}
	r := Resigned{Version: e.Version, Digest: e.Digest, Signers: ids, Yanked: e.Yanked}
	if SameSignatures(doc, next) {
		r.Unchanged = true
		return r, nil
	}
	if err := rs.ResignRelease(ctx, e.Version, next); err != nil {
		return Resigned{}, fmt.Errorf("publish its signatures to %s: %w", p.Store, err)
	}
	return r, nil
}

// add appends a signature: the first becomes Signature, the rest More.
func (d *Document) add(sig []byte, pub any) {
	if d.Signature == nil {
		d.Signature = sig
		return
	}
	ms := manifest.Signature{Sig: string(sig)}
	if pub != nil {
		ms.KeyID, _ = trustroot.KeyID(pub)
	}
	d.More = append(d.More, ms)
}

// wasSigned checks that a release's signatures satisfy the release role of
// the current root or of an earlier one (without a root: the publisher's
// keys, previousKeys and identities). A release key's rotation leaves the
// current root unable to verify the old signatures: an earlier root can.
func (p *Publisher) wasSigned(ctx context.Context, doc Document) error {
	s := Signed{Role: RoleRelease, Doc: doc}
	if p.Root == nil {
		a, err := p.anchor()
		if err != nil {
			return err
		}
		if _, err := a.VerifySignatures(ctx, s); err != nil {
			return refuse(signing.ErrSignature, fmt.Errorf("its signatures do not verify with this key or previousKeys in release.yaml: %w", err))
		}
		return nil
	}
	var last error
	for _, r := range append([]*trustroot.Trusted{p.Root}, p.PreviousRoots...) {
		_, err := verifyRole(ctx, r, s)
		if err == nil {
			return nil
		}
		if !errors.Is(err, signing.ErrSignature) {
			return err
		}
		last = err
	}
	return refuse(signing.ErrSignature, fmt.Errorf("its signatures satisfy the release role of no root %s has published (re-signing vouches only for what was signed before): %w", p.Store, last))
}

// SameSignatures reports whether two documents carry the same signatures
// (a .sig file's trailing newline aside).
func SameSignatures(a, b Document) bool {
	if !bytes.Equal(bytes.TrimSpace(a.Signature), bytes.TrimSpace(b.Signature)) || !bytes.Equal(a.Bundle, b.Bundle) || len(a.More) != len(b.More) {
		return false
	}
	for i := range a.More {
		if a.More[i].Sig != b.More[i].Sig {
			return false
		}
	}
	return true
}
