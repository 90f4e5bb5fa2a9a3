package testenv

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CosignPassword is the COSIGN_PASSWORD that RunCosign gives cosign, for
// keys it generates or reads.
const CosignPassword = "pin-test-password"

// cosignTimeout bounds one cosign run, so a cosign that tries the network
// fails the test instead of hanging it.
const cosignTimeout = 2 * time.Minute

// CosignBinary returns the path of a stock cosign (PATH first, then
// $(go env GOPATH)/bin/cosign), or "" when there is none.
func CosignBinary() string {
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	for _, dir := range gopathBins() {
		p := filepath.Join(dir, "cosign")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// gopathBins lists the bin directories of GOPATH, the way go install fills them.
func gopathBins() []string {
	if gobin := os.Getenv("GOBIN"); gobin != "" {
		return []string{gobin}
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	var dirs []string
	for _, p := range filepath.SplitList(gopath) {
		if p != "" {
			dirs = append(dirs, filepath.Join(p, "bin"))
		}
	}
	return dirs
}

// Cosign returns the path of a stock cosign, skipping the test (or failing it
// under PIN_INTEGRATION=1) when none is installed.
func Cosign(t testing.TB) string {
	t.Helper()
	p := CosignBinary()
	if p == "" {
		missing(t, "cosign not installed: run make test, which installs it")
	}
	return p
}

// RunCosign runs stock cosign with args and returns what it printed. It runs
// in a temporary working directory with COSIGN_PASSWORD=CosignPassword,
// COSIGN_YES=true, and HOME, TUF_ROOT and DOCKER_CONFIG pointing at empty
// temporary directories, so it reads no user configuration, no credentials and
// no cached trust roots. Its HTTP(S) proxy is a local port that drops every
// connection, so nothing but loopback (the test registry) is reachable. Callers
// pass --insecure-ignore-tlog=true (and --offline=true, --tlog-upload=false),
// as cosign needs offline. A non-zero
// exit is returned as err; the test is not failed.
func RunCosign(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	return RunCosignEnv(t, nil, args...)
}

// RunCosignEnv is RunCosign with extra environment variables ("K=V"), which
// override the defaults (COSIGN_PASSWORD, say).
func RunCosignEnv(t testing.TB, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := Cosign(t)
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), cosignTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = home
	cmd.Env = append(cosignEnv(home, deadProxy(t)), env...)
	cmd.Stdin = nil
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("cosign %s: no answer within %s (did it try the network?); stderr:\n%s",
			strings.Join(args, " "), cosignTimeout, errb.String())
	}
	return out.String(), errb.String(), err
}

// deadProxy starts a loopback listener that drops every connection, for use
// as cosign's HTTP(S) proxy: even with --offline, cosign 2.6 tries to refresh
// its TUF trust root, and this makes that fail at once instead of reaching
// (or waiting on) the network. Loopback addresses never use a proxy, so the
// test registry is still reached directly.
func deadProxy(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for cosign's dead proxy: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return "http://" + l.Addr().String()
}

// cosignEnv is the process environment without anything that would point
// cosign at user state, credentials or the network, plus hermetic
// replacements.
func cosignEnv(home, proxy string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "COSIGN_"), strings.HasPrefix(k, "SIGSTORE_"),
			k == "HOME", k == "TUF_ROOT", k == "DOCKER_CONFIG", k == "XDG_CONFIG_HOME", k == "XDG_CACHE_HOME",
			strings.EqualFold(k, "HTTP_PROXY"), strings.EqualFold(k, "HTTPS_PROXY"), strings.EqualFold(k, "NO_PROXY"):
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+home,
		"TUF_ROOT="+filepath.Join(home, ".sigstore", "root"),
		"DOCKER_CONFIG="+filepath.Join(home, ".docker"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"COSIGN_PASSWORD="+CosignPassword,
		"COSIGN_YES=true",
		"COSIGN_EXPERIMENTAL=0",
		"HTTP_PROXY="+proxy,
		"HTTPS_PROXY="+proxy,
		"NO_PROXY=127.0.0.1,localhost,::1",
	)
}
