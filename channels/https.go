package channels

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/loopback"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing/keyless"
)

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
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback.Host(u.Hostname())) {
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
		// Plain HTTP is allowed only because loopback cannot be
		// intercepted; a redirect must not carry the store off it.
		if via[0].URL.Scheme == "http" && !loopback.Host(req.URL.Hostname()) {
			return fmt.Errorf("refusing redirect from %s to %s: a plain-HTTP store must stay on loopback", via[0].URL, req.URL)
		}
		return nil
	}
	client = &c
	return &HTTPStore{base: u, client: client}, nil
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
	// The key signature is asked for first: a key-signed store costs no extra
	// request. Only a document without one is looked for with a bundle.
	sig, err := s.fetch(ctx, rel+".sig", 64<<10)
	if errors.Is(err, ErrNotFound) {
		bundle, berr := s.fetch(ctx, rel+BundleSuffix, keyless.MaxBundleSize)
		if berr == nil {
			return Document{Bytes: b, Bundle: bundle}, nil
		}
		if !errors.Is(berr, ErrNotFound) {
			err = berr
		}
	}
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

var _ ReadStore = (*HTTPStore)(nil)
