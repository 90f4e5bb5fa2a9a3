package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// MaxManifestSize caps any manifest pin reads (4 MiB, the size the OCI
// distribution spec asks registries to accept); a longer body is cut off
// there and refused, not read to go-containerregistry's 100 MiB limit.
const MaxManifestSize = 4 << 20

// readAheadMax bounds how much of a non-manifest body (a blob, a tag list, a
// token) is read ahead to make faults in it retryable; larger bodies are
// streamed to the caller, whose own caps and digest checks apply.
const readAheadMax = 4 << 20

type manifestLimitKey struct{}

// withManifestLimit lowers the manifest cap for requests made with ctx.
func withManifestLimit(ctx context.Context, n int64) context.Context {
	return context.WithValue(ctx, manifestLimitKey{}, n)
}

func manifestLimit(ctx context.Context) int64 {
	if n, ok := ctx.Value(manifestLimitKey{}).(int64); ok && n < MaxManifestSize {
		return n
	}
	return MaxManifestSize
}

// DigestMismatchError (the message leaves the host and path to the
// *url.Error that wraps it) is a manifest whose bytes do not hash to the
// Docker-Content-Digest header it came with: a corrupted, truncated or
// substituted body, or a registry that lies.
//
// Requested is set instead of Header when the manifest was asked for by
// digest and the bytes hash to something else, whatever the header says:
// the registry serves other content under that digest.
type DigestMismatchError struct {
	Host      string
	Path      string
	Header    string // what Docker-Content-Digest said
	Requested string // the digest in the request's path, when the bytes do not match it
	Body      string // what the bytes hash to
}

func (e *DigestMismatchError) Error() string {
	if e.Requested != "" {
		return fmt.Sprintf("manifest asked for as %s hashes to %s: the registry serves other bytes under that digest", e.Requested, e.Body)
	}
	return fmt.Sprintf("manifest hashes to %s, but its Docker-Content-Digest header says %s", e.Body, e.Header)
}

// TooLargeError is a manifest or blob over its cap: refused before download
// when its size was announced, otherwise cut off one byte past the cap.
type TooLargeError struct {
	What  string // "manifest", "blob sha256:..."
	Size  int64  // announced size; -1 when cut off
	Limit int64
}

func (e *TooLargeError) Error() string {
	if e.Size >= 0 {
		return fmt.Sprintf("%s is %d bytes, over the %d-byte cap: refused", e.What, e.Size, e.Limit)
	}
	return fmt.Sprintf("%s is over the %d-byte cap: cut off and refused", e.What, e.Limit)
}

// readAhead reads a successful GET's body into memory before handing the
// response up, so that a reset connection, a body cut short, a body slower
// than the timeout or a manifest that does not match its digest header
// fails inside the retry loop. A manifest over its cap is refused after
// reading one byte more than the cap; other bodies over readAheadMax are
// streamed.
func readAhead(req *http.Request, resp *http.Response) (*http.Response, error) {
	if req.Method != http.MethodGet || resp.Body == nil || resp.Body == http.NoBody {
		return resp, nil
	}
	isManifest := strings.Contains(req.URL.Path, "/manifests/")
	limit := int64(readAheadMax)
	if isManifest {
		limit = manifestLimit(req.Context())
	}
	tooLarge := func() (*http.Response, error) {
		resp.Body.Close()
		return nil, &TooLargeError{What: "manifest", Size: -1, Limit: limit}
	}
	if resp.ContentLength > limit {
		if isManifest {
			return tooLarge()
		}
		return resp, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	if int64(len(b)) > limit {
		if isManifest {
			return tooLarge()
		}
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
		return resp, nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	if isManifest {
		if err := checkDigestHeader(req, resp, b); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// checkDigestHeader compares a manifest's bytes with its
// Docker-Content-Digest header, when there is one. Docker schema 1 signed
// manifests are exempt: their header digest is over the unsigned payload (pin
// refuses them elsewhere).
func checkDigestHeader(req *http.Request, resp *http.Response, b []byte) error {
	if mt := types.MediaType(resp.Header.Get("Content-Type")); mt.IsSchema1() {
		return nil
	}
	sum := sha256.Sum256(b)
	got := "sha256:" + hex.EncodeToString(sum[:])
	// Asked for by a sha256 digest: the bytes must be those, header or not.
	if i := strings.LastIndex(req.URL.Path, "/manifests/sha256:"); i >= 0 {
		if asked := req.URL.Path[i+len("/manifests/"):]; asked != got {
			return &DigestMismatchError{Host: req.URL.Host, Path: req.URL.Path, Requested: asked, Body: got}
		}
	}
	h := resp.Header.Get("Docker-Content-Digest")
	if h == "" {
		return nil
	}
	want, err := v1.NewHash(h)
	if err == nil && want.Algorithm != "sha256" {
		return nil // a digest algorithm pin does not hash with; the caller's own checks apply
	}
	if err != nil || want.String() != got {
		return &DigestMismatchError{Host: req.URL.Host, Path: req.URL.Path, Header: h, Body: got}
	}
	return nil
}
