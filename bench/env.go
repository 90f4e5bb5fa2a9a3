package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/wellcomecollection/pin/internal/testenv"
)

// nginxMaxURI is the longest request line nginx accepts by default
// (large_client_header_buffers 4 8k); the proxy refuses longer ones, so a
// token request for too many repositories at once fails as it would there.
const nginxMaxURI = 8 << 10

// Credentials every tool presents to the proxy's token endpoint.
const (
	benchUser = "bench"
	benchPass = "bench-secret"
)

// env is one registry behind one proxy, seeded with repositories, and a
// home directory whose Docker config holds the proxy's credentials.
type env struct {
	Backend string // "docker-registry" or "in-memory"
	Addr    string // the proxy's 127.0.0.1:PORT, what the tools are given
	// Direct is the registry's own address, behind no proxy: where the
	// harness publishes what it then measures reading through the proxy.
	Direct string
	Home   string // HOME and DOCKER_CONFIG (Home/.docker) for the tools
	Proxy  *proxy
	// Refs are repo:tag references in the proxy's registry, Digests their
	// manifest digests as pushed.
	Refs    []string
	Digests map[string]string

	closers []func()
}

// Close stops the proxy and the registry.
func (e *env) Close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// Env returns the variables the tools run with: PATH from the harness, HOME
// and DOCKER_CONFIG from the environment's home.
func (e *env) Env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + e.Home,
		"DOCKER_CONFIG=" + filepath.Join(e.Home, ".docker"),
		"REGCTL_CONFIG=" + filepath.Join(e.Home, ".regctl", "config.json"),
	}
}

// newEnv starts a registry (docker-registry when inMemory is false), puts
// the proxy in front of it and pushes repos repositories with one tag each.
func newEnv(ctx context.Context, dir string, inMemory bool, delay time.Duration, auth bool, repos int) (*env, error) {
	e := &env{Home: filepath.Join(dir, "home"), Digests: map[string]string{}}
	ok := false
	defer func() {
		if !ok {
			e.Close()
		}
	}()
	var backend string
	if inMemory {
		e.Backend = "in-memory (go-containerregistry pkg/registry)"
		addr, stop, err := serve(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, stop)
		backend = addr
	} else {
		e.Backend = "docker-registry (distribution 2.8, filesystem storage)"
		addr, stop, err := testenv.StartRegistry(filepath.Join(dir, "registry"))
		if err != nil {
			return nil, err
		}
		e.closers = append(e.closers, stop)
		backend = addr
	}
	if err := seed(ctx, backend, repos, e); err != nil {
		return nil, err
	}
	p := newProxy(&url.URL{Scheme: "http", Host: backend}, delay, auth, benchUser, benchPass)
	p.maxURI = nginxMaxURI
	addr, stop, err := serve(p)
	if err != nil {
		return nil, err
	}
	e.closers = append(e.closers, stop)
	p.realm = "http://" + addr + tokenPath
	e.Proxy, e.Addr, e.Direct = p, addr, backend
	for i, r := range e.Refs { // the tools are given the proxy's address
		d := e.Digests[r]
		e.Refs[i] = addr + r[len(backend):]
		e.Digests[e.Refs[i]] = d
	}
	if err := writeDockerConfig(filepath.Join(e.Home, ".docker"), addr); err != nil {
		return nil, err
	}
	ok = true
	return e, nil
}

// serve runs h on a free loopback port.
func serve(h http.Handler) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen on loopback: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, MaxHeaderBytes: 4 << 20}
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String(), func() { _ = srv.Close() }, nil
}

// writeDockerConfig stores the bench credentials for addr, as `docker login` would.
func writeDockerConfig(dir, addr string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create docker config dir: %w", err)
	}
	cfg := map[string]any{"auths": map[string]any{
		addr: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(benchUser + ":" + benchPass))},
	}}
	b, _ := json.Marshal(cfg)
	return os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600)
}

// seed pushes n small images, bench/svc-NNNN:v1, straight to the registry
// (not through the proxy), each with its own layer and so its own digest.
func seed(ctx context.Context, addr string, n int, e *env) error {
	refs := make([]string, n)
	digests := make([]string, n)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error {
			ref, err := name.NewTag(fmt.Sprintf("%s/bench/svc-%04d:v1", addr, i))
			if err != nil {
				return err
			}
			layer := static.NewLayer([]byte(fmt.Sprintf("service %d\n", i)), types.OCILayer)
			img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1), layer)
			if err != nil {
				return err
			}
			if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
				return fmt.Errorf("seed %s: %w", ref, err)
			}
			d, err := img.Digest()
			if err != nil {
				return err
			}
			refs[i], digests[i] = ref.String(), d.String()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	e.Refs = refs
	for i, r := range refs {
		e.Digests[r] = digests[i]
	}
	return nil
}

// checkDigest reports whether got is the digest pushed for ref.
func (e *env) checkDigest(ref, got string) error {
	want, ok := e.Digests[ref]
	if !ok {
		return fmt.Errorf("%s was not seeded", ref)
	}
	if _, err := v1.NewHash(got); err != nil || got != want {
		return fmt.Errorf("%s resolved to %q, pushed as %s", ref, got, want)
	}
	return nil
}
