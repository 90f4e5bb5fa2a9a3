package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
)

// attackWorld is a producer directory (release.yaml, keys, a directory
// store in ./store) and a consumer project (./deployment, source ../store,
// stable channel). Built once per test as a template and copied per case.
type attackWorld struct {
	dir string
	// oldStable is the stable index (and its .sig) at sequence 1.
	oldStable map[string][]byte
	// saved holds project files a case's pre step kept for its attack.
	saved map[string][]byte
}

func (w *attackWorld) project() string { return filepath.Join(w.dir, "deployment") }
func (w *attackWorld) store(rel string) string {
	return filepath.Join(w.dir, "store", filepath.FromSlash(rel))
}

// sharedWorld is the template attack world, built once per test binary:
// its four signing operations cost seconds each under -race. It lives in the
// shared keys' directory, which TestMain removes; the registry it was made
// with is gone after the first test, and no case needs it.
var sharedWorld struct {
	once sync.Once
	w    *attackWorld
}

func attackTemplate(t *testing.T) *attackWorld {
	t.Helper()
	sharedWorld.once.Do(func() {
		copyKeys(t, t.TempDir()) // makes sharedKeys.dir
		dir := filepath.Join(sharedKeys.dir, "attack-world")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		sharedWorld.w = newAttackWorld(t, dir)
	})
	if sharedWorld.w == nil {
		t.Fatal("the attack world could not be built: see the first test that asked for it")
	}
	return sharedWorld.w
}

// newAttackWorld builds, in dir: 1.0.0 on stable (sequence 1), the consumer
// updated to it, then 1.1.0 published on stable (sequence 2) but not yet
// pulled.
func newAttackWorld(t *testing.T, dir string) *attackWorld {
	t.Helper()
	host := memRegistry(t)
	seed(t, host, services)
	w := &attackWorld{dir: dir, oldStable: map[string][]byte{}}
	copyKeys(t, w.dir)
	writeReleaseConfig(t, w.dir, host, "./store")
	runPin(t, w.dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create 1.0.0-edge.1")
	runPin(t, w.dir, pw, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote 1.0.0")
	os.MkdirAll(w.project(), 0o755)
	var tf strings.Builder
	tf.WriteString("locals {\n")
	for _, s := range services {
		tf.WriteString("  " + s + " = \"" + serviceRepo(host, s) + ":latest\"\n")
	}
	tf.WriteString("}\n")
	os.WriteFile(filepath.Join(w.project(), "main.tf"), []byte(tf.String()), 0o644)
	runPin(t, w.project(), nil, "init", "--source", "../store", "--channel", "stable", "--key-file", filepath.Join(w.dir, "release.pub")).mustSucceed(t, "init")
	runPin(t, w.project(), nil, "update").mustSucceed(t, "update to 1.0.0")
	for _, n := range []string{"stable.json", "stable.json.sig"} {
		w.oldStable[n] = mustRead(t, w.store("channels/"+n))
	}
	seed(t, host, []string{"bags_api"})
	runPin(t, w.dir, pw, "release", "create", "1.1.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create 1.1.0-edge.1")
	runPin(t, w.dir, pw, "release", "promote", "1.1.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote 1.1.0")
	return w
}

// clone copies the world into a fresh directory, mtimes kept.
func (w *attackWorld) clone(t *testing.T) *attackWorld {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "w")
	if out, err := exec.Command("cp", "-a", w.dir, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, out)
	}
	return &attackWorld{dir: dst, oldStable: w.oldStable}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signer loads the producer's key, to forge documents it would never sign
// in that shape but whose signatures are genuine.
func (w *attackWorld) signer(t *testing.T) *signing.Signer {
	t.Helper()
	s, err := signing.LoadPrivateKeyFile(filepath.Join(w.dir, "release.key"), func() ([]byte, error) { return []byte(pw["COSIGN_PASSWORD"]), nil })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeSigned writes doc and its signature by s to the store path rel.
func writeSigned(t *testing.T, w *attackWorld, s *signing.Signer, rel string, doc []byte) {
	t.Helper()
	sig, err := s.SignBlob(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(w.store(rel), doc, 0o644)
	os.WriteFile(w.store(rel+".sig"), sig, 0o644)
}

// resignStable decodes the stable index, edits it and writes it back signed
// by the producer's own key.
func resignStable(t *testing.T, w *attackWorld, edit func(*manifest.Channel)) {
	t.Helper()
	idx, err := manifest.DecodeChannel(mustRead(t, w.store("channels/stable.json")), manifest.Expect{})
	if err != nil {
		t.Fatal(err)
	}
	edit(idx)
	b, err := idx.Encode()
	if err != nil {
		t.Fatal(err)
	}
	writeSigned(t, w, w.signer(t), "channels/stable.json", b)
}

// TestConsumerAttacks: each attack of issue 7 on a consumer running pin
// update (or pin check) must exit 3 and leave every file of the project,
// pin.lock included, byte for byte and mtime for mtime as it was.
func TestConsumerAttacks(t *testing.T) {
	t.Parallel()
	tmpl := attackTemplate(t)
	cases := []struct {
		name string
		// pre runs before the attack (a consumer that already took 1.1.0).
		pre    func(t *testing.T, w *attackWorld)
		attack func(t *testing.T, w *attackWorld)
		args   []string
		want   string
	}{
		{name: "rollback: older index, lower sequence", pre: updateTo110, attack: func(t *testing.T, w *attackWorld) {
			for n, b := range w.oldStable {
				os.WriteFile(w.store("channels/"+n), b, 0o644)
			}
		}, want: "sequence 1 is below 2 recorded in pin.lock"},
		{name: "freeze: expired index", attack: func(t *testing.T, w *attackWorld) {
			resignStable(t, w, func(c *manifest.Channel) {
				c.Sequence++
				c.Issued = time.Now().Add(-48 * time.Hour)
				c.Expires = time.Now().Add(-time.Hour)
			})
		}, want: "expired"},
		{name: "same sequence, different bytes", pre: updateTo110, attack: func(t *testing.T, w *attackWorld) {
			resignStable(t, w, func(c *manifest.Channel) { c.Issued = c.Issued.Add(-time.Minute) })
		}, want: "sequence 2 has different bytes"},
		{name: "mix-and-match: another product's index", attack: func(t *testing.T, w *attackWorld) {
			resignStable(t, w, func(c *manifest.Channel) { c.Product = "other-service"; c.Sequence++ })
		}, want: `"other-service"`},
		{name: "mix-and-match: a stable index served as edge", pre: func(t *testing.T, w *attackWorld) {
			cfg := filepath.Join(w.project(), "pin.yaml")
			os.WriteFile(cfg, bytes.Replace(mustRead(t, cfg), []byte("channel: stable"), []byte("channel: edge"), 1), 0o644)
		}, attack: func(t *testing.T, w *attackWorld) {
			for _, ext := range []string{".json", ".json.sig"} {
				os.WriteFile(w.store("channels/edge"+ext), mustRead(t, w.store("channels/stable"+ext)), 0o644)
			}
		}, want: `expected "edge"`},
		{name: "mix-and-match: a manifest of another product", attack: func(t *testing.T, w *attackWorld) {
			rel, err := manifest.DecodeRelease(mustRead(t, w.store("releases/1.1.0.json")), manifest.Expect{})
			if err != nil {
				t.Fatal(err)
			}
			rel.Product = "other-service"
			b, err := rel.Encode()
			if err != nil {
				t.Fatal(err)
			}
			replaceRelease(t, w, "1.1.0", b)
		}, want: `"other-service"`},
		{name: "tampered manifest byte", attack: func(t *testing.T, w *attackWorld) {
			p := w.store("releases/1.1.0.json")
			os.WriteFile(p, bytes.Replace(mustRead(t, p), []byte("bags_api"), []byte("bags_apj"), 1), 0o644)
		}, want: "does not match"},
		{name: "manifest signed by an untrusted key", attack: func(t *testing.T, w *attackWorld) {
			other, err := signing.NewEphemeralSigner()
			if err != nil {
				t.Fatal(err)
			}
			writeSigned(t, w, other, "releases/1.1.0.json", mustRead(t, w.store("releases/1.1.0.json")))
		}, want: "no trusted key"},
		{name: "index signed by an untrusted key", attack: func(t *testing.T, w *attackWorld) {
			other, err := signing.NewEphemeralSigner()
			if err != nil {
				t.Fatal(err)
			}
			writeSigned(t, w, other, "channels/stable.json", mustRead(t, w.store("channels/stable.json")))
		}, want: "no trusted key"},
		{name: "index points at a digest that is not what is served", attack: func(t *testing.T, w *attackWorld) {
			for _, ext := range []string{".json", ".json.sig"} {
				os.WriteFile(w.store("releases/1.1.0"+ext), mustRead(t, w.store("releases/1.0.0"+ext)), 0o644)
			}
		}, want: "does not match"},
		{name: "endless data: directory store", attack: func(t *testing.T, w *attackWorld) {
			p := w.store("releases/1.1.0.json")
			os.WriteFile(p, append(mustRead(t, p), bytes.Repeat([]byte(" "), manifest.MaxDocumentSize)...), 0o644)
		}, want: "over the 1048576-byte cap"},
		{name: "endless data: HTTP store", pre: func(t *testing.T, w *attackWorld) {
			fs := http.FileServer(http.Dir(filepath.Join(w.dir, "store")))
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/releases/1.1.0.json" {
					fs.ServeHTTP(rw, r)
					return
				}
				chunk := bytes.Repeat([]byte("x"), 64<<10)
				for r.Context().Err() == nil {
					if _, err := rw.Write(chunk); err != nil {
						return
					}
				}
			}))
			t.Cleanup(srv.Close)
			cfg := filepath.Join(w.project(), "pin.yaml")
			os.WriteFile(cfg, bytes.Replace(mustRead(t, cfg), []byte("../store"), []byte(srv.URL), 1), 0o644)
		}, attack: func(*testing.T, *attackWorld) {}, want: "cut off and refused"},
		{name: "pin.lock edited by hand: a component digest in its manifest", args: []string{"check"}, attack: func(t *testing.T, w *attackWorld) {
			editLock(t, w, func(s string) string {
				i := strings.Index(s, `\"digest\":\"sha256:`) + len(`\"digest\":\"sha256:`)
				return s[:i] + "0000" + s[i+4:]
			})
		}, want: "pin.lock was edited or corrupted"},
		{name: "pin.lock edited by hand: its manifestDigest", args: []string{"check"}, attack: func(t *testing.T, w *attackWorld) {
			editLock(t, w, func(s string) string {
				i := strings.Index(s, `"manifestDigest": "sha256:`) + len(`"manifestDigest": "sha256:`)
				return s[:i] + "0000" + s[i+4:]
			})
		}, want: "pin.lock was edited or corrupted"},
		{name: "signed bytes that mean two things: components and Components", attack: func(t *testing.T, w *attackWorld) {
			// Validly signed, but pin (Go: last key, case-insensitive) and
			// jq or Python (first key) would read different components.
			b := bytes.Replace(mustRead(t, w.store("releases/1.1.0.json")), []byte(`{"components":`), []byte(`{"Components":[],"components":`), 1)
			replaceRelease(t, w, "1.1.0", b)
		}, want: "not in canonical form"},
		{name: "signed index with a duplicated key", attack: func(t *testing.T, w *attackWorld) {
			b := bytes.Replace(mustRead(t, w.store("channels/stable.json")), []byte(`"sequence":2`), []byte(`"sequence":3,"Sequence":3`), 1)
			writeSigned(t, w, w.signer(t), "channels/stable.json", b)
		}, want: `key "Sequence" appears twice`},
		{name: "lock-only downgrade: a prerelease on a stable consumer", args: []string{"check"}, attack: func(t *testing.T, w *attackWorld) {
			swapInEdgeLock(t, w, func(l string) string { return strings.Replace(l, `"channel": "edge"`, `"channel": "stable"`, 1) })
		}, want: `from channel "edge", which a stable consumer does not see`},
		{name: "lock-only downgrade: a prerelease relabelled stable", args: []string{"check"}, attack: func(t *testing.T, w *attackWorld) {
			swapInEdgeLock(t, w, func(l string) string {
				l = strings.Replace(l, `"channel": "edge"`, `"channel": "stable"`, 1)
				return strings.Replace(l, `"releaseChannel": "edge"`, `"releaseChannel": "stable"`, 1)
			})
		}, want: "may not be listed on stable"},
		{name: "lock-only downgrade: the lock follows another channel", args: []string{"check"}, attack: func(t *testing.T, w *attackWorld) {
			swapInEdgeLock(t, w, func(l string) string { return l })
		}, want: `it follows channel "edge", pin.yaml says "stable"`},
		{name: "lock-only downgrade: a version outside pin.yaml's constraint", args: []string{"check"}, pre: func(t *testing.T, w *attackWorld) {
			saved := map[string][]byte{}
			for _, n := range []string{"pin.lock", "main.tf"} {
				saved[n] = mustRead(t, filepath.Join(w.project(), n))
			}
			updateTo110(t, w)
			cfg := filepath.Join(w.project(), "pin.yaml")
			os.WriteFile(cfg, append(mustRead(t, cfg), []byte("constraint: \">=1.1\"\n")...), 0o644)
			runPin(t, w.project(), nil, "check").mustSucceed(t, "check at 1.1.0 with >=1.1")
			w.saved = saved
		}, attack: func(t *testing.T, w *attackWorld) {
			for n, b := range w.saved {
				os.WriteFile(filepath.Join(w.project(), n), b, 0o644)
			}
		}, want: `outside pin.yaml's constraint ">=1.1"`},
		{name: "pin.lock edited by hand: the index digest it recorded", attack: func(t *testing.T, w *attackWorld) {
			editLock(t, w, func(s string) string {
				i := strings.Index(s, `"digest": "sha256:`) + len(`"digest": "sha256:`)
				return s[:i] + "0000" + s[i+4:]
			})
			// The store still serves sequence 1, which the lock now says had other bytes.
			for n, b := range w.oldStable {
				os.WriteFile(w.store("channels/"+n), b, 0o644)
			}
		}, want: "sequence 1 has different bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := tmpl.clone(t)
			if tc.pre != nil {
				tc.pre(t, w)
			}
			tc.attack(t, w)
			before := snapshotDir(t, w.project())
			args := tc.args
			if args == nil {
				args = []string{"update"}
			}
			r := runPin(t, w.project(), nil, args...)
			if r.code != 3 || !strings.Contains(r.err, tc.want) {
				t.Fatalf("pin %s: exit %d, want 3 with %q:\n%s%s", strings.Join(args, " "), r.code, tc.want, r.out, r.err)
			}
			if !equalSnapshots(before, snapshotDir(t, w.project())) {
				t.Fatal("a trust failure changed a file of the project")
			}
		})
	}
}

// updateTo110 makes the consumer take 1.1.0 (sequence 2) first.
func updateTo110(t *testing.T, w *attackWorld) {
	t.Helper()
	runPin(t, w.project(), nil, "update").mustSucceed(t, "update to 1.1.0")
}

func editLock(t *testing.T, w *attackWorld, edit func(string) string) {
	t.Helper()
	p := filepath.Join(w.project(), "pin.lock")
	b := string(mustRead(t, p))
	e := edit(b)
	if e == b {
		t.Fatal("the edit changed nothing")
	}
	os.WriteFile(p, []byte(e), 0o644)
}

// swapInEdgeLock replaces the stable consumer's pin.lock and main.tf with
// those of a genuine update to 1.0.0-edge.1 (made by an edge consumer of the
// same store), the lock edited by edit: a change that touches only pin.lock
// and the files, and whose manifest is validly signed.
func swapInEdgeLock(t *testing.T, w *attackWorld, edit func(string) string) {
	t.Helper()
	edge := filepath.Join(w.dir, "edge-deployment")
	if out, err := exec.Command("cp", "-a", w.project(), edge).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, out)
	}
	cfg := filepath.Join(edge, "pin.yaml")
	os.WriteFile(cfg, bytes.Replace(mustRead(t, cfg), []byte("channel: stable"), []byte("channel: edge"), 1), 0o644)
	runPin(t, edge, nil, "update", "--to", "1.0.0-edge.1").mustSucceed(t, "edge consumer to 1.0.0-edge.1")
	runPin(t, edge, nil, "check").mustSucceed(t, "the edge consumer's own check")
	os.WriteFile(filepath.Join(w.project(), "main.tf"), mustRead(t, filepath.Join(edge, "main.tf")), 0o644)
	os.WriteFile(filepath.Join(w.project(), "pin.lock"), []byte(edit(string(mustRead(t, filepath.Join(edge, "pin.lock"))))), 0o644)
}

// replaceRelease signs b as release version and re-signs the stable index,
// one sequence up, listing it: what a producer's key would have to do.
func replaceRelease(t *testing.T, w *attackWorld, version string, b []byte) {
	t.Helper()
	writeSigned(t, w, w.signer(t), "releases/"+version+".json", b)
	resignStable(t, w, func(c *manifest.Channel) {
		c.Sequence++
		for i := range c.Releases {
			if c.Releases[i].Version == version {
				c.Releases[i].Digest = manifest.Digest(b)
			}
		}
	})
}
