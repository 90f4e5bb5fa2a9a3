package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// fast keeps failing tests quick: short backoff, few attempts.
var fast = WithRetry(time.Millisecond, 3)

// newRegistry starts an in-memory registry on loopback and returns its host:port.
func newRegistry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return hostOf(t, srv)
}

func hostOf(t testing.TB, srv *httptest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// proxy starts a server that hands each request to h, with next proxying to target.
func proxy(t testing.TB, target string, h func(w http.ResponseWriter, r *http.Request, next http.Handler)) string {
	t.Helper()
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(w, r, rp) }))
	t.Cleanup(srv.Close)
	return hostOf(t, srv)
}

type seeded struct {
	image, index v1.Hash
	amd64, arm64 v1.Hash
}

// seed pushes an image to REPO:img and a two-platform index (plus an
// unknown/unknown attestation child) to REPO:idx.
func seed(t testing.TB, host, repo string) seeded {
	t.Helper()
	var s seeded
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	s.image, _ = img.Digest()
	ref, _ := name.ParseReference(host + "/" + repo + ":img")
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	var adds []mutate.IndexAddendum
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}, {OS: "unknown", Architecture: "unknown"}} {
		child, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := child.Digest()
		switch p.Architecture {
		case "amd64":
			s.amd64 = d
		case "arm64":
			s.arm64 = d
		}
		adds = append(adds, mutate.IndexAddendum{Add: child, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	s.index, _ = idx.Digest()
	iref, _ := name.ParseReference(host + "/" + repo + ":idx")
	if err := remote.WriteIndex(iref, idx); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestResolve(t *testing.T) {
	host := newRegistry(t)
	s := seed(t, host, "storage/bags_api")
	repo := host + "/storage/bags_api"
	refs := []string{
		repo + ":idx",
		repo + ":img",
		repo + "@" + s.image.String(),
		repo + ":img@" + s.image.String(),
		repo + ":nope",
		"NOT A REF",
	}
	for _, verified := range []bool{false, true} {
		t.Run(fmt.Sprintf("verified=%v", verified), func(t *testing.T) {
			arm := &v1.Platform{OS: "linux", Architecture: "arm64"}
			r := NewResolver(WithVerifiedDigests(verified), WithPlatform(arm), fast)
			var calls []int
			res := r.Resolve(context.Background(), refs, func(done, total int) {
				if total != len(refs) {
					t.Errorf("progress total %d, want %d", total, len(refs))
				}
				calls = append(calls, done)
			})
			if len(calls) != len(refs) || calls[len(calls)-1] != len(refs) {
				t.Errorf("progress calls %v", calls)
			}
			want := []struct {
				tag, digest, platformDigest string
				platforms                   []string
				err                         string
			}{
				{tag: "idx", digest: s.index.String(), platformDigest: s.arm64.String(), platforms: []string{"linux/amd64 " + s.amd64.String(), "linux/arm64/v8 " + s.arm64.String()}},
				{tag: "img", digest: s.image.String()},
				{digest: s.image.String()},
				{tag: "img", digest: s.image.String()},
				{tag: "nope", err: "resolve " + repo + ":nope: "},
				{err: "resolve NOT A REF: "},
			}
			for i, w := range want {
				got := res[i]
				if got.Ref != refs[i] {
					t.Errorf("%d: Ref %q, want %q", i, got.Ref, refs[i])
				}
				if w.err != "" {
					if got.Err == nil || !strings.HasPrefix(got.Err.Error(), w.err) {
						t.Errorf("%d: err %v, want prefix %q", i, got.Err, w.err)
					}
					continue
				}
				if got.Err != nil {
					t.Errorf("%d: %v", i, got.Err)
					continue
				}
				if got.Repository != repo || got.Tag != w.tag || got.Digest != w.digest || got.PlatformDigest != w.platformDigest {
					t.Errorf("%d: got %s %q %s %q, want %s %q %s %q", i, got.Repository, got.Tag, got.Digest, got.PlatformDigest, repo, w.tag, w.digest, w.platformDigest)
				}
				if got.MediaType == "" || got.Size <= 0 {
					t.Errorf("%d: mediaType %q size %d", i, got.MediaType, got.Size)
				}
				var ps []string
				for _, p := range got.Platforms {
					ps = append(ps, p.String()+" "+p.Digest)
				}
				if strings.Join(ps, ",") != strings.Join(w.platforms, ",") {
					t.Errorf("%d: platforms %v, want %v", i, ps, w.platforms)
				}
			}
			if !errors.Is(res[4].Err, ErrNotFound) {
				t.Errorf("missing tag: %v does not wrap ErrNotFound", res[4].Err)
			}
		})
	}
}

func TestResolvePlatformMissing(t *testing.T) {
	host := newRegistry(t)
	seed(t, host, "x")
	r := NewResolver(WithPlatform(&v1.Platform{OS: "windows", Architecture: "amd64"}), fast)
	_, err := r.ResolveOne(context.Background(), host+"/x:idx")
	if err == nil || !strings.Contains(err.Error(), "windows/amd64") {
		t.Fatalf("err = %v, want one naming windows/amd64", err)
	}
}

func TestResolveUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	r := NewResolver(fast)
	res := r.Resolve(context.Background(), []string{host + "/a:latest", host + "/b:latest"}, nil)
	for _, got := range res {
		if !errors.Is(got.Err, ErrUnreachable) {
			t.Fatalf("%s: err %v does not wrap ErrUnreachable", got.Ref, got.Err)
		}
		var ue *UnreachableError
		if !errors.As(got.Err, &ue) || ue.Host != host {
			t.Errorf("%s: err %v does not name host %s", got.Ref, got.Err, host)
		}
		if !strings.HasPrefix(got.Err.Error(), "resolve "+got.Ref+": registry "+host+" is unreachable") {
			t.Errorf("message %q", got.Err)
		}
	}
}

func TestRetry(t *testing.T) {
	host := newRegistry(t)
	s := seed(t, host, "x")
	tests := []struct {
		name       string
		status     int
		retryAfter string
		failures   int
		attempts   int
		wantErr    bool
		minElapsed time.Duration
	}{
		{name: "503 twice", status: 503, failures: 2, attempts: 3},
		{name: "429 with Retry-After", status: 429, retryAfter: "1", failures: 1, attempts: 3, minElapsed: time.Second},
		{name: "408", status: 408, failures: 1, attempts: 2},
		{name: "503 beyond attempts", status: 503, failures: 5, attempts: 3, wantErr: true},
		{name: "404 is not retried", status: 404, failures: 1, attempts: 3, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var manifestHits atomic.Int64
			p := proxy(t, host, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				if strings.Contains(r.URL.Path, "/manifests/") && manifestHits.Add(1) <= int64(tt.failures) {
					if tt.retryAfter != "" {
						w.Header().Set("Retry-After", tt.retryAfter)
					}
					http.Error(w, "try later", tt.status)
					return
				}
				next.ServeHTTP(w, r)
			})
			var mu sync.Mutex
			var told []Retry
			r := NewResolver(WithRetry(time.Millisecond, tt.attempts), WithRetryNotify(func(rt Retry) {
				mu.Lock()
				told = append(told, rt)
				mu.Unlock()
			}))
			start := time.Now()
			res, err := r.ResolveOne(context.Background(), p+"/x:img")
			// Every retry is announced, with the attempt, the host and the cause.
			wantTold := min(tt.failures, tt.attempts-1)
			if tt.status == 404 {
				wantTold = 0
			}
			if len(told) != wantTold {
				t.Errorf("told of %d retries, want %d: %+v", len(told), wantTold, told)
			}
			for i, rt := range told {
				if rt.Attempt != i+1 || rt.MaxAttempts != tt.attempts || rt.Host != strings.TrimPrefix(p, "http://") || !strings.Contains(rt.Cause, fmt.Sprint(tt.status)) {
					t.Errorf("retry %d: %+v", i, rt)
				}
			}
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest != s.image.String() {
				t.Errorf("digest %s, want %s", res.Digest, s.image)
			}
			if got := manifestHits.Load(); got != int64(tt.failures+1) {
				t.Errorf("%d manifest requests, want %d", got, tt.failures+1)
			}
			if st := r.Stats(); st.Manifests != int64(tt.failures+1) {
				t.Errorf("Stats().Manifests = %d, want %d", st.Manifests, tt.failures+1)
			}
			if el := time.Since(start); el < tt.minElapsed {
				t.Errorf("took %v, Retry-After asked for %v", el, tt.minElapsed)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"3", 3 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
	}
	for _, tt := range tests {
		got, ok := retryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTimeout(t *testing.T) {
	host := newRegistry(t)
	seed(t, host, "x")
	p := proxy(t, host, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		next.ServeHTTP(w, r)
	})
	r := NewResolver(WithTimeout(100*time.Millisecond), fast)
	start := time.Now()
	_, err := r.ResolveOne(context.Background(), p+"/x:img")
	if err == nil {
		t.Fatal("no error from a registry that never answers")
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("took %v with a 100ms timeout", el)
	}
}

func TestBoundedConcurrency(t *testing.T) {
	host := newRegistry(t)
	seed(t, host, "x")
	var inflight, peak atomic.Int64
	p := proxy(t, host, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		next.ServeHTTP(w, r)
	})
	refs := make([]string, 20)
	for i := range refs {
		refs[i] = p + "/x:img"
	}
	const jobs = 3
	r := NewResolver(WithJobs(jobs))
	for _, res := range r.Resolve(context.Background(), refs, nil) {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	if got := peak.Load(); got > jobs || got < 2 {
		t.Errorf("peak in-flight requests %d, want 2..%d", got, jobs)
	}
}

func TestVerifiedDigests(t *testing.T) {
	host := newRegistry(t)
	s := seed(t, host, "x")
	lie := "sha256:" + strings.Repeat("0", 64)
	p := proxy(t, host, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			w = &lyingWriter{ResponseWriter: w, digest: lie}
		}
		next.ServeHTTP(w, r)
	})
	// The cheap path trusts the header: this is why the producer verifies.
	cheap, err := NewResolver(WithVerifiedDigests(false)).ResolveOne(context.Background(), p+"/x:img")
	if err != nil || cheap.Digest != lie {
		t.Fatalf("HEAD path: %v, digest %s; want the header's %s", err, cheap.Digest, lie)
	}
	// The verified path hashes the body, and a header that disagrees is an
	// error naming the reference and the host, never a digest.
	res, err := NewResolver(WithVerifiedDigests(true), fast).ResolveOne(context.Background(), p+"/x:img")
	var dm *DigestMismatchError
	if !errors.As(err, &dm) || res.Digest != "" || !strings.Contains(err.Error(), "resolve "+p+"/x:img") || !strings.Contains(err.Error(), s.image.String()) {
		t.Fatalf("verified path with a lying header: %v, digest %q", err, res.Digest)
	}
}

type lyingWriter struct {
	http.ResponseWriter
	digest string
}

func (w *lyingWriter) WriteHeader(code int) {
	if w.Header().Get("Docker-Content-Digest") != "" {
		w.Header().Set("Docker-Content-Digest", w.digest)
	}
	w.ResponseWriter.WriteHeader(code)
}

// tokenServer puts bearer-token auth in front of the registry at host and
// counts token fetches.
func tokenServer(t testing.TB, host string) (string, *atomic.Int64) {
	t.Helper()
	var tokens atomic.Int64
	var self string
	var mu sync.Mutex
	p := proxy(t, host, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.URL.Path == "/token" {
			tokens.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"token":"secret-token"}`)
			return
		}
		if r.Header.Get("Authorization") != "Bearer secret-token" {
			mu.Lock()
			realm := "http://" + self + "/token"
			mu.Unlock()
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q,service="test"`, realm))
			http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"auth"}]}`, http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
	mu.Lock()
	self = p
	mu.Unlock()
	return p, &tokens
}

func TestOneTokenManyRepos(t *testing.T) {
	host := newRegistry(t)
	refs := make([]string, 20)
	for i := range refs {
		seed(t, host, fmt.Sprintf("ns/svc%d", i))
	}
	p, tokens := tokenServer(t, host)
	for i := range refs {
		refs[i] = fmt.Sprintf("%s/ns/svc%d:img", p, i)
	}
	r := NewResolver()
	for _, res := range r.Resolve(context.Background(), refs, nil) {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	st := r.Stats()
	if tokens.Load() != 1 || st.Tokens != 1 {
		t.Errorf("token fetches: server saw %d, Stats %d; want 1", tokens.Load(), st.Tokens)
	}
	if st.Manifests != 20 {
		t.Errorf("%d manifest requests for 20 image refs, want 20 (one HEAD each)", st.Manifests)
	}
	if r.Requests() != st.Total {
		t.Errorf("Requests() %d != Stats().Total %d", r.Requests(), st.Total)
	}
}

func TestDefaultKeychainECROnly(t *testing.T) {
	k := &ecrKeychain{}
	for _, h := range []string{"public.ecr.aws", "127.0.0.1:5000", "index.docker.io"} {
		reg, _ := name.NewRegistry(h)
		a, err := k.Resolve(reg)
		if err != nil {
			t.Fatal(err)
		}
		if k.kc != nil {
			t.Errorf("%s: the ECR helper was consulted for a non-ECR host", h)
		}
		if a == nil {
			t.Errorf("%s: nil authenticator", h)
		}
	}
	if !ecrHost.MatchString("123456789012.dkr.ecr.eu-west-2.amazonaws.com") {
		t.Error("private ECR host not recognised")
	}
}

// BenchmarkResolve20 resolves 20 references (18 repositories in one
// namespace, 2 in another) against the in-memory registry, with verified
// digests as the producer does.
func BenchmarkResolve20(b *testing.B) {
	host := newRegistry(b)
	var refs []string
	for i := 0; i < 18; i++ {
		repo := fmt.Sprintf("y1p3h6z3/svc%d", i)
		seed(b, host, repo)
		refs = append(refs, host+"/"+repo+":img")
	}
	for _, repo := range []string{"l7a1d1z4/fluentbit", "l7a1d1z4/nginx_apigw"} {
		seed(b, host, repo)
		refs = append(refs, host+"/"+repo+":idx")
	}
	b.ResetTimer()
	var reqs int64
	for i := 0; i < b.N; i++ {
		r := NewResolver(WithVerifiedDigests(true))
		for _, res := range r.Resolve(context.Background(), refs, nil) {
			if res.Err != nil {
				b.Fatal(res.Err)
			}
		}
		reqs = r.Requests()
	}
	b.ReportMetric(float64(reqs), "requests/op")
}
