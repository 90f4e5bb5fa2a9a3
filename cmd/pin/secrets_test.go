package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestPasswordsNeverPrinted: COSIGN_PASSWORD, right or wrong, appears in no
// output of any command that reads a key, in text or JSON.
func TestPasswordsNeverPrinted(t *testing.T) {
	t.Parallel()
	const secret = "pw-Zq8-never-print-me"
	dir, _ := producerSetup(t, dirStore)
	good := env{"COSIGN_PASSWORD": secret}
	runs := []pinRun{runPin(t, dir, good, "keys", "generate", "--out", "mine")}
	os.Rename(filepath.Join(dir, "mine.key"), filepath.Join(dir, "release.key"))
	os.Rename(filepath.Join(dir, "mine.pub"), filepath.Join(dir, "release.pub"))
	runs = append(runs,
		runPin(t, dir, good, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create"),
		runPin(t, dir, good, "channel", "refresh", "--channel", "edge", "--key", "release.key", "--output", "json").mustSucceed(t, "refresh"),
		runPin(t, dir, good, "release", "yank", "1.0.0-edge.1", "--channel", "edge", "--reason", "test", "--key", "release.key").mustSucceed(t, "yank"),
	)
	wrong := secret + "-wrong"
	// --output json: the error goes to stdout as well as stderr.
	r := runPin(t, dir, env{"COSIGN_PASSWORD": wrong}, "release", "create", "1.0.0-edge.3", "--channel", "edge", "--key", "release.key", "--output", "json")
	if r.code != 2 || !strings.Contains(r.out, "wrong password") || !strings.Contains(r.err, "wrong password") {
		t.Fatalf("wrong password: exit %d\n%s%s", r.code, r.out, r.err)
	}
	runs = append(runs, r)
	for i, r := range runs {
		if strings.Contains(r.out+r.err, secret) {
			t.Errorf("run %d printed the password (or the wrong one):\n%s%s", i, r.out, r.err)
		}
	}
}

// TestPrivateKeysAre0600: a generated key is 0600, also when --force
// replaces a key file that was world-readable.
func TestPrivateKeysAre0600(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "k.key")
	os.WriteFile(p, []byte("old"), 0o644)
	os.Chmod(p, 0o644)
	runPin(t, dir, pw, "keys", "generate", "--out", "k", "--force").mustSucceed(t, "keys generate --force")
	if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("k.key after --force over a 0644 file: %v %v", info.Mode(), err)
	}
	// pin demo's kept key: see TestDemoKeep.
}

// authProxy puts a token server (HTTP basic auth, then a bearer token) in
// front of the registry at upstream. Answers for which fail returns a status
// echo the request's Authorization header in their body, as a careless
// registry might; so does every 401.
type authProxy struct {
	host   string
	tokens atomic.Int64
}

func newAuthProxy(t *testing.T, upstream, user, pass, token string, fail func(*http.Request) int) *authProxy {
	t.Helper()
	a := &authProxy{}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: upstream})
	echo := func(w http.ResponseWriter, r *http.Request, code int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"errors":[{"code":"UNKNOWN","message":"you sent %s"}]}`, r.Header.Get("Authorization"))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			u, p, ok := r.BasicAuth()
			if !ok || u != user || p != pass {
				echo(w, r, http.StatusUnauthorized)
				return
			}
			a.tokens.Add(1)
			fmt.Fprintf(w, `{"token":%q}`, token)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="test"`, r.Host))
			echo(w, r, http.StatusUnauthorized)
			return
		}
		if code := fail(r); code != 0 {
			echo(w, r, code)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	a.host = strings.TrimPrefix(srv.URL, "http://")
	return a
}

// dockerConfig points DOCKER_CONFIG at a config.json holding user:pass for host.
func dockerConfig(t *testing.T, host, user, pass string) {
	t.Helper()
	d := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	os.WriteFile(filepath.Join(d, "config.json"), []byte(fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)), 0o600)
	t.Setenv("DOCKER_CONFIG", d)
}

// TestRegistryCredentialsNeverShown: with credentials from a Docker
// config.json and a bearer token, failing registries (401, 500, both echoing
// the Authorization header) never get the password, the basic-auth string or
// the token into stderr or --output json, for the producer and the consumer.
func TestRegistryCredentialsNeverShown(t *testing.T) {
	// Not parallel: the Docker keychain reads DOCKER_CONFIG from the process environment.
	const user, pass, token = "pinuser", "pa55-Kx9-registry-secret", "tok-Hq3-bearer-secret"
	secrets := []string{pass, token, base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))}
	upstream := memRegistry(t)
	seed(t, upstream, services)

	var failing atomic.Value // a path fragment whose manifest GETs answer 500
	failing.Store("\x00")
	ap := newAuthProxy(t, upstream, user, pass, token, func(r *http.Request) int {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") && strings.Contains(r.URL.Path, failing.Load().(string)) {
			return http.StatusInternalServerError
		}
		return 0
	})
	dockerConfig(t, ap.host, user, pass)

	// The producer publishes 1.0.0 through the proxy, credentials working.
	dir := t.TempDir()
	copyKeys(t, dir)
	writeReleaseConfig(t, dir, ap.host, "oci://"+ap.host+"/storage-service-releases")
	runPin(t, dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create with credentials")
	runPin(t, dir, pw, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote with credentials")
	if ap.tokens.Load() == 0 {
		t.Fatal("no token was fetched: the credentials were never used")
	}
	project := filepath.Join(dir, "deployment")
	os.MkdirAll(project, 0o755)
	os.WriteFile(filepath.Join(project, "main.tf"), []byte("locals {\n  x = \""+serviceRepo(ap.host, "notifier")+":latest\"\n}\n"), 0o644)
	runPin(t, project, nil, "init", "--source", "oci://"+ap.host+"/storage-service-releases", "--channel", "stable", "--key-file", filepath.Join(dir, "release.pub")).mustSucceed(t, "init")
	runPin(t, project, nil, "update").mustSucceed(t, "update with credentials")

	type run struct {
		name    string
		dir     string
		failing string
		env     env
		args    []string
	}
	notifier := serviceRepo(ap.host, "notifier") + ":latest"
	runs := []run{
		{"resolve, 500 echoing the token", "", "/notifier/", nil, []string{"resolve", "--verify", notifier}},
		{"resolve --output json, 500 echoing the token", "", "/notifier/", nil, []string{"resolve", "--verify", "--output", "json", notifier}},
		{"release create --output json, 500 echoing the token", dir, "/notifier/", nil, []string{"release", "create", "1.1.0-edge.1", "--channel", "edge", "--dry-run", "--output", "json"}},
		{"update --output json, 500 echoing the token", project, "channel-stable", nil, []string{"update", "--output", "json"}},
		{"check --online --output json, 500 echoing the token", project, "channel-stable", nil, []string{"check", "--online", "--output", "json"}},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			failing.Store(r.failing)
			defer failing.Store("\x00")
			res := runPin(t, r.dir, with(r.env, fastRetry), r.args...)
			if res.code == 0 {
				t.Fatalf("exit 0 although the registry failed:\n%s%s", res.out, res.err)
			}
			if !strings.Contains(res.out+res.err, "[REDACTED]") {
				t.Errorf("the registry's echo did not reach the message, so redaction was not tested:\n%s%s", res.out, res.err)
			}
			for _, s := range secrets {
				if strings.Contains(res.out+res.err, s) {
					t.Errorf("output contains the secret %q:\n%s%s", s, res.out, res.err)
				}
			}
		})
	}

	// A wrong password: the token server's 401 echoes the basic-auth header.
	const wrong = "wrong-Pz7-password"
	dockerConfig(t, ap.host, user, wrong)
	for _, out := range []string{"text", "json"} {
		res := runPin(t, "", fastRetry, "resolve", "--verify", "--output", out, notifier)
		if res.code != 1 {
			t.Fatalf("resolve with a wrong password: exit %d\n%s%s", res.code, res.out, res.err)
		}
		for _, s := range append(secrets, wrong, base64.StdEncoding.EncodeToString([]byte(user+":"+wrong))) {
			if strings.Contains(res.out+res.err, s) {
				t.Errorf("%s output with a wrong password contains %q:\n%s%s", out, s, res.out, res.err)
			}
		}
	}
}
