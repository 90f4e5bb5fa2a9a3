package registry

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// TestChallengeCacheRules checks which remembered challenges are used: only
// fresh bearer ones for the scheme the registry's name implies.
func TestChallengeCacheRules(t *testing.T) {
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	local, _ := name.NewRegistry("127.0.0.1:5000")        // http
	remote, _ := name.NewRegistry("registry.example.org") // https
	bearer := func(realm string, insecure bool) *transport.Challenge {
		return &transport.Challenge{Scheme: "Bearer", Parameters: map[string]string{"realm": realm, "service": "s", "scope": "repository:a:pull"}, Insecure: insecure}
	}
	for _, tc := range []struct {
		name string
		reg  name.Registry
		put  *transport.Challenge
		age  time.Duration
		want bool
	}{
		{"bearer, http registry", local, bearer("http://127.0.0.1:5000/token", true), time.Hour, true},
		{"bearer, https registry", remote, bearer("https://auth.example.org/token", false), 0, true},
		{"answered over https though the name implies http", local, bearer("https://127.0.0.1:5000/token", false), 0, false},
		{"answered over http though the name implies https", remote, bearer("http://auth.example.org/token", true), 0, false},
		{"older than a day", remote, bearer("https://auth.example.org/token", false), ChallengeMaxAge + time.Minute, false},
		{"seen in the future", remote, bearer("https://auth.example.org/token", false), -time.Minute, false},
		{"basic", remote, &transport.Challenge{Scheme: "Basic", Parameters: map[string]string{"realm": "x"}}, 0, false},
		{"anonymous", remote, &transport.Challenge{}, 0, false},
		{"bearer without a realm", remote, &transport.Challenge{Scheme: "bearer"}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.json")
			c := newChallengeCache(path)
			c.now = func() time.Time { return now }
			c.put(tc.reg, tc.put)
			// A new cache reads the file, as the next run would.
			c2 := newChallengeCache(path)
			c2.now = func() time.Time { return now.Add(tc.age) }
			got, ok := c2.get(tc.reg)
			if ok != tc.want {
				t.Fatalf("get: %v, want %v", ok, tc.want)
			}
			if ok && (got.Parameters["realm"] != tc.put.Parameters["realm"] || got.Parameters["service"] != "s" || got.Insecure != tc.put.Insecure || got.Parameters["scope"] != "") {
				t.Errorf("got %+v for %+v (scope is per request: not remembered)", got, tc.put)
			}
		})
	}
}

// TestChallengeCacheForgetOn401 checks that a registry refusing a token got
// from a remembered challenge drops it, so that the next run pings.
func TestChallengeCacheForgetOn401(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/denied") {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	reg, _ := name.NewRegistry(strings.TrimPrefix(srv.URL, "http://"))
	path := filepath.Join(t.TempDir(), "c.json")
	c := newChallengeCache(path)
	c.put(reg, &transport.Challenge{Scheme: "bearer", Parameters: map[string]string{"realm": srv.URL + "/token"}, Insecure: true})
	rt := &forgetOn401{next: http.DefaultTransport, reg: reg, cache: c}
	for _, p := range []string{"/v2/a/manifests/ok", "/v2/a/manifests/denied"} {
		req, _ := http.NewRequest(http.MethodHead, srv.URL+p, nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, ok := newChallengeCache(path).get(reg)
		if want := !strings.HasSuffix(p, "denied"); ok != want {
			t.Errorf("after %s: remembered %v, want %v", p, ok, want)
		}
	}
	if b, err := os.ReadFile(path); err != nil || strings.Contains(string(b), "realm") {
		t.Errorf("cache file after the 401: %s %v", b, err)
	}
}
