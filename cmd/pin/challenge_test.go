package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestResolveRemembersChallenge: pin resolve remembers a bearer registry's
// challenge under $XDG_CACHE_HOME/pin, so the second run fetches its token
// without pinging; PIN_NO_CHALLENGE_CACHE=1 pings every time and writes
// nothing; a cache that names a realm the registry has left falls back to
// the ping and still resolves.
func TestResolveRemembersChallenge(t *testing.T) {
	t.Parallel()
	upstream := memRegistry(t)
	seed(t, upstream, services[:2])
	var pings, tokens atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: upstream})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			tokens.Add(1)
			fmt.Fprint(w, `{"token":"tok"}`)
			return
		case r.URL.Path == "/v2/":
			pings.Add(1)
		}
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, r.Host))
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"auth"}]}`, http.StatusUnauthorized)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	refs := []string{serviceRepo(host, services[0]) + ":latest", serviceRepo(host, services[1]) + ":latest"}
	cacheFile := func(xdg string) string { return filepath.Join(xdg, "pin", "challenges.json") }

	xdg := t.TempDir()
	for _, tc := range []struct {
		name         string
		env          env
		prepare      func()
		pings, token int64
	}{
		{"first run", nil, func() {}, 1, 1},
		{"second run", nil, func() {}, 0, 1},
		{"cache off", env{"PIN_NO_CHALLENGE_CACHE": "1"}, func() {}, 1, 1},
		{"realm moved", nil, func() {
			b, _ := os.ReadFile(cacheFile(xdg))
			os.WriteFile(cacheFile(xdg), []byte(strings.ReplaceAll(string(b), "/token", "/old-token")), 0o644)
		}, 1, 1},
		{"after the move", nil, func() {}, 0, 1},
	} {
		tc.prepare()
		pings.Store(0)
		tokens.Store(0)
		r := runPinCache(t, "", filepath.Join(xdg, "pin"), tc.env, append([]string{"resolve"}, refs...)...).mustSucceed(t, tc.name)
		if n := strings.Count(r.out, " sha256:"); n != len(refs) {
			t.Errorf("%s: %d digests in\n%s", tc.name, n, r.out)
		}
		if pings.Load() != tc.pings || tokens.Load() != tc.token {
			t.Errorf("%s: %d pings and %d token fetches, want %d and %d", tc.name, pings.Load(), tokens.Load(), tc.pings, tc.token)
		}
	}
	b, err := os.ReadFile(cacheFile(xdg))
	if err != nil || !strings.Contains(string(b), "http://"+host+"/token") || strings.Contains(string(b), "tok\"") {
		t.Errorf("challenge cache: %s %v, want %s's realm and no token", b, err, host)
	}

	off := t.TempDir()
	runPinCache(t, "", filepath.Join(off, "pin"), env{"PIN_NO_CHALLENGE_CACHE": "1"}, append([]string{"resolve"}, refs...)...).mustSucceed(t, "cache off")
	if _, err := os.Stat(cacheFile(off)); !os.IsNotExist(err) {
		t.Errorf("PIN_NO_CHALLENGE_CACHE=1 wrote %s (%v)", cacheFile(off), err)
	}
}
