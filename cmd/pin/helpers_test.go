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

// runPin runs pin with args in dir (its working directory: app.Dir; ""
// for the test's own), through the same run function main uses, with
// streams in buffers and no terminal. It changes nothing of the process
// (directory, environment), so tests that use it can run in parallel.
func runPin(t *testing.T, dir string, e env, args ...string) pinRun {
	t.Helper()
	return runPinApp(t, testApp(t, dir, testCacheDir, e), args)
}

// runPinCache is runPin with cache as pin's cache directory.
func runPinCache(t *testing.T, dir, cache string, e env, args ...string) pinRun {
	t.Helper()
	return runPinApp(t, testApp(t, dir, cache, e), args)
}

// runPinInProcessDir runs pin with dir as the process's working directory
// too (os.Chdir), so that every path is used exactly as typed, as a run of
// the binary uses it: for the assertions on a message that names a file as
// the user typed it and that a package, not cmd/pin, words. A test that
// uses it must not be parallel.
func runPinInProcessDir(t *testing.T, dir string, e env, args ...string) pinRun {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	a := testApp(t, dir, testCacheDir, e)
	a.osDir = a.Dir
	return runPinApp(t, a, args)
}

// testApp is the app of a test run: environment e, working directory dir
// ("": the test's own), cache directory cache.
func testApp(t *testing.T, dir, cache string, e env) *app {
	t.Helper()
	a := &app{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &bytes.Buffer{},
		LookupEnv: func(k string) (string, bool) { v, ok := e[k]; return v, ok },
		Now:       time.Now,
		CacheDir:  cache,
	}
	if dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			t.Fatal(err)
		}
		a.Dir = abs
	}
	return a
}

func runPinApp(t *testing.T, a *app, args []string) pinRun {
	t.Helper()
	code := run(context.Background(), a, args)
	return pinRun{out: a.Out.(*bytes.Buffer).String(), err: a.Err.(*bytes.Buffer).String(), code: code}
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

// testXDGCache is the XDG_CACHE_HOME of the tests: pin remembers
// registries' auth challenges under its pin directory (testCacheDir, the
// app's CacheDir in runPin), and the pin binaries tests start get it in
// their environment (pinEnv), so that no test writes the user's cache.
var testXDGCache, testCacheDir string

// pinEnv is the environment of a pin binary a test starts: the test's
// own, with the tests' cache, and more.
func pinEnv(more ...string) []string {
	return append(append(os.Environ(), "XDG_CACHE_HOME="+testXDGCache), more...)
}

func TestMain(m *testing.M) {
	var err error
	if testXDGCache, err = os.MkdirTemp("", "pin-test-cache-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testCacheDir = filepath.Join(testXDGCache, "pin")
	code := m.Run()
	os.RemoveAll(testXDGCache)
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
			if r := runPin(t, "", pw, "keys", "generate", "--out", filepath.Join(sharedKeys.dir, "release")); r.code != 0 {
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
