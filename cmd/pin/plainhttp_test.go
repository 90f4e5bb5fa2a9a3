package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestPlainHTTPRedirectRefused: a registry (here on loopback) that sends a
// manifest request on to plain HTTP on another host is refused before
// anything is dialled there: exit 2, the host named, and the hint says how
// to allow it on purpose.
func TestPlainHTTPRedirectRefused(t *testing.T) {
	t.Parallel()
	var manifests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.WriteHeader(http.StatusOK)
		case strings.Contains(r.URL.Path, "/manifests/"):
			manifests.Add(1)
			http.Redirect(w, r, "http://cdn.example:8080/m", http.StatusTemporaryRedirect)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	r := runPin(t, "", env{"PIN_REGISTRY_ATTEMPTS": "1", "PIN_NO_CHALLENGE_CACHE": "1"}, "resolve", host+"/storage/bag-verifier:latest")
	if r.code != 2 || !strings.Contains(r.err, "refusing plain HTTP to cdn.example:8080") ||
		!strings.Contains(r.err, "PIN_REGISTRY_PLAIN_HTTP=cdn.example:8080") {
		t.Fatalf("redirect to plain HTTP off loopback: exit %d\n%s", r.code, r.err)
	}
	if manifests.Load() == 0 {
		t.Fatal("the registry was never asked: the test proves nothing")
	}
}
