package registry

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/wellcomecollection/pin/internal/regular"
)

// ChallengeMaxAge is how long a remembered auth challenge is used before the
// registry is pinged again.
const ChallengeMaxAge = 24 * time.Hour

// WithChallengeCache remembers each registry's bearer auth challenge (its
// token realm and service: nothing secret; tokens and credentials are never
// written) in the JSON file at path, so that a later run fetches its token
// straight away instead of pinging /v2/ first: one round trip fewer. An
// entry is used for ChallengeMaxAge; a missing, unreadable or corrupt file
// is ignored, and a remembered challenge that no longer works (the token
// endpoint fails) falls back to the ping. An empty path turns it off.
// Within one Resolver or Client the challenge learnt from the first ping is
// reused for the host's other scopes whether or not a path is given.
func WithChallengeCache(path string) Option {
	return func(o *options) { o.challengePath = path }
}

// challengeEntry is what is remembered of one registry's challenge.
type challengeEntry struct {
	Realm    string    `json:"realm"`
	Service  string    `json:"service,omitempty"`
	Insecure bool      `json:"insecure,omitempty"`
	Seen     time.Time `json:"seen"`
}

type challengeFile struct {
	Registries map[string]challengeEntry `json:"registries"`
}

// challengeCache holds the challenges of one Resolver or Client, loaded
// from path on first use.
type challengeCache struct {
	path   string
	now    func() time.Time
	mu     sync.Mutex
	loaded bool
	m      map[string]challengeEntry
}

func newChallengeCache(path string) *challengeCache {
	return &challengeCache{path: path, now: time.Now, m: map[string]challengeEntry{}}
}

func (c *challengeCache) load() {
	if c.loaded {
		return
	}
	c.loaded = true
	if c.path == "" {
		return
	}
	b, err := regular.ReadFile(c.path, 1<<20)
	if err != nil {
		return
	}
	var f challengeFile
	if json.Unmarshal(b, &f) != nil {
		return // a corrupt cache is no cache
	}
	for k, v := range f.Registries {
		c.m[k] = v
	}
}

// get returns reg's remembered bearer challenge, if it is fresh and for the
// scheme go-containerregistry will use for reg's URLs.
func (c *challengeCache) get(reg name.Registry) (*transport.Challenge, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.load()
	e, ok := c.m[reg.RegistryStr()]
	if !ok || e.Realm == "" || e.Insecure != (reg.Scheme() == "http") {
		return nil, false
	}
	if age := c.now().Sub(e.Seen); age < 0 || age > ChallengeMaxAge {
		return nil, false
	}
	p := map[string]string{"realm": e.Realm}
	if e.Service != "" {
		p["service"] = e.Service
	}
	return &transport.Challenge{Scheme: "bearer", Parameters: p, Insecure: e.Insecure}, true
}

// put remembers reg's challenge (bearer ones only: the others need no token
// round trip to save) and writes the file. A write that fails is ignored.
func (c *challengeCache) put(reg name.Registry, ch *transport.Challenge) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.load()
	key := reg.RegistryStr()
	if ch == nil || !strings.EqualFold(ch.Scheme, "bearer") || ch.Parameters["realm"] == "" {
		if _, ok := c.m[key]; !ok {
			return
		}
		delete(c.m, key)
	} else {
		e := challengeEntry{Realm: ch.Parameters["realm"], Service: ch.Parameters["service"], Insecure: ch.Insecure, Seen: c.now()}
		if old, ok := c.m[key]; ok && old.Realm == e.Realm && old.Service == e.Service && old.Insecure == e.Insecure &&
			e.Seen.Sub(old.Seen) >= 0 && e.Seen.Sub(old.Seen) < time.Minute {
			return // the same answer to another ping of this run (one per token group)
		}
		c.m[key] = e
	}
	c.save()
}

// forget drops reg's entry, so that the next run pings it again.
func (c *challengeCache) forget(reg name.Registry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.load()
	if _, ok := c.m[reg.RegistryStr()]; !ok {
		return
	}
	delete(c.m, reg.RegistryStr())
	c.save()
}

// save writes the fresh entries atomically (a temporary file renamed over
// the old one); c.mu is held.
func (c *challengeCache) save() {
	if c.path == "" {
		return
	}
	f := challengeFile{Registries: map[string]challengeEntry{}}
	now := c.now()
	for k, v := range c.m {
		if age := now.Sub(v.Seen); age >= 0 && age <= ChallengeMaxAge {
			f.Registries[k] = v
		}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return
	}
	dir := filepath.Dir(c.path)
	if os.MkdirAll(dir, 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".challenges-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), c.path) != nil {
		os.Remove(tmp.Name())
	}
}

// forgetOn401 drops a registry's remembered challenge when the registry
// answers 401 to a request made with a token got from it: the token may be
// from a realm the registry no longer trusts, so the next run pings. (The
// bearer transport above still refreshes the token within this run.)
type forgetOn401 struct {
	next  http.RoundTripper
	reg   name.Registry
	cache *challengeCache
	once  sync.Once
}

func (t *forgetOn401) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && req.URL.Host == t.reg.RegistryStr() {
		t.once.Do(func() { t.cache.forget(t.reg) })
	}
	return resp, err
}
