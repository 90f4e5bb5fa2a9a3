package channels

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"github.com/wellcomecollection/pin/internal/atomicfile"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
	"github.com/wellcomecollection/pin/trustroot"
)

// RootReader reads the versions of a product's root of trust; every store
// kind implements it, RootStore (publishing roots) every writable one:
//
//	directory / HTTPS:  root/<N>.json  root/<N>.json.sigs
//	OCI:                tag root-<N> (the signature set in annotation
//	                    dev.wellcomecollection.pin/signatures)
//
// The .sigs file is a JSON signature set (manifest.SignatureSet) whose every
// "sig" is a cosign blob signature: `jq -r '.signatures[i].sig'` gives a
// .sig file that `cosign verify-blob --key K.pub` checks against root/<N>.json.
// Like a Store, they move bytes and verify nothing: trustroot does.
type RootReader interface {
	// GetRoot returns root version N; errors wrap trustroot.ErrNotFound (and
	// ErrNotFound) when absent.
	GetRoot(ctx context.Context, version int64) (trustroot.Signed, error)
}

// RootStore is a RootReader that can also publish roots.
type RootStore interface {
	RootReader
	// PutRoot publishes root version N, or adds signatures to it; other bytes
	// under a published version are refused (ErrExists).
	PutRoot(ctx context.Context, version int64, s trustroot.Signed) error
}

// RootTagPrefix names root tags in an OCI store: root-1, root-2.
const RootTagPrefix = "root-"

// SignaturesAnnotation carries a root's signature set on its OCI artifact.
const SignaturesAnnotation = "dev.wellcomecollection.pin/signatures"

func rootPath(version int64) string {
	return path.Join("root", strconv.FormatInt(version, 10)+".json")
}

// notFoundRoot wraps both not-found sentinels: the store's and trustroot's.
func notFoundRoot(what string, err error) error {
	return fmt.Errorf("%s: %w (%w)", what, trustroot.ErrNotFound, err)
}

func checkRootVersion(version int64) error {
	if version < 1 {
		return fmt.Errorf("root version %d: versions start at 1", version)
	}
	return nil
}

// GetRoot reads root/<N>.json and its .sigs.
func (s *DirStore) GetRoot(ctx context.Context, version int64) (trustroot.Signed, error) {
	if err := checkRootVersion(version); err != nil {
		return trustroot.Signed{}, err
	}
	p := filepath.Join(s.root, filepath.FromSlash(rootPath(version)))
	b, err := readCapped(p, manifest.MaxRootSize)
	if errors.Is(err, ErrNotFound) {
		return trustroot.Signed{}, notFoundRoot(fmt.Sprintf("root version %d in %s", version, s), err)
	}
	if err != nil {
		return trustroot.Signed{}, err
	}
	sb, err := readCapped(p+".sigs", 64<<10)
	if err != nil {
		return trustroot.Signed{}, fmt.Errorf("root version %d in %s: %w", version, s, err)
	}
	return decodeSigned(fmt.Sprintf("root version %d in %s", version, s), b, sb)
}

func decodeSigned(what string, b, sigs []byte) (trustroot.Signed, error) {
	ss, err := manifest.DecodeSignatures(sigs)
	if err != nil {
		return trustroot.Signed{}, fmt.Errorf("%s: %w", what, err)
	}
	return trustroot.Signed{Bytes: b, Signatures: ss}, nil
}

// PutRoot writes root/<N>.json.sigs, then root/<N>.json (a reader racing it
// sees signatures that do not match and fails rather than trusting too few).
func (s *DirStore) PutRoot(ctx context.Context, version int64, sr trustroot.Signed) error {
	if err := checkRootVersion(version); err != nil {
		return err
	}
	p := filepath.Join(s.root, filepath.FromSlash(rootPath(version)))
	if old, err := os.ReadFile(p); err == nil && !bytes.Equal(old, sr.Bytes) {
		return fmt.Errorf("root version %d in %s: %w with other bytes: a published root is never replaced, publish version %d", version, s, ErrExists, version+1)
	}
	sigs, err := manifest.EncodeSignatures(sr.Signatures)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(p+".sigs", sigs, 0o644); err != nil {
		return err
	}
	return atomicfile.WriteFile(p, sr.Bytes, 0o644)
}

// GetRoot reads root/<N>.json and its .sigs over HTTPS. Probing for a root
// that does not exist yet costs one request (the .json's 404).
func (s *HTTPStore) GetRoot(ctx context.Context, version int64) (trustroot.Signed, error) {
	if err := checkRootVersion(version); err != nil {
		return trustroot.Signed{}, err
	}
	rel := rootPath(version)
	b, err := s.fetch(ctx, rel, manifest.MaxRootSize)
	if errors.Is(err, ErrNotFound) {
		return trustroot.Signed{}, notFoundRoot(fmt.Sprintf("root version %d in %s", version, s), err)
	}
	if err != nil {
		return trustroot.Signed{}, err
	}
	sb, err := s.fetch(ctx, rel+".sigs", 64<<10)
	if err != nil {
		return trustroot.Signed{}, err
	}
	return decodeSigned(fmt.Sprintf("root version %d in %s", version, s), b, sb)
}

// GetRoot pulls tag root-<N>. Probing for a root that does not exist yet
// costs one request (a HEAD answered 404).
func (s *OCIStore) GetRoot(ctx context.Context, version int64) (trustroot.Signed, error) {
	if err := checkRootVersion(version); err != nil {
		return trustroot.Signed{}, err
	}
	tag, err := s.tag("root", RootTagPrefix+strconv.FormatInt(version, 10))
	if err != nil {
		return trustroot.Signed{}, err
	}
	what := fmt.Sprintf("root version %d in %s", version, s)
	data, ann, _, err := s.client.PullArtifact(ctx, tag, manifest.MaxRootSize)
	if errors.Is(err, registry.ErrNotFound) {
		return trustroot.Signed{}, notFoundRoot(what, ErrNotFound)
	}
	if err != nil {
		return trustroot.Signed{}, err
	}
	return decodeSigned(what, data, []byte(ann[SignaturesAnnotation]))
}

// PutRoot pushes tag root-<N> with its signatures in an annotation; a
// published root may gain signatures but never change its bytes.
func (s *OCIStore) PutRoot(ctx context.Context, version int64, sr trustroot.Signed) error {
	if err := checkRootVersion(version); err != nil {
		return err
	}
	tag, err := s.tag("root", RootTagPrefix+strconv.FormatInt(version, 10))
	if err != nil {
		return err
	}
	old, _, _, err := s.client.PullArtifact(ctx, tag, manifest.MaxRootSize)
	switch {
	case err == nil && !bytes.Equal(old, sr.Bytes):
		return fmt.Errorf("root version %d in %s: %w with other bytes: a published root is never replaced, publish version %d", version, s, ErrExists, version+1)
	case err != nil && !errors.Is(err, registry.ErrNotFound):
		return fmt.Errorf("root version %d in %s: %w", version, s, err)
	}
	sigs, err := manifest.EncodeSignatures(sr.Signatures)
	if err != nil {
		return err
	}
	ann := map[string]string{SignaturesAnnotation: string(bytes.TrimSpace(sigs))}
	if _, err := s.client.PushArtifact(ctx, s.repo, tag.TagStr(), manifest.RootMediaType, sr.Bytes, ann); err != nil {
		return fmt.Errorf("publish root version %d to %s: %w", version, s, err)
	}
	return nil
}

var (
	_ RootStore  = (*DirStore)(nil)
	_ RootReader = (*HTTPStore)(nil)
	_ RootStore  = (*OCIStore)(nil)
)

// Roots returns the root reader behind st, or an error naming the store
// when it keeps no roots (a test double, say).
func Roots(st ReadStore) (RootReader, error) {
	rs, ok := st.(RootReader)
	if !ok {
		return nil, fmt.Errorf("store %s keeps no root of trust", st)
	}
	return rs, nil
}

// WritableRoots returns the root store behind st, or an error wrapping
// ErrReadOnly (an HTTPS store) or naming a store that keeps no roots.
func WritableRoots(st ReadStore) (RootStore, error) {
	if _, ok := st.(RootReader); !ok {
		return nil, fmt.Errorf("store %s keeps no root of trust", st)
	}
	rs, ok := st.(RootStore)
	if !ok {
		return nil, fmt.Errorf("%s: %w", st, ErrReadOnly)
	}
	return rs, nil
}

// RootFetcher adapts a RootReader to trustroot.Update.
func RootFetcher(rs RootReader) trustroot.Fetch {
	return rs.GetRoot
}
