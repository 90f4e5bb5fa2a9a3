package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// registryBinary is where Debian's docker-registry package installs the server.
const registryBinary = "/usr/bin/docker-registry"

// registryStartTimeout bounds how long Registry waits for GET /v2/ to answer.
const registryStartTimeout = 10 * time.Second

// registryConfig is a minimal distribution 2.x configuration: loopback only,
// no auth, filesystem storage, deletes allowed, no debug or metrics listener,
// and no background jobs that would outlive a test.
const registryConfig = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %q
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %q
health:
  storagedriver:
    enabled: false
`

// RegistryBinary returns the path of the docker-registry server, or "" when it
// is not installed.
func RegistryBinary() string {
	if p, err := exec.LookPath("docker-registry"); err == nil {
		return p
	}
	if _, err := os.Stat(registryBinary); err == nil {
		return registryBinary
	}
	return ""
}

// Registry starts a fresh docker-registry (distribution 2.8) on a free
// loopback port with its storage in t.TempDir(), waits until GET /v2/ answers,
// and stops it when the test ends. It returns "127.0.0.1:PORT", which
// go-containerregistry and cosign speak to over plain HTTP.
//
// Each call gets its own empty registry; starting one takes a few tens of
// milliseconds, so tests need not share.
func Registry(t testing.TB) string {
	t.Helper()
	if RegistryBinary() == "" {
		missing(t, "docker-registry not installed: run make test, which installs it")
	}
	started := time.Now()
	addr, stop, err := StartRegistry(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("docker-registry on %s ready in %s", addr, time.Since(started).Round(time.Millisecond))
	t.Cleanup(stop)
	return addr
}

// StartRegistry is Registry for programs without a testing.TB (the
// benchmark harness): it starts a docker-registry with its configuration
// and storage under dir, and returns its address and a function that stops it.
func StartRegistry(dir string) (addr string, stop func(), err error) {
	bin := RegistryBinary()
	if bin == "" {
		return "", nil, errors.New("docker-registry not installed: run scripts/install-test-deps.sh registry")
	}
	// A free port can be taken between our probe and the server's bind;
	// retry a few times when that happens.
	for attempt := 0; attempt < 5; attempt++ {
		addr, stop, err = startRegistry(bin, dir)
		if err == nil || !errors.Is(err, errAddrInUse) {
			break
		}
	}
	if err != nil {
		return "", nil, fmt.Errorf("start docker-registry: %w", err)
	}
	return addr, stop, nil
}

var errAddrInUse = errors.New("address already in use")

// lockedBuffer collects a child's stderr while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(b.buf.String())
}

func startRegistry(bin, dir string) (string, func(), error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	storage := filepath.Join(dir, "storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return "", nil, fmt.Errorf("create registry storage: %w", err)
	}
	config := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(registryConfig, storage, addr)), 0o644); err != nil {
		return "", nil, fmt.Errorf("write registry config: %w", err)
	}

	cmd := exec.Command(bin, "serve", config)
	stderr := &lockedBuffer{}
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("run %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}

	if err := waitReady(addr, exited); err != nil {
		stop()
		out := stderr.String()
		if strings.Contains(out, "address already in use") {
			return "", nil, fmt.Errorf("%w: %s", errAddrInUse, addr)
		}
		if out == "" {
			out = "(no output)"
		}
		return "", nil, fmt.Errorf("%s serve %s: %w; registry stderr:\n%s", bin, config, err, out)
	}
	return addr, stop, nil
}

// waitReady polls GET /v2/ until it answers 200, the process exits, or the
// start timeout passes.
func waitReady(addr string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), registryStartTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	url := "http://" + addr + "/v2/"
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		last = err
		select {
		case err := <-exited:
			return fmt.Errorf("registry exited before it answered: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("GET %s did not answer within %s: %v", url, registryStartTimeout, last)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
