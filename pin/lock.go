package pin

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/regular"
	"github.com/wellcomecollection/pin/manifest"
)

// LockSchemaVersion is the pin.lock format this build reads and writes.
const LockSchemaVersion = 1

// Lock is pin.lock: what `pin update` verified and wrote. It carries the
// signed manifest and its signature or Sigstore bundle, so `pin check` needs
// no network.
type Lock struct {
	SchemaVersion int                    `json:"schemaVersion"`
	Source        string                 `json:"source"`
	Product       string                 `json:"product"`
	Channel       string                 `json:"channel"`
	Channels      map[string]LockedIndex `json:"channels"`
	// Roots are the roots of trust newer than pin.yaml's that were verified
	// and followed, oldest first; omitted while pin.yaml's root is the newest.
	Roots          []LockedRoot `json:"roots,omitempty"`
	Version        string       `json:"version"`
	ReleaseChannel string       `json:"releaseChannel"`
	ManifestDigest string       `json:"manifestDigest"`
	Manifest       string       `json:"manifest"`
	Signature      string       `json:"signature"`
	// MoreSignatures are the manifest's further signatures, when the
	// release role's threshold is over one.
	MoreSignatures []manifest.Signature `json:"moreSignatures,omitempty"`
	// Bundle is the manifest's Sigstore bundle when a CI identity signed it
	// keylessly: with it `pin check` verifies the identity offline.
	Bundle     string            `json:"bundle,omitempty"`
	References []LockedReference `json:"references"`
	// Hold, when set, keeps pin update on Hold.Version (pin update --hold).
	Hold *Hold `json:"hold,omitempty"`
}

// LockedIndex records the channel index a consumer last verified, for rollback detection.
type LockedIndex struct {
	Sequence int64  `json:"sequence"`
	Digest   string `json:"digest"`
}

// LockedReference is one reference pin wrote or found already pinned.
type LockedReference struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Component string `json:"component"`
	Field     string `json:"field"`
	Old       string `json:"old"`
	New       string `json:"new"`
}

// LoadLock reads pin.lock; a missing file returns nil, nil.
func LoadLock(path string) (*Lock, error) {
	b, err := regular.ReadFile(path, regular.MaxConfig)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lock: %w", err)
	}
	// Go keeps the last of two keys and matches them case-insensitively; a
	// reviewer reads the first. Refuse a lock where the two differ.
	if key, where, dup := manifest.DuplicateKey(b); dup {
		return nil, exitcode.UsageError(&LockFileError{Path: path, Err: fmt.Errorf("key %q appears twice in %s: pin.lock is never written so", key, where)})
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var l Lock
	if err := dec.Decode(&l); err != nil {
		return nil, exitcode.UsageError(&LockFileError{Path: path, Err: err})
	}
	if l.SchemaVersion != LockSchemaVersion {
		return nil, exitcode.UsageError(fmt.Errorf("%s: schemaVersion %d, this build reads %d", path, l.SchemaVersion, LockSchemaVersion))
	}
	// The manifest's digest is what the signed index listed; without it the
	// lock's manifest could not be tied to the index, so it is required.
	if !manifest.ValidDigest(l.ManifestDigest) {
		return nil, exitcode.UsageError(&LockFileError{Path: path, Err: fmt.Errorf("manifestDigest %q is not a sha256 digest", l.ManifestDigest)})
	}
	return &l, nil
}

// Encode returns the lock's deterministic bytes: fields in a fixed order,
// references sorted by file, line and component, two-space indentation.
func (l *Lock) Encode() ([]byte, error) {
	n := *l
	n.References = append([]LockedReference(nil), l.References...)
	sort.Slice(n.References, func(i, j int) bool {
		a, b := n.References[i], n.References[j]
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Component, b.Component)) < 0
	})
	if n.References == nil {
		n.References = []LockedReference{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Document is the signed release the lock records, as a store would hold it:
// the manifest with its signature or (signed keylessly) its Sigstore bundle.
func (l *Lock) Document() channels.Document {
	doc := channels.Document{Bytes: []byte(l.Manifest), Signature: []byte(l.Signature), More: l.MoreSignatures}
	if l.Bundle != "" {
		doc.Bundle = []byte(l.Bundle)
	}
	return doc
}
