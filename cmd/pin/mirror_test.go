package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
)

// uploadCounter counts blob upload sessions and manifest pushes.
type uploadCounter struct {
	uploads, manifests atomic.Int64
}

func (c *uploadCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/blobs/uploads/"),
		req.Method == http.MethodPatch, req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/blobs/"):
		c.uploads.Add(1)
	case req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/manifests/"):
		c.manifests.Add(1)
	}
	return http.DefaultTransport.RoundTrip(req)
}

// mirrorFlow: a release published in one registry is mirrored into another
// (verified first, as update verifies), with its documents into a directory
// store; a second run uploads nothing; pin update pins to the mirror with
// the printed registryMap; check is clean; audit reports the mirror's
// references as the release's components; a consumer of the mirrored store
// verifies it with the publisher's key; a cosign signature made on the
// source verifies on the mirror with stock cosign.
func mirrorFlow(t *testing.T, src, dst string, ociStore, cosign bool) {
	dir := t.TempDir()
	copyKeys(t, dir)
	seed(t, src, services)
	writeReleaseConfig(t, dir, src, "oci://"+src+"/storage-service-releases")
	runPin(t, dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create")
	runPin(t, dir, pw, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote")
	show := runPin(t, dir, nil, "release", "show", "1.0.0", "--config", "release.yaml", "--key-file", "release.pub", "--output", "json").mustSucceed(t, "show")
	rel, err := manifest.DecodeRelease([]byte(show.out), manifest.Expect{Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	bags, _ := rel.Component("bags_api")
	if cosign {
		ref := bags.Repository + "@" + bags.Digest
		if out, errOut, err := testenv.RunCosignEnv(t, []string{"COSIGN_PASSWORD=s3cret"}, "sign", "--key", filepath.Join(dir, "release.key"), "--tlog-upload=false", "--use-signing-config=false", "--yes", ref); err != nil {
			t.Fatalf("cosign sign %s: %v\n%s%s", ref, err, out, errOut)
		}
	}

	project := filepath.Join(dir, "deployment")
	os.MkdirAll(project, 0o755)
	var tf strings.Builder
	tf.WriteString("locals {\n  images = {\n")
	for _, s := range services {
		tf.WriteString("    " + s + " = \"" + serviceRepo(src, s) + ":latest\"\n")
	}
	tf.WriteString("  }\n}\n")
	os.WriteFile(filepath.Join(project, "main.tf"), []byte(tf.String()), 0o644)
	pub := filepath.Join(dir, "release.pub")
	runPin(t, project, nil, "init", "--source", "oci://"+src+"/storage-service-releases", "--channel", "stable", "--key-file", pub).mustSucceed(t, "init")

	prefix := dst + "/mirror/storage"
	store := filepath.Join(dir, "mirror-store")
	if ociStore {
		store = "oci://" + dst + "/mirror/releases"
	}
	if r := runPin(t, project, nil, "mirror", "stable", "--to", prefix, "--dry-run"); r.code != 0 || !strings.Contains(r.out, "Would mirror storage-service 1.0.0") {
		t.Fatalf("mirror --dry-run: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if _, err := remote.Head(mustRef(t, prefix+"/bags_api:1.0.0")); err == nil {
		t.Fatal("--dry-run copied")
	}
	r := runPin(t, project, nil, "mirror", "stable", "--to", prefix, "--with-store", store).mustSucceed(t, "mirror")
	for _, want := range []string{"Mirrored storage-service 1.0.0 (stable", "registryMap:", `"` + src + `/y1p3h6z3": "` + prefix + `"`, `"` + src + `/l7a1d1z4": "` + prefix + `"`, "read back from the mirror"} {
		if !strings.Contains(r.out, want) {
			t.Fatalf("mirror output lacks %q:\n%s", want, r.out)
		}
	}
	for _, c := range rel.Components {
		d, err := remote.Get(mustRef(t, prefix+"/"+c.Name+"@"+c.Digest))
		if err != nil || d.Digest.String() != c.Digest {
			t.Fatalf("%s in the mirror: %v", c.Name, err)
		}
		for _, p := range c.Platforms {
			if _, err := remote.Image(mustRef(t, prefix+"/"+c.Name+"@"+p.Digest)); err != nil {
				t.Fatalf("%s %s in the mirror: %v", c.Name, p, err)
			}
		}
	}

	// A second run uploads nothing and pushes no manifest.
	var cnt uploadCounter
	var out, errb bytes.Buffer
	a := &app{Out: &out, Err: &errb, Now: time.Now, Dir: project, extraRegistry: []registry.Option{registry.WithTransport(&cnt)}}
	err = runMirror(context.Background(), a, "1.0.0", &mirrorOptions{trustFlags: trustFlags{Config: filepath.Join(project, "pin.yaml")}, To: prefix, Jobs: 4, Output: "json", WithStore: store})
	if err != nil {
		t.Fatalf("second mirror: %v\n%s", err, errb.String())
	}
	if cnt.uploads.Load() != 0 || cnt.manifests.Load() != 0 {
		t.Fatalf("second mirror: %d upload requests, %d manifest pushes", cnt.uploads.Load(), cnt.manifests.Load())
	}
	var again mirrorJSON
	if err := json.Unmarshal(out.Bytes(), &again); err != nil || again.Total.BlobsUploaded != 0 || again.Store == nil || len(again.Store.Releases)+len(again.Store.Channels) != 0 {
		t.Fatalf("second mirror --output json: %v\n%s", err, out.String())
	}

	// pin.yaml gets the printed entries; update pins to the mirror.
	cfgPath := filepath.Join(project, "pin.yaml")
	cfgBytes, _ := os.ReadFile(cfgPath)
	entries := r.out[strings.Index(r.out, "registryMap:\n"):]
	os.WriteFile(cfgPath, append(cfgBytes, []byte(entries)...), 0o644)
	runPin(t, project, nil, "update").mustSucceed(t, "update to the mirror")
	main, _ := os.ReadFile(filepath.Join(project, "main.tf"))
	if strings.Count(string(main), prefix+"/") != len(services) || strings.Contains(string(main), src+"/") {
		t.Fatalf("main.tf after update does not point at the mirror:\n%s", main)
	}
	if !strings.Contains(string(main), prefix+"/bags_api@"+bags.Digest) {
		t.Fatalf("bags_api not pinned to the mirror at the release's digest:\n%s", main)
	}
	runPin(t, project, nil, "check").mustSucceed(t, "check")
	au := runPin(t, project, nil, "audit", "--format", "json", "--cache-dir", t.TempDir()).mustSucceed(t, "audit")
	var rep struct {
		Summary struct {
			Consistent bool   `json:"consistent"`
			Version    string `json:"version"`
		} `json:"summary"`
		Findings []struct {
			Component  string `json:"component"`
			Repository string `json:"repository"`
			Status     string `json:"status"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(au.out), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Summary.Consistent || rep.Summary.Version != "1.0.0" || len(rep.Findings) != len(services) {
		t.Fatalf("audit of the mirrored deployment: %+v", rep.Summary)
	}
	for _, f := range rep.Findings {
		if f.Status != "current" || !strings.HasPrefix(f.Repository, prefix+"/") || f.Component == "" {
			t.Fatalf("audit finding %+v: want current, a component, the mirror's repository", f)
		}
	}

	// A registryMap entry that applies to nothing stops check and update (exit 2, with its line).
	withTypo, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, append(withTypo, []byte("  \"registry.example.org/typo\": \""+prefix+"\"\n")...), 0o644)
	for _, cmd := range []string{"check", "update"} {
		if r := runPin(t, project, nil, cmd); r.code != 2 || !strings.Contains(r.err, "pin.yaml:") || !strings.Contains(r.err, "applies to no component") {
			t.Fatalf("%s with an unknown registryMap entry: exit %d, %s", cmd, r.code, r.err)
		}
	}
	os.WriteFile(cfgPath, withTypo, 0o644)

	// A consumer of the mirrored store, trusting the publisher's key only.
	site := filepath.Join(dir, "site")
	os.MkdirAll(site, 0o755)
	os.WriteFile(filepath.Join(site, "main.tf"), main, 0o644)
	runPin(t, site, nil, "init", "--source", store, "--channel", "stable", "--key-file", pub).mustSucceed(t, "init on the mirror store")
	siteCfg, _ := os.ReadFile(filepath.Join(site, "pin.yaml"))
	os.WriteFile(filepath.Join(site, "pin.yaml"), append(siteCfg, []byte(entries)...), 0o644)
	up := runPin(t, site, nil, "update").mustSucceed(t, "update from the mirror store")
	if !strings.Contains(up.out, "Up to date: 20 reference(s) already pinned to storage-service 1.0.0") {
		t.Fatalf("update from the mirror store:\n%s", up.out)
	}

	if cosign {
		refs := []string{prefix + "/bags_api@" + bags.Digest}
		if ociStore {
			repo := strings.TrimPrefix(store, "oci://")
			refs = append(refs, repo+":1.0.0", repo+":channel-stable") // a stable selection copies the stable index and what it lists
		}
		for _, ref := range refs {
			out, errOut, err := testenv.RunCosign(t, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--offline=true", ref)
			if err != nil {
				t.Fatalf("cosign verify on the mirror %s: %v\n%s%s", ref, err, out, errOut)
			}
		}
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestMirrorFlowInMemory runs the flow on the in-memory registry, with the
// documents mirrored into a directory store.
func TestMirrorFlowInMemory(t *testing.T) {
	t.Parallel()
	mirrorFlow(t, memRegistry(t), memRegistry(t), false, false)
}

// TestIntegrationMirrorTwoRegistries runs the flow between two real
// registries (docker-registry on two loopback ports) with stock cosign, with
// the documents mirrored into an oci:// store whose artifacts cosign verifies.
func TestIntegrationMirrorTwoRegistries(t *testing.T) {
	t.Parallel()
	testenv.Cosign(t)
	mirrorFlow(t, testenv.Registry(t), testenv.Registry(t), true, true)
}

func TestMirrorUsageErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyKeys(t, dir)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"mirror", "stable", "--to", "storage"}, "name the registry host"},
		{[]string{"mirror", "stable", "--to", "registry.example.org/s", "--source", "./x"}, "--source needs --key-file"},
		{[]string{"mirror", "stable", "--to", "registry.example.org/s", "--key-file", "k.pub"}, "--key-file goes with --source"},
		{[]string{"mirror", "stable", "--to", "registry.example.org/s", "--jobs", "0"}, "--jobs"},
		{[]string{"mirror", "stable", "--to", "registry.example.org/s"}, "no consumer config"},
		{[]string{"mirror", "stable", "--to", "registry.example.org/s", "--source", "./x", "--key-file", "release.pub", "--with-store", "https://x.example"}, "read-only"},
	} {
		r := runPin(t, dir, nil, tc.args...)
		if r.code != 2 || !strings.Contains(r.err, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with %q", tc.args, r.code, r.err, tc.want)
		}
	}
}
