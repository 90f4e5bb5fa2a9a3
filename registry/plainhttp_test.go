package registry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

// recordingTransport answers in place of the network: it records every
// request that got past pin's transport stack and answers https with a
// refused connection and http with a registry that asks for basic auth
// (or, for a token realm, a token), so that a request sent in clear would
// succeed if the guard let it through.
type recordingTransport struct {
	mu   sync.Mutex
	seen []*http.Request
	// realm, when set, makes the registry answer its ping with a bearer
	// challenge pointing at this URL.
	realm string
	// httpsUp answers https requests as well.
	httpsUp bool
	// redirect, when set, is where manifest requests are sent on.
	redirect string
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.seen = append(rt.seen, req)
	rt.mu.Unlock()
	if req.URL.Scheme == "https" && !rt.httpsUp {
		return nil, errors.New("dial tcp: connection refused")
	}
	h := http.Header{}
	status := http.StatusOK
	switch {
	case strings.HasSuffix(req.URL.Path, "/v2/") && rt.realm != "":
		h.Set("WWW-Authenticate", `Bearer realm="`+rt.realm+`",service="registry"`)
		status = http.StatusUnauthorized
	case strings.HasSuffix(req.URL.Path, "/v2/"):
		h.Set("WWW-Authenticate", `Basic realm="registry"`)
		status = http.StatusUnauthorized
	case strings.Contains(req.URL.Path, "/manifests/") && rt.redirect != "" && req.URL.Scheme == "https":
		h.Set("Location", rt.redirect)
		status = http.StatusTemporaryRedirect
	case strings.Contains(req.URL.Path, "/token"):
		h.Set("Content-Type", "application/json")
		return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(strings.NewReader(`{"token":"t"}`)), Request: req}, nil
	default:
		status = http.StatusNotFound
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

func (rt *recordingTransport) plain() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []string
	for _, r := range rt.seen {
		if r.URL.Scheme == "http" {
			out = append(out, r.URL.String()+" auth="+r.Header.Get("Authorization"))
		}
	}
	return out
}

type staticKeychain struct{}

func (staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: "ci", Password: "s3cret"}, nil
}

func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ref       string
		realm     string
		httpsUp   bool
		redirect  string
		allow     []string
		wantGuard bool // the request fails with a PlainHTTPError
		wantPlain bool // a plain-HTTP request reaches the network
	}{
		// go-containerregistry would ping an RFC 1918 host over http too.
		{name: "rfc1918 10/8", ref: "10.0.0.5:5000/storage/bag-verifier:latest", wantGuard: true},
		{name: "rfc1918 192.168/16", ref: "192.168.1.20/storage/bag-verifier:latest", wantGuard: true},
		{name: "rfc1918 172.16/12", ref: "172.16.4.4:5000/storage/bag-verifier:latest", wantGuard: true},
		// A registry on TLS whose token realm is plain HTTP elsewhere:
		// the credentials would travel in clear. (go-containerregistry
		// refuses this one itself; the row keeps it so.)
		{name: "http token realm", ref: "registry.example/storage/bag-verifier:latest", httpsUp: true,
			realm: "http://auth.example/token"},
		// A registry on TLS that redirects a manifest to plain HTTP.
		{name: "redirect to http", ref: "registry.example/storage/bag-verifier:latest", httpsUp: true,
			realm: "https://registry.example/token", redirect: "http://cdn.example/m", wantGuard: true},
		// The user named the host: allowed.
		{name: "allowed by WithPlainHTTP", ref: "10.0.0.5:5000/storage/bag-verifier:latest",
			allow: []string{"10.0.0.5:5000"}, wantPlain: true},
		// Loopback needs nothing.
		{name: "loopback", ref: "127.0.0.1:5000/storage/bag-verifier:latest", wantPlain: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := &recordingTransport{realm: tc.realm, httpsUp: tc.httpsUp, redirect: tc.redirect}
			r := NewResolver(WithTransport(rt), WithKeychain(staticKeychain{}), WithRetry(0, 1), WithPlainHTTP(tc.allow...))
			_, err := r.ResolveOne(context.Background(), tc.ref)
			if err == nil {
				t.Fatal("resolved against a registry that has no such manifest")
			}
			var pe *PlainHTTPError
			if got := errors.As(err, &pe); got != tc.wantGuard {
				t.Fatalf("PlainHTTPError = %v, want %v; err: %v", got, tc.wantGuard, err)
			}
			plain := rt.plain()
			if (len(plain) > 0) != tc.wantPlain {
				t.Fatalf("plain-HTTP requests that reached the network: %q, want any: %v", plain, tc.wantPlain)
			}
			for _, p := range plain {
				if strings.Contains(p, "s3cret") || (strings.Contains(p, "auth=Basic") && !tc.wantPlain) {
					t.Errorf("credentials sent in clear: %s", p)
				}
			}
		})
	}
}
