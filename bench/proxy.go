package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// tokenPath is where the proxy's own token endpoint answers.
const tokenPath = "/token"

// proxy stands between the tools and a registry on loopback. Every request
// waits delay first (a round trip to a distant registry), is counted, and,
// when bearer auth is on, must carry a token from the proxy's own token
// endpoint that grants pull on the repository it names, as Docker Hub and ECR
// Public do. The token endpoint takes Basic credentials and any number of
// scope parameters (each possibly space-separated) in one GET, or the OAuth2
// form POST; one token can cover many repositories.
type proxy struct {
	backend *httputil.ReverseProxy
	delay   time.Duration
	auth    bool   // require bearer tokens
	user    string // Basic credentials the token endpoint accepts
	pass    string
	realm   string // http://ADDR/token, set once the proxy listens
	// maxURI, when not 0, refuses longer request targets with 414, as
	// nginx does beyond its default 8 KB request line.
	maxURI int

	requests atomic.Int64 // every request, token fetches included
	tokens   atomic.Int64 // token fetches
	denied   atomic.Int64 // 401 answers
	inFlight atomic.Int64 // requests being answered now
	peak     atomic.Int64 // the most requests answered at once

	mu     sync.Mutex
	grants map[string]map[string]bool // token -> repositories it may pull
}

func newProxy(backend *url.URL, delay time.Duration, auth bool, user, pass string) *proxy {
	rp := httputil.NewSingleHostReverseProxy(backend)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
	return &proxy{backend: rp, delay: delay, auth: auth, user: user, pass: pass, grants: map[string]map[string]bool{}}
}

// counts is what one measured run cost.
type counts struct{ requests, tokens, denied, peak int64 }

func (p *proxy) reset() {
	p.requests.Store(0)
	p.tokens.Store(0)
	p.denied.Store(0)
	p.peak.Store(0)
}

func (p *proxy) counts() counts {
	return counts{requests: p.requests.Load(), tokens: p.tokens.Load(), denied: p.denied.Load(), peak: p.peak.Load()}
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	n := p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	for {
		if old := p.peak.Load(); n <= old || p.peak.CompareAndSwap(old, n) {
			break
		}
	}
	if p.delay > 0 {
		t := time.NewTimer(p.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if p.maxURI > 0 && len(r.RequestURI) > p.maxURI {
		http.Error(w, "request URI too long", http.StatusRequestURITooLong)
		return
	}
	if r.URL.Path == tokenPath {
		p.tokens.Add(1)
		p.token(w, r)
		return
	}
	if p.auth && !p.allowed(r) {
		p.denied.Add(1)
		challenge := `Bearer realm="` + p.realm + `",service="bench"`
		if repo := repository(r.URL.Path); repo != "" {
			challenge += `,scope="repository:` + repo + `:pull"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
		return
	}
	r.Header.Del("Authorization")
	p.backend.ServeHTTP(w, r)
}

// allowed reports whether r carries a token that grants what it asks: any
// token for GET /v2/, pull on the repository for everything below it. Only
// reads are benchmarked, so only pull is granted.
func (p *proxy) allowed(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	p.mu.Lock()
	g, ok := p.grants[tok]
	p.mu.Unlock()
	if !ok {
		return false
	}
	repo := repository(r.URL.Path)
	if repo == "" {
		return r.URL.Path == "/v2/" || r.URL.Path == "/v2"
	}
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && g[repo]
}

// repository returns the repository a /v2/NAME/{manifests,blobs,tags}/...
// path names, or "".
func repository(path string) string {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return ""
	}
	for _, kind := range []string{"/manifests/", "/blobs/", "/tags/"} {
		if i := strings.LastIndex(rest, kind); i > 0 {
			return rest[:i]
		}
	}
	return ""
}

// token issues a bearer token for every repository:NAME:...pull... scope
// asked for, to a client presenting the proxy's Basic credentials.
func (p *proxy) token(w http.ResponseWriter, r *http.Request) {
	var scopes []string
	user, pass, ok := r.BasicAuth()
	switch r.Method {
	case http.MethodGet:
		scopes = r.URL.Query()["scope"]
	case http.MethodPost: // OAuth2 password grant, as some clients try first
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		scopes = r.PostForm["scope"]
		if !ok {
			user, pass, ok = r.PostForm.Get("username"), r.PostForm.Get("password"), r.PostForm.Get("grant_type") == "password"
		}
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !ok || user != p.user || pass != p.pass {
		p.denied.Add(1)
		w.Header().Set("WWW-Authenticate", `Basic realm="bench"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`, http.StatusUnauthorized)
		return
	}
	grant := map[string]bool{}
	for _, s := range scopes {
		for _, one := range strings.Fields(s) {
			parts := strings.Split(one, ":")
			if len(parts) < 3 || parts[0] != "repository" {
				continue
			}
			name := strings.Join(parts[1:len(parts)-1], ":")
			for _, a := range strings.Split(parts[len(parts)-1], ",") {
				if a == "pull" || a == "*" {
					grant[name] = true
				}
			}
		}
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	p.mu.Lock()
	p.grants[tok] = grant
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"token": tok, "access_token": tok, "expires_in": 300, "issued_at": time.Now().UTC().Format(time.RFC3339),
	})
}
