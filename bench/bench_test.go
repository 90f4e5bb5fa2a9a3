package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/registry"
)

// newTestEnv seeds repos repositories in the in-memory registry behind a
// proxy that demands bearer tokens, and points DOCKER_CONFIG at its credentials.
func newTestEnv(t *testing.T, repos int, delay time.Duration) *env {
	t.Helper()
	e, err := newEnv(context.Background(), t.TempDir(), true, delay, true, repos)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	t.Setenv("DOCKER_CONFIG", filepath.Join(e.Home, ".docker"))
	return e
}

// TestResolverAgainstProxy checks, with the proxy's own counters, that pin's
// Resolver pings once, fetches one token for every repository and then sends
// one HEAD per reference, and gets the digests that were pushed.
func TestResolverAgainstProxy(t *testing.T) {
	for _, n := range []int{1, 7, 60} {
		e := newTestEnv(t, n, 0)
		res := registry.NewResolver().Resolve(context.Background(), e.Refs, nil)
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("%d refs: %v", n, r.Err)
			}
			if err := e.checkDigest(r.Ref, r.Digest); err != nil {
				t.Fatalf("%d refs: %v", n, err)
			}
		}
		got := e.Proxy.counts()
		want := counts{requests: int64(n) + 2, tokens: 1, denied: 1}
		if got.peak = 0; got != want {
			t.Errorf("%d refs: proxy counted %+v, want %+v (one ping answered 401, one token, one HEAD each)", n, got, want)
		}
	}
}

// TestResolverTokenPerGroup checks that a host with more repositories than
// one token request can name (the proxy, like nginx, refuses request lines
// over 8 KB) gets one token per group of them, and every reference resolves.
func TestResolverTokenPerGroup(t *testing.T) {
	const n = 400
	e := newTestEnv(t, n, 0)
	q := url.Values{}
	for _, r := range e.Refs {
		q.Add("scope", "repository:"+strings.TrimPrefix(strings.TrimSuffix(r, ":v1"), e.Addr+"/")+":pull")
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+e.Addr+tokenPath+"?"+q.Encode(), nil)
	req.SetBasicAuth(benchUser, benchPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestURITooLong {
		t.Fatalf("one token request for %d repositories: %s, want 414 (the test needs more repositories)", n, resp.Status)
	}
	e.Proxy.reset()

	resolver := registry.NewResolver()
	results := resolver.Resolve(context.Background(), e.Refs, nil)
	for _, r := range results {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		if err := e.checkDigest(r.Ref, r.Digest); err != nil {
			t.Fatal(err)
		}
	}
	got := e.Proxy.counts()
	// The groups authenticate concurrently: a group that starts after
	// another has remembered the host's challenge skips its ping, so there
	// is one ping per host at least and one per token at most.
	pings := got.requests - int64(n) - got.tokens
	if got.tokens < 2 || got.tokens > 4 || pings < 1 || pings > got.tokens || got.denied != pings {
		t.Errorf("proxy counted %+v: want 2 to 4 tokens (6 KB of scopes each), 1 to one ping per token (each answered 401) and %d HEADs", got, n)
	}

	// Confirming the tags (release create does, before signing) reuses the
	// groups' tokens: no token request naming every repository (a 414).
	e.Proxy.reset()
	moved, err := resolver.Confirm(context.Background(), results)
	if err != nil || len(moved) != 0 {
		t.Fatalf("Confirm after Resolve: moved %v, %v", moved, err)
	}
	if c := e.Proxy.counts(); c.tokens != 0 || c.requests != n {
		t.Errorf("Confirm: proxy counted %+v, want %d HEADs and no token", c, n)
	}
}

// TestResolverFansOut checks that 20 references cost three round trips
// (ping, token, then every HEAD at once): with 100 ms per request the proxy
// must see all 20 HEADs in flight together (16 with the old default of 16
// jobs), whatever the machine's load.
func TestResolverFansOut(t *testing.T) {
	e := newTestEnv(t, 20, 100*time.Millisecond)
	for _, r := range registry.NewResolver().Resolve(context.Background(), e.Refs, nil) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if c := e.Proxy.counts(); c.peak != 20 {
		t.Errorf("at most %d of the 20 HEADs were in flight at once (%+v), want all 20", c.peak, c)
	}
}

// TestProxyTokens checks the proxy's auth: several scope parameters in one
// request, a token that grants only what it names, and bad credentials.
func TestProxyTokens(t *testing.T) {
	e := newTestEnv(t, 3, 0)
	repo := func(i int) string { return strings.TrimPrefix(strings.Split(e.Refs[i], ":v1")[0], e.Addr+"/") }
	token := func(user, pass string, scopes ...string) (string, int) {
		q := url.Values{"service": {"bench"}, "scope": scopes}
		req, _ := http.NewRequest(http.MethodGet, "http://"+e.Addr+tokenPath+"?"+q.Encode(), nil)
		req.SetBasicAuth(user, pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct{ Token string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return body.Token, resp.StatusCode
	}
	head := func(tok string, i int) int {
		req, _ := http.NewRequest(http.MethodHead, "http://"+e.Addr+"/v2/"+repo(i)+"/manifests/v1", nil)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	if _, code := token(benchUser, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("token with a wrong password: %d, want 401", code)
	}
	tok, code := token(benchUser, benchPass, "repository:"+repo(0)+":pull", "repository:"+repo(1)+":pull,push")
	if code != http.StatusOK || tok == "" {
		t.Fatalf("token: %d %q", code, tok)
	}
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusUnauthorized} {
		if got := head(tok, i); got != want {
			t.Errorf("HEAD %s with a token for repositories 0 and 1: %d, want %d", repo(i), got, want)
		}
	}
	if got := head("", 0); got != http.StatusUnauthorized {
		t.Errorf("HEAD without a token: %d, want 401", got)
	}
	if c := e.Proxy.counts(); c.tokens != 2 || c.requests != 6 {
		t.Errorf("proxy counted %+v, want 6 requests of which 2 token fetches", c)
	}
}

// TestHarnessSmoke runs the whole harness with tiny numbers, without crane
// and regctl, against the in-memory registry and against docker-registry:
// it builds pin, resolves through the proxy, checks the digests pin prints,
// and writes the report into a copy of BENCHMARKS.md's markers.
func TestHarnessSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pin: not in -short mode")
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	pin, err := buildPin(context.Background(), root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var rep *report
	for _, inMemory := range []bool{true, false} {
		if !inMemory && testenv.RegistryBinary() == "" {
			if os.Getenv(testenv.IntegrationEnv) == "1" {
				t.Fatal("docker-registry not installed (PIN_INTEGRATION=1: a failure, not a skip)")
			}
			t.Log("docker-registry not installed: only the in-memory registry was tried")
			continue
		}
		c := config{Delay: 5 * time.Millisecond, Runs: 1, Sizes: []int{3}, InMemory: inMemory, Auth: true, Root: root, Pin: pin, StartRuns: 1, MaxURI: nginxMaxURI, Update: true}
		var log strings.Builder
		if rep, err = benchmark(context.Background(), c, &log); err != nil {
			t.Fatalf("in-memory %v: %v\n%s", inMemory, err, log.String())
		}
		p, ok := rep.find("pin resolve", 3)
		if !ok {
			t.Fatal("no pin resolve result")
		}
		// pin update reads the store through the proxy: a root that is
		// current costs at most the probe for the next version.
		if len(rep.Update) != 2 {
			t.Fatalf("%s: %d pin update results, want keys and root", rep.Backend, len(rep.Update))
		}
		keys, root := rep.Update[0].last(), rep.Update[1].last()
		if keys.requests < 3 || root.requests > keys.requests+1 || root.tokens != 1 {
			t.Errorf("%s: pin update requests: keys %+v, root %+v; want the root to cost at most one more, one token", rep.Backend, keys, root)
		}
		// The measured runs remember the challenge the warm-up run got:
		// no ping. The cold runs ping.
		if n := p.last(); n.requests != 4 || n.tokens != 1 || n.denied != 0 {
			t.Errorf("%s: pin resolve of 3 refs: proxy counted %+v, want 4 requests, 1 token, no challenge", rep.Backend, n)
		}
		if x, ok := rep.find(coldTool, 3); !ok {
			t.Error("no cold pin resolve result")
		} else if n := x.last(); n.requests != 5 || n.tokens != 1 || n.denied != 1 {
			t.Errorf("%s: cold pin resolve of 3 refs: proxy counted %+v, want 5 requests, 1 token, 1 challenge", rep.Backend, n)
		}
		if _, err := os.Stat(timeBinary); err == nil && (p.RSS < 1<<20 || p.RSS > 200<<20) {
			t.Errorf("pin resolve of 3 refs: peak RSS %d bytes", p.RSS)
		}
		if rep.BinarySize < 1<<20 || rep.Startup.median() <= 0 {
			t.Errorf("binary size %d, start-up %s", rep.BinarySize, rep.Startup.median())
		}
	}

	md := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	os.WriteFile(md, []byte("# before\n\n"+beginMarker+"\nold\n"+endMarker+"\n\n## after\n"), 0o644)
	if err := writeSection(md, rep.markdown()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(md)
	s := string(b)
	for _, want := range []string{"# before\n", "| pin resolve | 3 |", "`pin version` ≤ 15 ms", "## after\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("BENCHMARKS.md lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "\nold\n") || strings.Count(s, beginMarker) != 1 {
		t.Errorf("section not replaced:\n%s", s)
	}
}

// TestResolverChallengeCache checks, with the proxy's counters, that a
// remembered challenge saves the ping (token, then one HEAD per reference),
// that the cache holds no token or credential, and that a stale, expired or
// corrupt cache costs only the ping it would have cost anyway: every run
// resolves every reference.
func TestResolverChallengeCache(t *testing.T) {
	const n = 7
	e := newTestEnv(t, n, 0)
	path := filepath.Join(t.TempDir(), "pin", "challenges.json")
	cold := counts{requests: n + 2, tokens: 1, denied: 1} // ping (401), token, HEADs
	warm := counts{requests: n + 1, tokens: 1}            // token, HEADs
	realm := "http://" + e.Addr + tokenPath
	entry := func(realm string, seen time.Time) func(t *testing.T) {
		return func(t *testing.T) {
			b, _ := json.Marshal(map[string]any{"registries": map[string]any{e.Addr: map[string]any{
				"realm": realm, "service": "bench", "insecure": true, "seen": seen}}})
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T)
		want    counts
	}{
		{"no cache file", func(*testing.T) {}, cold},
		{"remembered", func(*testing.T) {}, warm},
		{"remembered again", func(*testing.T) {}, warm},
		// The old realm answers 401 (one more request, denied), then the ping.
		{"realm moved", entry("http://"+e.Addr+"/old-token", time.Now()), counts{requests: n + 3, tokens: 1, denied: 2}},
		{"after the move", func(*testing.T) {}, warm},
		{"realm on another host", entry("http://127.0.0.1:1/token", time.Now()), cold},
		{"expired", entry(realm, time.Now().Add(-25*time.Hour)), cold},
		{"seen in the future", entry(realm, time.Now().Add(time.Hour)), cold},
		{"corrupt", func(t *testing.T) { os.WriteFile(path, []byte(`{"registries": {`), 0o644) }, cold},
		{"after the corrupt file", func(*testing.T) {}, warm},
		{"unreadable (a directory)", func(t *testing.T) { os.Remove(path); os.Mkdir(path, 0o755) }, cold},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.prepare(t)
			e.Proxy.reset()
			for _, r := range registry.NewResolver(registry.WithChallengeCache(path)).Resolve(context.Background(), e.Refs, nil) {
				if r.Err != nil {
					t.Fatal(r.Err)
				}
				if err := e.checkDigest(r.Ref, r.Digest); err != nil {
					t.Fatal(err)
				}
			}
			got := e.Proxy.counts()
			if got.peak = 0; got != tc.want {
				t.Errorf("proxy counted %+v, want %+v", got, tc.want)
			}
		})
	}

	// What is on disk: the realm, the service and when they were seen.
	os.Remove(path)
	registry.NewResolver(registry.WithChallengeCache(path)).Resolve(context.Background(), e.Refs[:1], nil)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Registries map[string]map[string]any `json:"registries"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	got := f.Registries[e.Addr]
	if len(f.Registries) != 1 || got["realm"] != realm || got["service"] != "bench" || got["insecure"] != true || len(got) != 4 {
		t.Errorf("cache file holds %s, want only %s's realm %s, service, insecure and seen", b, e.Addr, realm)
	}
	if strings.Contains(string(b), benchPass) || strings.Contains(strings.ToLower(string(b)), "bearer") {
		t.Errorf("cache file holds a credential or a token: %s", b)
	}
}
