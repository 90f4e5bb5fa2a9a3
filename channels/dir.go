package channels

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/wellcomecollection/pin/internal/exitcode"
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
	return &DirStore{root: strings.TrimPrefix(dir, "file://")}
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

// ReadDocument reads a document file and its .sig beside it, each under its
// size cap; a missing file wraps ErrNotFound.
func ReadDocument(path string) (Document, error) {
	b, err := readCapped(path, manifest.MaxDocumentSize)
	if err != nil {
		return Document{}, err
	}
	sig, err := readCapped(path+".sig", 64<<10)
	if err != nil {
		return Document{}, err
	}
	doc := Document{Bytes: b, Signature: sig}
	more, err := readCapped(path+".sigs", 64<<10)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return Document{}, err
	default:
		if doc.More, err = manifest.DecodeSignatures(more); err != nil {
			return Document{}, fmt.Errorf("%s.sigs: %w", path, err)
		}
	}
	return doc, nil
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
	return WriteFileAtomic(path+".sigs", b, 0o644)
}

func readCapped(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if int64(len(b)) > max {
		return nil, exitcode.TrustError(fmt.Errorf("%s is over the %d-byte cap: refused", p, max))
	}
	return b, nil
}

func (s *DirStore) PutChannel(ctx context.Context, channel string, doc Document) error {
	if err := safeName("channel", channel); err != nil {
		return err
	}
	p := filepath.Join(s.root, filepath.FromSlash(channelPath(channel)))
	if err := writeMoreSignatures(p, doc); err != nil {
		return err
	}
	// The signature goes first: a reader that races the write sees a new
	// signature over the old bytes and fails verification (and retries), never
	// a document accepted under a stale signature.
	if err := WriteFileAtomic(p+".sig", doc.Signature, 0o644); err != nil {
		return err
	}
	return WriteFileAtomic(p, doc.Bytes, 0o644)
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
	if err := WriteFileAtomic(p+".sig", doc.Signature, 0o644); err != nil {
		os.Remove(p)
		return err
	}
	if err := WriteFileAtomic(p, doc.Bytes, 0o644); err != nil {
		os.Remove(p)
		os.Remove(p + ".sig")
		return err
	}
	return nil
}

// WriteFileAtomic writes data to a temporary file in the target's directory,
// syncs it and renames it over path, so readers see the old or the new bytes,
// never a mix.
func WriteFileAtomic(path string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := StageFile(path, data, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return nil
}

// StageFile writes data with mode to a new temporary file beside dst and
// syncs it, returning its name: renaming it over dst then replaces dst
// atomically. On failure nothing is left behind. The name is
// .<base>.pin-<digits> (IsStagedFile); one left by a killed process is
// never taken for a config, and `pin update` removes it.
func StageFile(dst string, data []byte, mode fs.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+stagedMark+"*")
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return "", err
	}
	if err := f.Chmod(mode); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	ok = true
	return f.Name(), nil
}

const stagedMark = ".pin-"

// IsStagedFile reports whether a file name is one StageFile makes.
func IsStagedFile(name string) bool {
	i := strings.LastIndex(name, stagedMark)
	if len(name) < 2 || name[0] != '.' || i < 2 || i+len(stagedMark) == len(name) {
		return false
	}
	for _, c := range name[i+len(stagedMark):] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// HTTPStore reads a directory store's layout from a static web server
// (https://, or plain http:// on loopback for tests). It is read-only.
type HTTPStore struct {
	base   *url.URL
	client *http.Client
}

// NewHTTPStore returns a read-only store for base. A nil client gets a
// default one with a 30 s timeout.
func NewHTTPStore(base string, client *http.Client) (*HTTPStore, error) {
	u, err := url.Parse(strings.TrimSuffix(base, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("store URL %q: %w", base, err)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil, fmt.Errorf("store URL %q: only https:// (or http:// on loopback) is allowed", base)
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return fmt.Errorf("stopped after %d redirects", len(via))
		}
		if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("refusing redirect from %s to %s: it leaves https", via[0].URL, req.URL)
		}
		return nil
	}
	client = &c
	return &HTTPStore{base: u, client: client}, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

func (s *HTTPStore) String() string { return strings.TrimSuffix(s.base.String(), "/") }

func (s *HTTPStore) GetChannel(ctx context.Context, channel string) (Document, error) {
	if err := safeName("channel", channel); err != nil {
		return Document{}, err
	}
	return s.get(ctx, channelPath(channel))
}

func (s *HTTPStore) GetRelease(ctx context.Context, version string) (Document, error) {
	if err := safeName("release", version); err != nil {
		return Document{}, err
	}
	return s.get(ctx, releasePath(version))
}

func (s *HTTPStore) get(ctx context.Context, rel string) (Document, error) {
	b, err := s.fetch(ctx, rel, manifest.MaxDocumentSize)
	if err != nil {
		return Document{}, err
	}
	sig, err := s.fetch(ctx, rel+".sig", 64<<10)
	if err != nil {
		return Document{}, err
	}
	return Document{Bytes: b, Signature: sig}, nil
}

func (s *HTTPStore) fetch(ctx context.Context, rel string, max int64) ([]byte, error) {
	u := s.base.ResolveReference(&url.URL{Path: rel})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("GET %s: %w", u, ErrNotFound)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	case resp.ContentLength > max:
		return nil, exitcode.TrustError(fmt.Errorf("GET %s: %d bytes, over the %d-byte cap: refused", u, resp.ContentLength, max))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if int64(len(b)) > max {
		return nil, exitcode.TrustError(fmt.Errorf("GET %s: over the %d-byte cap: cut off and refused", u, max))
	}
	return b, nil
}

func (s *HTTPStore) PutChannel(context.Context, string, Document) error {
	return fmt.Errorf("%s is read-only (served over HTTP): publish to the directory or bucket behind it", s)
}

func (s *HTTPStore) PutRelease(ctx context.Context, _ string, _ Document) error {
	return s.PutChannel(ctx, "", Document{})
}
