package channels

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/wellcomecollection/pin/internal/atomicfile"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/flock"
	"github.com/wellcomecollection/pin/internal/regular"
	"github.com/wellcomecollection/pin/manifest"
)

// DirStore keeps documents in a directory tree:
//
//	channels/<name>.json  channels/<name>.json.sig
//	releases/<version>.json  releases/<version>.json.sig
//
// The .sig files hold the base64 signature that `cosign verify-blob
// --signature` reads, so the tree can be served read-only from any static
// host and checked with stock cosign.
type DirStore struct {
	root string
}

// NewDirStore returns a store rooted at dir (a path or a file:// URL).
func NewDirStore(dir string) *DirStore {
	d, _ := LocalDir(dir)
	return &DirStore{root: d}
}

func (s *DirStore) String() string { return s.root }

func channelPath(channel string) string { return path.Join("channels", channel+".json") }
func releasePath(version string) string { return path.Join("releases", version+".json") }

// safeName refuses names that would leave the store's directory.
func safeName(kind, name string) error {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." || strings.HasPrefix(name, ".") {
		return fmt.Errorf("%s name %q is not a plain name", kind, name)
	}
	return nil
}

func (s *DirStore) GetChannel(ctx context.Context, channel string) (Document, error) {
	if err := safeName("channel", channel); err != nil {
		return Document{}, err
	}
	return s.get(channelPath(channel))
}

func (s *DirStore) GetRelease(ctx context.Context, version string) (Document, error) {
	if err := safeName("release", version); err != nil {
		return Document{}, err
	}
	return s.get(releasePath(version))
}

func (s *DirStore) get(rel string) (Document, error) {
	return ReadDocument(filepath.Join(s.root, filepath.FromSlash(rel)))
}

// ReadDocument reads a document file and every signature file beside it
// (.sig, .sigstore.json, .sigs), each under its size cap; a missing
// document, or one with neither a .sig nor a .sigstore.json, wraps
// ErrNotFound.
func ReadDocument(path string) (Document, error) {
	return assembleDocument(path, func(suffix string, max int64) ([]byte, error) {
		return readCapped(path+suffix, max)
	})
}

// WriteDocument writes a document file as ReadDocument reads it: its further
// signatures (.sigs), its signature files (.sig, .sigstore.json), then its
// bytes, each atomically.
func WriteDocument(path string, doc Document) error {
	if err := writeMoreSignatures(path, doc); err != nil {
		return err
	}
	if err := WriteSignatureFiles(path, doc); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, doc.Bytes, 0o644)
}

// writeMoreSignatures writes path.sigs with doc's further signatures, or
// removes one left from an earlier document when there are none.
func writeMoreSignatures(path string, doc Document) error {
	if len(doc.More) == 0 {
		if err := os.Remove(path + ".sigs"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	b, err := manifest.EncodeSignatures(doc.More)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path+".sigs", b, 0o644)
}

// WriteSignatureFiles writes the document's signature files beside path and
// removes those of a kind it lacks, so a switch between key and keyless
// signing leaves no stale signature over other bytes.
func WriteSignatureFiles(path string, doc Document) error {
	for _, f := range []struct {
		suffix string
		data   []byte
	}{{".sig", doc.Signature}, {BundleSuffix, doc.Bundle}} {
		if len(f.data) == 0 {
			if err := os.Remove(path + f.suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			continue
		}
		if err := atomicfile.WriteFile(path+f.suffix, f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// readCapped reads a store file. Only a regular file under max bytes is
// read: a FIFO or device planted in the store (or a symlink to one) would
// otherwise block the read or fill memory, and is refused as tampering.
func readCapped(p string, max int64) ([]byte, error) {
	b, err := regular.ReadFile(p, max)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
	case errors.Is(err, regular.ErrTooLarge):
		return nil, exitcode.TrustError(fmt.Errorf("%s is over the %d-byte cap: refused", p, max))
	case errors.Is(err, regular.ErrNotRegular):
		return nil, exitcode.TrustError(fmt.Errorf("store file %w", err))
	case err != nil:
		return nil, err
	}
	return b, nil
}

func (s *DirStore) PutChannel(ctx context.Context, channel string, doc Document) error {
	if err := safeName("channel", channel); err != nil {
		return err
	}
	// The signatures go first: a reader that races the write sees new
	// signatures over the old bytes and fails verification (and retries),
	// never a document accepted under a stale signature.
	return WriteDocument(filepath.Join(s.root, filepath.FromSlash(channelPath(channel))), doc)
}

func (s *DirStore) PutRelease(ctx context.Context, version string, doc Document) error {
	if err := safeName("release", version); err != nil {
		return err
	}
	p := filepath.Join(s.root, filepath.FromSlash(releasePath(version)))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	// Claim the version with an exclusive create so that two publishers cannot both make it.
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("release %s: %w", version, ErrExists)
	}
	if err != nil {
		return err
	}
	f.Close()
	if err := writeMoreSignatures(p, doc); err != nil {
		os.Remove(p)
		return err
	}
	if err := WriteSignatureFiles(p, doc); err != nil {
		os.Remove(p)
		return err
	}
	if err := atomicfile.WriteFile(p, doc.Bytes, 0o644); err != nil {
		os.Remove(p)
		os.Remove(p + ".sig")
		os.Remove(p + BundleSuffix)
		return err
	}
	return nil
}

// publishLockFile is locked instead of the store's directory where the
// file system cannot flock a directory.
const publishLockFile = ".pin-publish.lck"

// LockPublishing takes an exclusive flock on the store's directory (created
// if missing). The kernel drops it when the holder exits, kill -9 included.
func (s *DirStore) LockPublishing(ctx context.Context, wait time.Duration, waiting func(holder string)) (func() error, error) {
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		return nil, fmt.Errorf("store %s: %w", s.root, err)
	}
	o := flock.Options{Wait: wait}
	if waiting != nil {
		o.Waiting = func(pid int) {
			if pid > 0 {
				waiting(fmt.Sprintf("pid %d", pid))
			} else {
				waiting("another process")
			}
		}
	}
	l, err := flock.Acquire(ctx, filepath.Clean(s.root), publishLockFile, o)
	if errors.Is(err, flock.ErrTimeout) {
		return nil, fmt.Errorf("another publisher is publishing to %s: %w; %w: retry when it has finished", s, err, ErrConflict)
	}
	if err != nil {
		return nil, err
	}
	return l.Release, nil
}

var (
	_ Store         = (*DirStore)(nil)
	_ PublishLocker = (*DirStore)(nil)
)
