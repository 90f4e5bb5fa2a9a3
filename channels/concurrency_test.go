package channels_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
	"github.com/wellcomecollection/pin/signing"
)

// leaseTiming is the lease timing every publisher of one test shares: the
// soundness argument needs one settle time for all.
var leaseTiming = channels.LeaseTiming{Settle: 250 * time.Millisecond, Lease: 30 * time.Second, Poll: 20 * time.Millisecond}

// storeKinds makes a fresh store of each kind; each call to open gives a new
// instance on the same location, as a second process would have.
var storeKinds = []struct {
	name string
	make func(t *testing.T) (open func() channels.Store)
}{
	{"directory", func(t *testing.T) func() channels.Store {
		dir := filepath.Join(t.TempDir(), "store")
		return func() channels.Store { return channels.NewDirStore(dir) }
	}},
	{"oci in-memory", func(t *testing.T) func() channels.Store { return ociOpener(t, ociRegistry(t)) }},
	{"oci docker-registry", func(t *testing.T) func() channels.Store { return ociOpener(t, testenv.Registry(t)) }},
}

func ociOpener(t *testing.T, host string) func() channels.Store {
	return func() channels.Store {
		st, err := channels.NewOCIStore(host+"/storage-service-releases", channels.WithLeaseTiming(leaseTiming))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
}

func concRelease(version string) *manifest.Release {
	return &manifest.Release{
		SchemaVersion: manifest.SchemaVersion, Kind: manifest.KindRelease, Product: "storage-service", Version: version,
		Source: manifest.Source{Repository: "https://github.com/wellcomecollection/storage-service"},
		Components: []manifest.Component{{Name: "bags_api", Repository: "public.ecr.aws/y1p3h6z3/bags_api", Tag: "latest",
			Digest: manifest.Digest([]byte("bags" + version)), MediaType: "application/vnd.oci.image.manifest.v1+json"}},
	}
}

// history records every channel index anyone saw, by sequence.
type history struct {
	mu    sync.Mutex
	bySeq map[int64]string // sequence -> digest of the index bytes
	errs  []string
}

func (h *history) see(who string, b []byte) {
	idx, err := manifest.DecodeChannel(b, manifest.Expect{})
	if err != nil {
		return // a directory reader can race a rename; only whole documents count
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	d := manifest.Digest(b)
	if prev, ok := h.bySeq[idx.Sequence]; ok && prev != d {
		h.errs = append(h.errs, fmt.Sprintf("%s: sequence %d published twice with different bytes (%s and %s)", who, idx.Sequence, prev, d))
	}
	h.bySeq[idx.Sequence] = d
}

// TestConcurrentCreates publishes releases from several publishers (each with
// its own store instance, as separate processes would have) at once on one
// channel, many times, on a directory store and on OCI stores (the in-memory
// registry and docker-registry 2.8). While they run, a reader polls the
// channel like a consumer would. The sequence must never repeat with other
// bytes nor go down, every publisher must either succeed or fail with a
// conflict and succeed on retry, and the final index must list every
// release exactly once at sequence = number of releases.
func TestConcurrentCreates(t *testing.T) {
	signer, _ := ociKey(t)
	ctx := context.Background()
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			trials, publishers := 8, 3
			if kind.name != "directory" {
				trials = 3 // each lease costs a settle time
			}
			for trial := 0; trial < trials; trial++ {
				open := kind.make(t)
				h := &history{bySeq: map[int64]string{}}
				stop := make(chan struct{})
				var readers sync.WaitGroup
				readers.Add(1)
				go func() {
					defer readers.Done()
					rd := open()
					for {
						select {
						case <-stop:
							return
						default:
						}
						if doc, err := rd.GetChannel(ctx, "stable"); err == nil {
							h.see("reader", doc.Bytes)
						}
						time.Sleep(5 * time.Millisecond)
					}
				}()
				var wg sync.WaitGroup
				results := make([]*channels.Published, publishers)
				conflicts := make([]int, publishers)
				errs := make([]error, publishers)
				for i := 0; i < publishers; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						p := &channels.Publisher{Store: open(), Signer: signer, Product: "storage-service", Now: time.Now, LockWait: time.Minute}
						for attempt := 0; attempt < 5; attempt++ {
							results[i], errs[i] = p.Create(ctx, concRelease(fmt.Sprintf("1.%d.0", i)), "stable", time.Hour)
							if !errors.Is(errs[i], channels.ErrConflict) {
								return
							}
							conflicts[i]++
						}
					}()
				}
				wg.Wait()
				close(stop)
				readers.Wait()
				seqs := map[int64]bool{}
				for i, r := range results {
					if errs[i] != nil {
						t.Fatalf("trial %d: publisher %d: %v", trial, i, errs[i])
					}
					h.see(fmt.Sprintf("publisher %d", i), mustEncode(t, r.Channel))
					seqs[r.Channel.Sequence] = true
				}
				final, err := open().GetChannel(ctx, "stable")
				if err != nil {
					t.Fatal(err)
				}
				h.see("final", final.Bytes)
				idx, _ := manifest.DecodeChannel(final.Bytes, manifest.Expect{})
				if idx.Sequence != int64(publishers) || len(idx.Releases) != publishers || len(seqs) != publishers {
					t.Errorf("trial %d: final index at sequence %d lists %d releases; publishers got %d distinct sequences; want %d each",
						trial, idx.Sequence, len(idx.Releases), len(seqs), publishers)
				}
				for _, e := range h.errs {
					t.Errorf("trial %d: %s", trial, e)
				}
				if trial == 0 {
					t.Logf("%s: %d publishers at once, conflicts retried: %v; sequences seen by the reader: %d", kind.name, publishers, conflicts, len(h.bySeq))
				}
			}
		})
	}
}

func mustEncode(t *testing.T, c *manifest.Channel) []byte {
	t.Helper()
	b, err := c.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestConcurrentCreateSameVersion races two publishers creating one version.
// With different content exactly one succeeds and the other is told the
// version exists; with the same content (a CI job and its rerun) both
// succeed and one reports it changed nothing. Either way the index lists the
// version once at sequence 1.
func TestConcurrentCreateSameVersion(t *testing.T) {
	signer, _ := ociKey(t)
	ctx := context.Background()
	for _, content := range []struct {
		name                 string
		sameContent          bool
		wantOK, wantRefusals int
	}{
		{"different content", false, 1, 1},
		{"same content", true, 2, 0},
	} {
		for _, kind := range storeKinds {
			t.Run(content.name+"/"+kind.name, func(t *testing.T) {
				open := kind.make(t)
				errs := make([]error, 2)
				outs := make([]*channels.Published, 2)
				var wg sync.WaitGroup
				for i := range errs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rel := concRelease("2.0.0")
						if !content.sameContent && i == 1 {
							rel.Components[0].Digest = manifest.Digest([]byte("other bags"))
						}
						p := &channels.Publisher{Store: open(), Signer: signer, Product: "storage-service", Now: time.Now, LockWait: time.Minute}
						outs[i], errs[i] = p.Create(ctx, rel, "stable", time.Hour)
					}()
				}
				wg.Wait()
				ok, exists, unchanged := 0, 0, 0
				for i, err := range errs {
					switch {
					case err == nil:
						ok++
						if outs[i].Unchanged {
							unchanged++
						}
					case strings.Contains(err.Error(), "already exists"):
						exists++
					default:
						t.Errorf("unexpected error: %v", err)
					}
				}
				if ok != content.wantOK || exists != content.wantRefusals {
					t.Fatalf("%d succeeded and %d were told 2.0.0 exists (errors %v), want %d and %d", ok, exists, errs, content.wantOK, content.wantRefusals)
				}
				if unchanged != ok-1 {
					t.Fatalf("%d of %d successes said they changed nothing, want %d", unchanged, ok, ok-1)
				}
				doc, err := open().GetChannel(ctx, "stable")
				if err != nil {
					t.Fatal(err)
				}
				idx, _ := manifest.DecodeChannel(doc.Bytes, manifest.Expect{})
				if idx.Sequence != 1 || len(idx.Releases) != 1 {
					t.Errorf("index at sequence %d lists %d releases, want 1 and 1", idx.Sequence, len(idx.Releases))
				}
			})
		}
	}
}

// TestPublishLockTimeout holds a store's publishing lock while a publisher
// tries to create: it fails with a conflict that says to retry, writes
// nothing, and the retry after the holder is done succeeds.
func TestPublishLockTimeout(t *testing.T) {
	signer, _ := ociKey(t)
	ctx := context.Background()
	for _, kind := range storeKinds[:2] {
		t.Run(kind.name, func(t *testing.T) {
			open := kind.make(t)
			release, err := open().(channels.PublishLocker).LockPublishing(ctx, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			var told []string
			p := &channels.Publisher{Store: open(), Signer: signer, Product: "storage-service", Now: time.Now, LockWait: 300 * time.Millisecond,
				Waiting: func(holder string) { told = append(told, holder) }}
			_, err = p.Create(ctx, concRelease("1.0.0"), "stable", time.Hour)
			if !errors.Is(err, channels.ErrConflict) || !strings.Contains(err.Error(), "retry") {
				t.Fatalf("create while another holds the lock: %v, want a conflict saying to retry", err)
			}
			if pid := fmt.Sprintf("pid %d", os.Getpid()); len(told) != 1 || !strings.HasPrefix(told[0], pid) {
				t.Errorf("Waiting was told %q, want once, naming %s", told, pid)
			}
			if _, err := open().GetRelease(ctx, "1.0.0"); !channels.IsNotFound(err) {
				t.Errorf("the refused create wrote release 1.0.0 (%v)", err)
			}
			if err := release(); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Create(ctx, concRelease("1.0.0"), "stable", time.Hour); err != nil {
				t.Fatalf("retry after the holder released: %v", err)
			}
		})
	}
}

// TestAbandonedLeaseIsTaken: a publisher killed while holding the OCI lease
// never releases it; the next waits out the lease (as it observes it, by its
// own clock) and proceeds.
func TestAbandonedLeaseIsTaken(t *testing.T) {
	ctx := context.Background()
	host := ociRegistry(t)
	short := leaseTiming
	short.Lease = 600 * time.Millisecond
	killed, err := channels.NewOCIStore(host+"/storage-service-releases", channels.WithLeaseTiming(short))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := killed.LockPublishing(ctx, 0, nil); err != nil { // never released
		t.Fatal(err)
	}
	next := ociOpener(t, host)().(*channels.OCIStore)
	start := time.Now()
	release, err := next.LockPublishing(ctx, 10*time.Second, nil)
	if err != nil {
		t.Fatalf("lease abandoned by a killed publisher was not taken: %v", err)
	}
	defer release()
	if waited := time.Since(start); waited < short.Lease {
		t.Errorf("took an unexpired lease after %s (lease %s)", waited, short.Lease)
	}
}

// TestLostLeaseStopsPublishing: a publisher whose lease was taken while it
// worked refuses to move the channel tag.
func TestLostLeaseStopsPublishing(t *testing.T) {
	ctx := context.Background()
	signer, _ := ociKey(t)
	host := ociRegistry(t)
	open := ociOpener(t, host)
	st := open().(*channels.OCIStore)
	p := &channels.Publisher{Store: st, Signer: signer, Product: "storage-service", Now: time.Now}
	if _, err := p.Create(ctx, concRelease("1.0.0"), "stable", time.Hour); err != nil {
		t.Fatal(err)
	}
	release, err := st.LockPublishing(ctx, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	// Another publisher overwrites the lease, as one that judged it abandoned would.
	repo, _ := name.NewRepository(host + "/storage-service-releases")
	foreign := `{"nonce":"0123","holder":"pid 1 on elsewhere","leaseMs":60000}`
	if _, err := registry.NewClient().PushArtifact(ctx, repo, channels.LeaseTag, channels.LeaseMediaType, []byte(foreign), nil); err != nil {
		t.Fatal(err)
	}
	err = st.PutChannel(ctx, "stable", signedDoc(t, signer, `{}`))
	if !errors.Is(err, channels.ErrConflict) || !strings.Contains(err.Error(), "taken by pid 1 on elsewhere") {
		t.Fatalf("PutChannel after the lease was taken: %v, want a conflict naming the new holder", err)
	}
}

// racingStore writes another index right after each PutChannel, as a
// publisher that ignores the lock (an older pin) would.
type racingStore struct {
	channels.Store
	signer *signing.Signer
}

func (r racingStore) PutChannel(ctx context.Context, channel string, doc channels.Document) error {
	if err := r.Store.PutChannel(ctx, channel, doc); err != nil {
		return err
	}
	idx, err := manifest.DecodeChannel(doc.Bytes, manifest.Expect{})
	if err != nil {
		return err
	}
	idx.Releases = append(idx.Releases, manifest.Entry{Version: "9.9.9", Digest: manifest.Digest([]byte("x")), Created: idx.Issued})
	b, err := idx.Encode()
	if err != nil {
		return err
	}
	sig, _ := r.signer.SignBlob(ctx, b)
	return r.Store.PutChannel(ctx, channel, channels.Document{Bytes: b, Signature: sig})
}

// TestCreateDetectsLostUpdate: when the index read back after publishing is
// not the one written, the publisher reports a conflict naming the sequence
// and the release that took it.
func TestCreateDetectsLostUpdate(t *testing.T) {
	signer, _ := ociKey(t)
	ctx := context.Background()
	st := racingStore{Store: channels.NewDirStore(t.TempDir()), signer: signer}
	p := &channels.Publisher{Store: st, Signer: signer, Product: "storage-service", Now: time.Now}
	_, err := p.Create(ctx, concRelease("1.0.0"), "stable", time.Hour)
	want := "channel stable changed while publishing (sequence 1 taken by 9.9.9)"
	if !errors.Is(err, channels.ErrConflict) || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want a conflict containing %q", err, want)
	}
}

// TestSlowRegistryRefusesLease: when reading and pushing the lease takes
// longer than the settle time, a racing publisher cannot be ruled out, so
// the lease is never taken: a conflict that says why, and the lease it
// pushed is released for the next publisher.
func TestSlowRegistryRefusesLease(t *testing.T) {
	ctx := context.Background()
	host := ociRegistry(t)
	slow, err := channels.NewOCIStore(host+"/storage-service-releases", channels.WithLeaseTiming(channels.LeaseTiming{Settle: time.Microsecond, Lease: time.Minute, Poll: 20 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = slow.LockPublishing(ctx, 200*time.Millisecond, nil)
	if !errors.Is(err, channels.ErrConflict) || !strings.Contains(err.Error(), "over the 1µs settle time") {
		t.Fatalf("err = %v, want a conflict blaming the settle time", err)
	}
	release, err := ociOpener(t, host)().(channels.PublishLocker).LockPublishing(ctx, 0, nil)
	if err != nil {
		t.Fatalf("the next publisher could not take the lease at once: %v", err)
	}
	release()
}
