package registry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/testenv"
)

// faultCase is one fault injected in front of a registry and what pin must
// make of it.
type faultCase struct {
	name  string
	match func(*http.Request) bool
	times int // how many requests get the fault; -1: all
	fault testenv.Fault
	opts  []Option
	// want is "" when the operation must succeed (with the right digest), or
	// a fragment of the error it must fail with.
	want string
	// attempts is how many requests must have been faulted (0: not checked).
	attempts int64
	// minElapsed and maxElapsed bound how long the operation may take.
	minElapsed, maxElapsed time.Duration
}

// registryFaults are the faults of issue 7, for the verified resolver (the
// producer's path: `pin resolve --verified`, `pin release create`). Three
// attempts, 1ms backoff, unless a case says otherwise.
func registryFaults() []faultCase {
	getManifest := testenv.Manifests(http.MethodGet, "")
	return []faultCase{
		{name: "500 once", match: getManifest, times: 1, fault: testenv.Status(500), attempts: 1},
		{name: "502 twice", match: getManifest, times: 2, fault: testenv.Status(502), attempts: 2},
		{name: "503 always", match: getManifest, times: -1, fault: testenv.Status(503), want: "injected 503", attempts: 3},
		{name: "429 Retry-After seconds", match: getManifest, times: 1, fault: testenv.Status(429, "Retry-After", "1"), attempts: 1, minElapsed: time.Second},
		{name: "429 Retry-After HTTP date", match: getManifest, times: 1, fault: testenv.TooManyRequestsUntil(2 * time.Second), attempts: 1, minElapsed: 900 * time.Millisecond},
		{name: "429 Retry-After capped", match: getManifest, times: 1, fault: testenv.Status(429, "Retry-After", "3600"), opts: []Option{WithMaxRetryWait(50 * time.Millisecond)}, attempts: 1, maxElapsed: 5 * time.Second},
		{name: "429 always", match: getManifest, times: -1, fault: testenv.Status(429, "Retry-After", "0"), want: "injected 429", attempts: 3},
		{name: "reset mid-body once", match: getManifest, times: 1, fault: testenv.ResetMidBody(), attempts: 1},
		{name: "reset mid-body always", match: getManifest, times: -1, fault: testenv.ResetMidBody(), want: "connection reset", attempts: 3},
		{name: "truncated body once", match: getManifest, times: 1, fault: testenv.TruncateBody(), attempts: 1},
		{name: "truncated body always", match: getManifest, times: -1, fault: testenv.TruncateBody(), want: "unexpected EOF", attempts: 3},
		{name: "slow body once", match: getManifest, times: 1, fault: testenv.SlowBody(5 * time.Second), opts: []Option{WithTimeout(300 * time.Millisecond)}, attempts: 1, maxElapsed: 3 * time.Second},
		{name: "slow body always", match: getManifest, times: -1, fault: testenv.SlowBody(time.Minute), opts: []Option{WithTimeout(300 * time.Millisecond)}, want: "within 300ms (the per-request timeout)", attempts: 3, maxElapsed: 5 * time.Second},
		{name: "digest header mismatch once", match: getManifest, times: 1, fault: testenv.DigestHeader("sha256:" + strings.Repeat("0", 64)), attempts: 1},
		{name: "digest header mismatch always", match: getManifest, times: -1, fault: testenv.DigestHeader("sha256:" + strings.Repeat("0", 64)), want: "Docker-Content-Digest header says sha256:0000", attempts: 3},
	}
}

func TestRegistryFaultsResolve(t *testing.T) {
	host := newRegistry(t)
	s := seed(t, host, "storage/bags_api")
	for _, tc := range registryFaults() {
		t.Run(tc.name, func(t *testing.T) {
			p := testenv.NewFaultProxy(t, host)
			p.Inject(tc.match, tc.times, tc.fault)
			ref := p.Host + "/storage/bags_api:img"
			r := NewResolver(append([]Option{WithVerifiedDigests(true), fast}, tc.opts...)...)
			start := time.Now()
			res, err := r.ResolveOne(context.Background(), ref)
			checkFault(t, tc, p, ref, start, err)
			if tc.want == "" && res.Digest != s.image.String() {
				t.Fatalf("digest %s, want %s", res.Digest, s.image)
			}
			if tc.want != "" && res.Digest != "" {
				t.Fatalf("a failed resolve reported digest %s", res.Digest)
			}
		})
	}
}

// checkFault asserts the outcome of one fault case: success, or an error
// naming the reference and the host, classified operational (exit 1); the
// number of faulted attempts; the time taken.
func checkFault(t *testing.T, tc faultCase, p *testenv.FaultProxy, ref string, start time.Time, err error) {
	t.Helper()
	el := time.Since(start)
	t.Logf("%d faulted attempts, %v, err: %v", p.Injected.Load(), el.Round(time.Millisecond), err)
	if tc.want == "" && err != nil {
		t.Fatalf("a fault a retry can get past failed: %v", err)
	}
	if tc.want != "" {
		if err == nil {
			t.Fatal("no error")
		}
		for _, w := range []string{tc.want, ref, p.Host} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error does not contain %q: %v", w, err)
			}
		}
		if exitcode.Of(err) != exitcode.Operational {
			t.Errorf("exit %d, want 1: %v", exitcode.Of(err), err)
		}
	}
	if tc.attempts > 0 && p.Injected.Load() != tc.attempts {
		t.Errorf("%d faulted attempts, want %d", p.Injected.Load(), tc.attempts)
	}
	if el < tc.minElapsed {
		t.Errorf("took %v, want at least %v (Retry-After not honoured)", el, tc.minElapsed)
	}
	if tc.maxElapsed > 0 && el > tc.maxElapsed {
		t.Errorf("took %v, want at most %v", el, tc.maxElapsed)
	}
}

// TestRegistryFaultsPullArtifact: the consumer's path (an OCI release
// store) meets the same faults when it fetches a release document.
func TestRegistryFaultsPullArtifact(t *testing.T) {
	host := newRegistry(t)
	repo, _ := name.NewRepository(host + "/releases")
	data := []byte(`{"kind":"Release"}`)
	if _, err := NewClient().PushArtifact(context.Background(), repo, "1.0.0", "application/vnd.test+json", data, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range registryFaults() {
		t.Run(tc.name, func(t *testing.T) {
			p := testenv.NewFaultProxy(t, host)
			p.Inject(tc.match, tc.times, tc.fault)
			ref, _ := name.ParseReference(p.Host + "/releases:1.0.0")
			c := NewClient(append([]Option{fast}, tc.opts...)...)
			start := time.Now()
			got, _, _, err := c.PullArtifact(context.Background(), ref, 1<<20)
			checkFault(t, tc, p, ref.String(), start, err)
			if tc.want == "" && string(got) != string(data) {
				t.Fatalf("pulled %q, want %q", got, data)
			}
		})
	}
	// Faults in the layer (blob) download are retried too.
	t.Run("blob reset once", func(t *testing.T) {
		p := testenv.NewFaultProxy(t, host)
		p.Inject(testenv.Blobs(), 1, testenv.ResetMidBody())
		ref, _ := name.ParseReference(p.Host + "/releases:1.0.0")
		got, _, _, err := NewClient(fast).PullArtifact(context.Background(), ref, 1<<20)
		if err != nil || string(got) != string(data) || p.Injected.Load() != 1 {
			t.Fatalf("pull with one reset blob download: %v, %q, %d faults", err, got, p.Injected.Load())
		}
	})
}

// TestManifestOtherThanAsked: a registry that answers a request by digest
// with another manifest (headers consistent with it) is refused, by the
// resolver and by the client, naming the reference and the host.
func TestManifestOtherThanAsked(t *testing.T) {
	host := newRegistry(t)
	s := seed(t, host, "x")
	p := testenv.NewFaultProxy(t, host)
	p.Inject(testenv.Manifests("", s.image.String()), -1, testenv.ServeInstead("idx"))
	byDigest := p.Host + "/x@" + s.image.String()
	for _, verified := range []bool{false, true} {
		_, err := NewResolver(WithVerifiedDigests(verified), fast).ResolveOne(context.Background(), byDigest)
		if !servesOtherBytes(err, s.image.String()) || !strings.Contains(err.Error(), p.Host) {
			t.Errorf("verified=%v: resolve by digest served another manifest: %v", verified, err)
		}
	}
	// An index's GET by the digest its HEAD gave: the body must be that index.
	p.Clear()
	p.Inject(testenv.Manifests(http.MethodGet, s.index.String()), -1, testenv.ServeInstead("img"))
	if _, err := NewResolver(fast).ResolveOne(context.Background(), p.Host+"/x:idx"); !servesOtherBytes(err, s.index.String()) {
		t.Errorf("index fetched by digest, another manifest served: %v", err)
	}
	// Exists HEADs by digest: the answer must carry that digest.
	p.Clear()
	p.Inject(testenv.Manifests("", s.image.String()), -1, testenv.ServeInstead("idx"))
	if ok, err := NewClient(fast).Exists(context.Background(), mustRef(t, byDigest)); err == nil || ok {
		t.Errorf("Exists by digest, another manifest served: %v, %v", ok, err)
	}
}

// servesOtherBytes reports whether err says the registry served other bytes
// for a manifest asked for by digest asked.
func servesOtherBytes(err error, asked string) bool {
	var dm *DigestMismatchError
	return errors.As(err, &dm) && dm.Requested == asked && strings.Contains(err.Error(), "serves other bytes under that digest")
}

// TestEndlessManifest: a manifest body that never ends is cut off at the
// cap, refused, and classified a trust failure for a release store (exit 3);
// the resolver refuses it as well, after reading at most a few MiB.
func TestEndlessManifest(t *testing.T) {
	host := newRegistry(t)
	seed(t, host, "x")
	repo, _ := name.NewRepository(host + "/releases")
	if _, err := NewClient().PushArtifact(context.Background(), repo, "1.0.0", "application/vnd.test+json", []byte("{}"), nil); err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	p := testenv.NewFaultProxy(t, host)
	p.Inject(testenv.Manifests(http.MethodGet, ""), -1, testenv.Endless(&sent))

	_, _, _, err := NewClient(fast).PullArtifact(context.Background(), mustRef(t, p.Host+"/releases:1.0.0"), 1<<20)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != maxArtifactManifest || exitcode.Of(err) != exitcode.Trust || !strings.Contains(err.Error(), p.Host) {
		t.Fatalf("endless artifact manifest: %v (exit %d), want a TooLargeError at %d bytes, exit 3", err, exitcode.Of(err), maxArtifactManifest)
	}
	if p.Injected.Load() != 1 {
		t.Errorf("an over-cap manifest was fetched %d times; it must not be retried", p.Injected.Load())
	}

	sent.Store(0)
	_, err = NewResolver(WithVerifiedDigests(true), fast).ResolveOne(context.Background(), p.Host+"/x:img")
	if !errors.As(err, &tl) || tl.Limit != MaxManifestSize {
		t.Fatalf("endless manifest to the resolver: %v", err)
	}
	// What went out before the client hung up: the cap plus what sat in
	// socket buffers, far from go-containerregistry's 100 MiB.
	t.Logf("the endless body was cut off after the proxy wrote %d bytes (cap %d)", sent.Load(), MaxManifestSize)
	if n := sent.Load(); n > 4*MaxManifestSize {
		t.Errorf("the proxy wrote %d bytes before the client gave up", n)
	}
}

// TestRegistryFaultsRealRegistry runs a few faults in front of Debian's
// docker-registry (distribution 2.8), whose answers differ from the
// in-memory registry's in headers and framing.
func TestRegistryFaultsRealRegistry(t *testing.T) {
	host := testenv.Registry(t)
	want := testenv.PushRandomImage(t, host+"/storage/bags_api:latest", 2)
	for _, tc := range registryFaults() {
		switch tc.name {
		case "503 always", "reset mid-body once", "truncated body always", "slow body always", "digest header mismatch always", "429 Retry-After HTTP date":
		default:
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			p := testenv.NewFaultProxy(t, host)
			p.Inject(tc.match, tc.times, tc.fault)
			ref := p.Host + "/storage/bags_api:latest"
			r := NewResolver(append([]Option{WithVerifiedDigests(true), fast}, tc.opts...)...)
			start := time.Now()
			res, err := r.ResolveOne(context.Background(), ref)
			checkFault(t, tc, p, ref, start, err)
			if tc.want == "" && res.Digest != want.String() {
				t.Fatalf("digest %s, want %s", res.Digest, want)
			}
		})
	}
}
