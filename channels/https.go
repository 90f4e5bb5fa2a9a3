package channels

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/loopback"
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

// get reads a document and every signature file beside it, as a directory
// store does (assembleDocument): all at once, so the document costs one
// round trip however many files it has. A 404 on a signature file means the
// document has none of that kind; any other failure is an error.
func (s *HTTPStore) get(ctx context.Context, rel string) (Document, error) {
	type fetched struct {
		b   []byte
		err error
	}
	got := make(map[string]fetched, len(documentFiles))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, f := range documentFiles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := s.fetch(ctx, rel+f.suffix, f.max)
			mu.Lock()
			got[f.suffix] = fetched{b, err}
			mu.Unlock()
		}()
	}
	wg.Wait()
	return assembleDocument(s.base.ResolveReference(&url.URL{Path: rel}).String(), func(suffix string, _ int64) ([]byte, error) {
		return got[suffix].b, got[suffix].err
	})
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
