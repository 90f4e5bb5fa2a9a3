package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/manifest"
)

// publishForeignRelease publishes, validly signed, 1.2.0 on stable: 1.1.0's
// components plus one that claims docker.io/library/redis, a repository the
// product has never used (a malicious or mistaken but signed release).
func publishForeignRelease(t *testing.T, w *attackWorld) {
	t.Helper()
	rel, err := manifest.DecodeRelease(mustRead(t, w.store("releases/1.1.0.json")), manifest.Expect{})
	if err != nil {
		t.Fatal(err)
	}
	rel.Version = "1.2.0"
	rel.PromotedFrom = nil
	rel.Components = append(rel.Components, manifest.Component{Name: "redis", Repository: "index.docker.io/library/redis",
		Digest: manifest.Digest([]byte("redis")), MediaType: "application/vnd.oci.image.manifest.v1+json"})
	b, err := rel.Encode()
	if err != nil {
		t.Fatal(err)
	}
	writeSigned(t, w, w.signer(t), "releases/1.2.0.json", b)
	resignStable(t, w, func(c *manifest.Channel) {
		c.Sequence++
		c.Releases = append(c.Releases, manifest.Entry{Version: "1.2.0", Digest: manifest.Digest(b), Created: time.Now().UTC()})
	})
}

// TestReleaseOutsideRepositories: a signed release naming a repository
// outside those the consumer allows the product is refused (exit 3) by
// update, audit and mirror, with nothing written; pin.yaml without
// repositories (written before the field) is bounded by the release pin.lock
// pins; and pin init records the namespaces of the release it verified.
func TestReleaseOutsideRepositories(t *testing.T) {
	t.Parallel()
	tmpl := attackTemplate(t)
	cfgPath := func(w *attackWorld) string { return filepath.Join(w.project(), "pin.yaml") }

	t.Run("pin init records the release's namespaces", func(t *testing.T) {
		w := tmpl.clone(t)
		cfg := string(mustRead(t, cfgPath(w)))
		if !strings.Contains(cfg, "repositories:\n  - ") || !strings.Contains(cfg, "/y1p3h6z3/\n") || !strings.Contains(cfg, "/l7a1d1z4/\n") {
			t.Fatalf("pin.yaml written by init lacks the release's namespaces:\n%s", cfg)
		}
	})

	withoutRepositories := func(t *testing.T, w *attackWorld) {
		t.Helper()
		var kept []string
		skipping := false
		for _, l := range strings.SplitAfter(string(mustRead(t, cfgPath(w))), "\n") {
			if strings.HasPrefix(l, "repositories:") {
				skipping = true
				continue
			}
			if skipping && strings.HasPrefix(l, "  - ") {
				continue
			}
			skipping = false
			kept = append(kept, l)
		}
		os.WriteFile(cfgPath(w), []byte(strings.Join(kept, "")), 0o644)
		if bytes.Contains(mustRead(t, cfgPath(w)), []byte("\nrepositories:")) {
			t.Fatal("repositories still in pin.yaml")
		}
	}
	cases := []struct {
		name string
		pre  func(t *testing.T, w *attackWorld)
		args []string
		want string
	}{
		{name: "update", args: []string{"update"}, want: "outside the repositories"},
		{name: "update, pin.yaml from before repositories", pre: withoutRepositories, args: []string{"update"}, want: "as pin.yaml lists no repositories"},
		{name: "audit", args: []string{"audit"}, want: "outside the repositories"},
		{name: "mirror", args: []string{"mirror", "1.2.0", "--to", "127.0.0.1:1/mirror"}, want: "outside the repositories"},
		{name: "check, after pin.yaml narrowed", pre: func(t *testing.T, w *attackWorld) {
			b := mustRead(t, cfgPath(w))
			i := bytes.Index(b, []byte("/l7a1d1z4/\n"))
			j := bytes.LastIndex(b[:i], []byte("\n"))
			os.WriteFile(cfgPath(w), append(append([]byte{}, b[:j+1]...), b[i+len("/l7a1d1z4/\n"):]...), 0o644)
		}, args: []string{"check"}, want: "outside the repositories"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := tmpl.clone(t)
			publishForeignRelease(t, w)
			if tc.pre != nil {
				tc.pre(t, w)
			}
			before := snapshotDir(t, w.dir)
			r := runPin(t, w.project(), nil, tc.args...)
			if r.code != 3 || !strings.Contains(r.err, tc.want) {
				t.Fatalf("pin %s: exit %d, want 3 with %q:\n%s%s", strings.Join(tc.args, " "), r.code, tc.want, r.out, r.err)
			}
			if !equalSnapshots(before, snapshotDir(t, w.dir)) {
				t.Fatal("a refused command changed a file")
			}
		})
	}

	t.Run("a release inside the repositories still updates", func(t *testing.T) {
		w := tmpl.clone(t)
		runPin(t, w.project(), nil, "update").mustSucceed(t, "update to 1.1.0")
	})
}
