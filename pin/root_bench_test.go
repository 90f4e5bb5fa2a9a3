package pin

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/trustroot"
)

// rootProbeDelay is what the benchmark's registry adds to every request,
// as the bench harness's proxy does (30 ms: a registry across a region).
const rootProbeDelay = 30 * time.Millisecond

// BenchmarkUpdateRootProbe measures a `pin update` that changes nothing on an
// OCI store in go-containerregistry's registry with 30 ms per request, for a
// consumer with a plain keys: list on a store without a root (before), and one
// whose root is current (after): the difference is the probe for root N+1.
// It reports requests per update.
func BenchmarkUpdateRootProbe(b *testing.B) {
	for _, mode := range []string{"keys, no root", "root, current"} {
		b.Run(mode, func(b *testing.B) {
			var requests atomic.Int64
			var slow atomic.Bool // the delay applies to measured runs only
			reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				if slow.Load() {
					time.Sleep(rootProbeDelay)
				}
				reg.ServeHTTP(w, r)
			}))
			b.Cleanup(srv.Close)
			store, err := channels.NewOCIStore("oci://" + strings.TrimPrefix(srv.URL, "http://") + "/releases")
			if err != nil {
				b.Fatal(err)
			}
			f := newFixture(b)
			f.pub.Store = store
			f.release("1.5.0", channels.Stable, "a")
			f.write("infra/main.tf", demoTF)
			opts := InitOptions{Path: filepath.Join(f.dir, "pin.yaml"), Source: store.String(), Channel: channels.Stable, Now: f.clk.Now, Store: store}
			if mode == "keys, no root" {
				opts.KeyFile = f.pubPath
			} else {
				r := trustroot.NewRoot("storage-service", t0.Add(365*24*time.Hour))
				pem, _ := f.signer.PublicKeyPEM()
				for _, role := range []string{manifest.RoleRoot, manifest.RoleRelease, manifest.RoleIndex} {
					if _, err := trustroot.AddKey(r, role, pem); err != nil {
						b.Fatal(err)
					}
				}
				rb, _ := r.Encode()
				s, err := trustroot.Sign(context.Background(), f.signer, trustroot.Signed{Bytes: rb})
				if err != nil {
					b.Fatal(err)
				}
				if err := store.PutRoot(context.Background(), 1, s); err != nil {
					b.Fatal(err)
				}
				opts.RootSHA256 = strings.TrimPrefix(manifest.Digest(rb), "sha256:")
			}
			cfg, err := Init(context.Background(), opts)
			if err != nil {
				b.Fatal(err)
			}
			update := func() {
				plan, err := PlanUpdate(context.Background(), cfg, UpdateOptions{Now: f.clk.Now, Store: store})
				if err != nil {
					b.Fatal(err)
				}
				if err := plan.Apply(); err != nil {
					b.Fatal(err)
				}
			}
			update() // the first run pins; the measured ones change nothing
			requests.Store(0)
			slow.Store(true)
			b.ResetTimer()
			for b.Loop() {
				update()
			}
			b.ReportMetric(float64(requests.Load())/float64(b.N), "requests/op")
		})
	}
}
