package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/wellcomecollection/pin/internal/testenv"
)

// services are the storage service's 18 applications and 2 sidecars.
var services = append(append([]string{}, demoApps...), demoSidecars...)

// pinRun is one pin invocation's result.
type pinRun struct {
	out, err string
	code     int
}

// env is the environment a test invocation sees.
type env map[string]string

// runPin runs pin with args in dir, through the same run function main uses,
// with streams in buffers and no terminal.
func runPin(t *testing.T, dir string, e env, args ...string) pinRun {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{In: strings.NewReader(""), Out: &out, Err: &errb,
		LookupEnv: func(k string) (string, bool) { v, ok := e[k]; return v, ok },
		Now:       time.Now,
	}
	if dir != "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chdir(dir); err != nil {
			t.Fatal(err)
		}
		defer os.Chdir(wd)
	}
	code := run(context.Background(), a, args)
	return pinRun{out: out.String(), err: errb.String(), code: code}
}

func (r pinRun) mustSucceed(t *testing.T, what string) pinRun {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", what, r.code, r.out, r.err)
	}
	return r
}

// memRegistry starts go-containerregistry's in-memory registry on 127.0.0.1.
func memRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// seed pushes latest for every service (every third a two-platform index).
func seed(t *testing.T, host string, svcs []string) {
	t.Helper()
	for i, s := range svcs {
		platforms := 1
		if i%3 == 0 {
			platforms = 2
		}
		testenv.PushRandomImage(t, serviceRepo(host, s)+":latest", platforms)
	}
}

func serviceRepo(host, svc string) string {
	for _, s := range demoSidecars {
		if s == svc {
			return host + "/l7a1d1z4/" + svc
		}
	}
	return host + "/y1p3h6z3/" + svc
}

// writeReleaseConfig writes release.yaml for all services into dir.
func writeReleaseConfig(t *testing.T, dir, host, store string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "product: storage-service\nsource: https://github.com/wellcomecollection/storage-service\nstore: %s\n", store)
	b.WriteString("channels:\n  edge: {ttl: 168h}\n  stable: {ttl: 720h}\ncomponents:\n")
	for _, s := range services {
		fmt.Fprintf(&b, "  - name: %s\n    image: %s:latest\n", s, serviceRepo(host, s))
	}
	p := filepath.Join(dir, "release.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sharedKeys holds one key pair made by `pin keys generate`, copied into each
// test's directory: making an encrypted key costs seconds under -race.
var sharedKeys struct {
	once sync.Once
	dir  string
	err  error
}

func TestMain(m *testing.M) {
	// pin remembers registries' auth challenges under $XDG_CACHE_HOME/pin:
	// tests (and the pin binaries they start) keep them in a temporary one.
	cache, err := os.MkdirTemp("", "pin-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_CACHE_HOME", cache)
	code := m.Run()
	os.RemoveAll(cache)
	if sharedKeys.dir != "" {
		os.RemoveAll(sharedKeys.dir)
	}
	if builtPin.dir != "" {
		os.RemoveAll(builtPin.dir)
	}
	os.Exit(code)
}

// copyKeys puts release.key and release.pub (password pw) into dir.
func copyKeys(t *testing.T, dir string) {
	t.Helper()
	sharedKeys.once.Do(func() {
		sharedKeys.dir, sharedKeys.err = os.MkdirTemp("", "pin-test-keys-")
		if sharedKeys.err == nil {
			if r := runPin(t, sharedKeys.dir, pw, "keys", "generate", "--out", "release"); r.code != 0 {
				sharedKeys.err = fmt.Errorf("keys generate: exit %d: %s", r.code, r.err)
			}
		}
	})
	if sharedKeys.err != nil {
		t.Fatal(sharedKeys.err)
	}
	for _, f := range []string{"release.key", "release.pub"} {
		b, err := os.ReadFile(filepath.Join(sharedKeys.dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
