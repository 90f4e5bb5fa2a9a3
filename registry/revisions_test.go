package registry

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/internal/testenv"
)

// pushLabelled pushes an image (or, given several revisions, an index) whose
// configs carry the revision labels given.
var pushLabelled = testenv.PushRevisionImage

func TestRevisions(t *testing.T) {
	if testenv.RevisionLabel != RevisionLabel {
		t.Fatalf("testenv labels images with %s, registry reads %s", testenv.RevisionLabel, RevisionLabel)
	}
	host := newRegistry(t)
	a, b := strings.Repeat("a", 40), strings.Repeat("b", 40)
	cases := []struct {
		repo     string
		revs     []string // pushed
		want     string   // "platform=rev,..." read back
		distinct string
	}{
		{"ns/image_a", []string{a}, "=" + a, a},
		{"ns/image_none", []string{""}, "=", ""},
		{"ns/index_a", []string{a, a}, "linux/amd64=" + a + ",linux/arm64=" + a, a},
		{"ns/index_mixed", []string{a, "", b}, "linux/amd64=" + a + ",linux/arm64=,linux/arm/v7=" + b, a + " " + b},
		{"ns/image_b", []string{b}, "=" + b, b},
	}
	var refs []string
	images := 0
	children := 0
	for _, c := range cases {
		pushLabelled(t, host+"/"+c.repo+":latest", c.revs...)
		refs = append(refs, host+"/"+c.repo+":latest")
		images += len(c.revs)
		if len(c.revs) > 1 {
			children += len(c.revs)
		}
	}
	refs = append(refs, host+"/ns/missing:latest")

	for _, verified := range []bool{true, false} {
		t.Run(fmt.Sprintf("verified=%v", verified), func(t *testing.T) {
			r := NewResolver(WithVerifiedDigests(verified), fast)
			results := r.Resolve(context.Background(), refs, nil)
			before := r.Stats()
			revs := r.Revisions(context.Background(), results)
			after := r.Stats()
			if len(revs) != len(refs) {
				t.Fatalf("%d results for %d refs", len(revs), len(refs))
			}
			for i, c := range cases {
				if revs[i].Err != nil {
					t.Fatalf("%s: %v", c.repo, revs[i].Err)
				}
				var got []string
				for _, im := range revs[i].Images {
					got = append(got, im.Platform+"="+im.Revision)
					if !strings.HasPrefix(im.Digest, "sha256:") {
						t.Errorf("%s: image digest %q", c.repo, im.Digest)
					}
				}
				if strings.Join(got, ",") != c.want {
					t.Errorf("%s: %s, want %s", c.repo, strings.Join(got, ","), c.want)
				}
				if d := strings.Join(revs[i].Distinct(), " "); d != c.distinct {
					t.Errorf("%s: distinct %q, want %q", c.repo, d, c.distinct)
				}
			}
			if last := revs[len(refs)-1]; last.Err != nil || last.Images != nil {
				t.Errorf("a result that failed to resolve was read: %+v", last)
			}
			// One config blob per image; a manifest only for index children,
			// and for image tags whose manifest the resolution did not fetch.
			imageTags := images - children
			wantManifests := int64(children)
			if !verified {
				wantManifests += int64(imageTags)
			}
			if got := after.Blobs - before.Blobs; got != int64(images) {
				t.Errorf("%d config requests, want %d (one per image)", got, images)
			}
			if got := after.Manifests - before.Manifests; got != wantManifests {
				t.Errorf("%d manifest requests, want %d", got, wantManifests)
			}
			if after.Pings != before.Pings || after.Tokens != before.Tokens {
				t.Errorf("reading labels authenticated again: %+v then %+v", before, after)
			}
		})
	}
}

func TestRevisionsRefusesTamperedConfig(t *testing.T) {
	host := newRegistry(t)
	pushLabelled(t, host+"/x:latest", strings.Repeat("a", 40))
	p := proxy(t, host, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if strings.Contains(r.URL.Path, "/blobs/") && r.Method == http.MethodGet {
			// Serve a config that claims another revision under the same digest.
			w.Header().Set("Content-Type", "application/octet-stream")
			fmt.Fprintf(w, `{"config":{"Labels":{%q:%q}}}`, RevisionLabel, strings.Repeat("e", 40))
			return
		}
		next.ServeHTTP(w, r)
	})
	r := NewResolver(WithVerifiedDigests(true), fast)
	results := r.Resolve(context.Background(), []string{p + "/x:latest"}, nil)
	revs := r.Revisions(context.Background(), results)
	if revs[0].Err == nil || !strings.Contains(revs[0].Err.Error(), RevisionLabel) {
		t.Fatalf("a config that does not hash to its digest was read: %+v", revs[0])
	}
	if strings.Contains(fmt.Sprint(revs[0].Images), strings.Repeat("e", 40)) {
		t.Fatal("the tampered revision was recorded")
	}
}

func TestConfirm(t *testing.T) {
	host := newRegistry(t)
	first := pushLabelled(t, host+"/ns/moves:latest", "")
	pushLabelled(t, host+"/ns/stays:latest", "", "")
	stayImg := pushLabelled(t, host+"/ns/pinned:latest", "")
	refs := []string{host + "/ns/moves:latest", host + "/ns/stays:latest", host + "/ns/pinned@" + stayImg.String()}
	r := NewResolver(WithVerifiedDigests(true), fast)
	results := r.Resolve(context.Background(), refs, nil)
	for _, res := range results {
		if res.Err != nil {
			t.Fatal(res.Err)
		}
	}

	moved, err := r.Confirm(context.Background(), results)
	if err != nil || len(moved) != 0 {
		t.Fatalf("nothing moved yet: %v %+v", err, moved)
	}

	second := pushLabelled(t, host+"/ns/moves:latest", "")
	pushLabelled(t, host+"/ns/pinned:latest", "") // a digest reference cannot move
	before := r.Stats()
	moved, err = r.Confirm(context.Background(), results)
	if err != nil {
		t.Fatal(err)
	}
	if len(moved) != 1 || moved[0].Index != 0 || moved[0].Ref != refs[0] || moved[0].Was != first.String() || moved[0].Now != second.String() {
		t.Fatalf("moved = %+v, want moves:latest %s -> %s", moved, first, second)
	}
	if got := r.Stats().Manifests - before.Manifests; got != 2 {
		t.Errorf("confirming 2 tags took %d manifest requests, want 2 HEADs", got)
	}
}

// TestConfirmAnswerChanges puts a proxy in front of the registry that gives
// a different digest for a tag from its second HEAD on, as a registry does
// when another job moves the tag in between.
func TestConfirmAnswerChanges(t *testing.T) {
	host := newRegistry(t)
	pushLabelled(t, host+"/x:latest", "")
	other := "sha256:" + strings.Repeat("1", 64)
	var heads atomic.Int64
	p := proxy(t, host, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, "/manifests/latest") && heads.Add(1) > 1 {
			w = &lyingWriter{ResponseWriter: w, digest: other}
		}
		next.ServeHTTP(w, r)
	})
	// Without verified digests the first resolution is a HEAD too.
	r := NewResolver(fast)
	results := r.Resolve(context.Background(), []string{p + "/x:latest"}, nil)
	if results[0].Err != nil {
		t.Fatal(results[0].Err)
	}
	moved, err := r.Confirm(context.Background(), results)
	if err != nil || len(moved) != 1 || moved[0].Now != other || moved[0].Was != results[0].Digest {
		t.Fatalf("moved = %+v (%v), want %s -> %s", moved, err, results[0].Digest, other)
	}
}

func TestConfirmFailures(t *testing.T) {
	host := newRegistry(t)
	pushLabelled(t, host+"/x:latest", "")
	var headOK atomic.Bool
	headOK.Store(true)
	var gets atomic.Int64
	p := proxy(t, host, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			if r.Method == http.MethodHead && !headOK.Load() {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			if r.Method == http.MethodGet {
				gets.Add(1)
			}
		}
		next.ServeHTTP(w, r)
	})
	r := NewResolver(fast)
	results := r.Resolve(context.Background(), []string{p + "/x:latest"}, nil)
	// HEAD refused: confirm by GET.
	headOK.Store(false)
	moved, err := r.Confirm(context.Background(), results)
	if err != nil || len(moved) != 0 || gets.Load() != 1 {
		t.Fatalf("HEAD unsupported: %v %+v after %d GETs", err, moved, gets.Load())
	}
	// The tag disappears: that is an error naming it, not a silent pass.
	gone := []Result{results[0]}
	gone[0].Ref = p + "/x:deleted"
	if _, err := r.Confirm(context.Background(), gone); err == nil || !strings.Contains(err.Error(), "x:deleted") {
		t.Fatalf("a tag that no longer resolves: %v", err)
	}
}

// BenchmarkRevisions20 reads the revision labels of 20 components (every
// third a two-platform index, as the storage service's tests seed them)
// after a verified resolution, and confirms the 20 tags: the work release
// create adds to a resolution.
func BenchmarkRevisions20(b *testing.B) {
	host := newRegistry(b)
	var refs []string
	for i := 0; i < 20; i++ {
		ref := fmt.Sprintf("%s/ns/svc%d:latest", host, i)
		if i%3 == 0 {
			pushLabelled(b, ref, "r", "r")
		} else {
			pushLabelled(b, ref, "r")
		}
		refs = append(refs, ref)
	}
	r := NewResolver(WithVerifiedDigests(true))
	results := r.Resolve(context.Background(), refs, nil)
	before := r.Stats()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, rv := range r.Revisions(context.Background(), results) {
			if rv.Err != nil || len(rv.Distinct()) != 1 {
				b.Fatal(rv)
			}
		}
		if moved, err := r.Confirm(context.Background(), results); err != nil || len(moved) != 0 {
			b.Fatal(moved, err)
		}
	}
	b.StopTimer()
	after := r.Stats()
	b.ReportMetric(float64(after.Total-before.Total)/float64(b.N), "requests/op")
}

// delayTransport adds a fixed latency to every request, as a registry a
// continent away does.
type delayTransport struct {
	next  http.RoundTripper
	delay time.Duration
}

func (d delayTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(d.delay)
	return d.next.RoundTrip(r)
}

// BenchmarkRevisions20Latency is BenchmarkRevisions20 with 10ms added to
// every request: the wall-clock cost is a few round trips, not 61.
func BenchmarkRevisions20Latency(b *testing.B) {
	host := newRegistry(b)
	var refs []string
	for i := 0; i < 20; i++ {
		ref := fmt.Sprintf("%s/ns/svc%d:latest", host, i)
		if i%3 == 0 {
			pushLabelled(b, ref, "r", "r")
		} else {
			pushLabelled(b, ref, "r")
		}
		refs = append(refs, ref)
	}
	r := NewResolver(WithVerifiedDigests(true), WithTransport(delayTransport{next: http.DefaultTransport, delay: 10 * time.Millisecond}))
	results := r.Resolve(context.Background(), refs, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, rv := range r.Revisions(context.Background(), results) {
			if rv.Err != nil {
				b.Fatal(rv.Err)
			}
		}
		if _, err := r.Confirm(context.Background(), results); err != nil {
			b.Fatal(err)
		}
	}
}
