package pin

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/rewrite"
	"github.com/wellcomecollection/pin/signing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// examplesDir holds the example configurations shipped with pin.
const examplesDir = "../examples"

// exampleNow is the fixed clock of the example tests.
var exampleNow = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// exampleCase is one example tree pinned in one style.
type exampleCase struct {
	tree    string            // directory under examples/
	golden  string            // directory under testdata/examples/
	style   string            // reference style in pin.yaml
	pinned  map[string]int    // component => references pinned; nil: every component once
	foreign []string          // references of other products that must survive byte for byte
	mirror  map[string]string // registryMap written into pin.yaml
}

var exampleCases = []exampleCase{
	{tree: "terraform", golden: "terraform", style: StyleDigest, pinned: nil,
		foreign: []string{`"public.ecr.aws/docker/library/redis:7"`}},
	{tree: "terraform", golden: "terraform-tag-digest", style: StyleTagDigest, pinned: nil,
		foreign: []string{`"public.ecr.aws/docker/library/redis:7"`}},
	{tree: "terraform", golden: "terraform-mirror", style: StyleDigest, pinned: nil,
		foreign: []string{`"public.ecr.aws/docker/library/redis:7"`},
		mirror:  map[string]string{"public.ecr.aws/y1p3h6z3": "123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage"}},
	{tree: "compose", golden: "compose", style: StyleDigest,
		pinned:  map[string]int{"bags_api": 1, "ingests_api": 1, "ingests_worker": 1, "bag_verifier": 1, "nginx_apigw": 1},
		foreign: []string{"image: localstack/localstack:3.4\n", "image: docker.elastic.co/elasticsearch/elasticsearch:8.13.4\n"}},
	{tree: "kubernetes", golden: "kubernetes", style: StyleDigest,
		pinned:  map[string]int{"bags_api": 1, "nginx_apigw": 1, "fluentbit": 3, "bag_verifier": 1, "notifier": 1},
		foreign: []string{"image: public.ecr.aws/docker/library/busybox:1.36\n"}},
}

// exampleRelease builds release 1.5.0 from examples/release.yaml: every
// component, with a digest derived from its name so outputs are stable.
func exampleRelease(t *testing.T) *manifest.Release {
	path := filepath.Join(examplesDir, "release.yaml")
	b, err := os.ReadFile(path)
	if err == nil {
		var rc *releaseconfig.Config
		if rc, err = releaseconfig.Parse(path, b); err == nil {
			rel := &manifest.Release{SchemaVersion: 1, Kind: manifest.KindRelease, Product: rc.Product, Version: "1.5.0",
				Created: exampleNow.Add(-time.Hour), Source: manifest.Source{Repository: rc.Source, Revision: strings.Repeat("5", 40)}}
			for _, c := range rc.Components {
				repo, tag, _ := rewrite.SplitRef(c.Image)
				rel.Components = append(rel.Components, manifest.Component{Name: c.Name, Repository: repo, Tag: tag,
					Digest: manifest.Digest([]byte(c.Name + "1.5.0")), MediaType: "application/vnd.oci.image.manifest.v1+json"})
			}
			sort.Slice(rel.Components, func(i, j int) bool { return rel.Components[i].Name < rel.Components[j].Name })
			return rel
		}
	}
	t.Fatal(err)
	return nil
}

func TestExampleReleaseConfig(t *testing.T) {
	path := filepath.Join(examplesDir, "release.yaml")
	rc, err := releaseconfig.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Product != "storage-service" || rc.Store != "oci://public.ecr.aws/y1p3h6z3/storage-service-releases" {
		t.Errorf("product %q, store %q", rc.Product, rc.Store)
	}
	if rc.Channels["edge"].TTL != 168*time.Hour || rc.Channels["stable"].TTL != 720*time.Hour || len(rc.Channels) != 2 {
		t.Errorf("channels: %+v", rc.Channels)
	}
	apps := []string{"bags_api", "ingests_api", "ingests_indexer", "ingests_tracker", "ingests_worker", "notifier",
		"bag_versioner", "bag_register", "bag_tagger", "bag_replicator", "bag_root_finder", "bag_tracker", "bag_verifier",
		"bag_unpacker", "bag_indexer", "file_finder", "file_indexer", "replica_aggregator"}
	want := map[string]string{}
	for _, a := range apps {
		want[a] = "public.ecr.aws/y1p3h6z3/" + a + ":latest"
	}
	want["fluentbit"] = "public.ecr.aws/l7a1d1z4/fluentbit:latest"
	want["nginx_apigw"] = "public.ecr.aws/l7a1d1z4/nginx_apigw:latest"
	if len(rc.Components) != len(want) {
		t.Errorf("%d components, want %d", len(rc.Components), len(want))
	}
	for _, c := range rc.Components {
		if want[c.Name] != c.Image {
			t.Errorf("component %s: image %q, want %q", c.Name, c.Image, want[c.Name])
		}
	}
}

// TestExampleWorkflows keeps the GitHub Actions examples valid YAML with the
// jobs the README describes, each running the pin command it is for.
func TestExampleWorkflows(t *testing.T) {
	for file, jobs := range map[string]map[string]string{
		"github-release.yml":     {"edge": "pin release create", "refresh": "pin channel refresh", "promote": "pin release promote"},
		"github-release-kms.yml": {"edge": "pin release create", "refresh": "pin channel refresh", "promote": "pin release promote"},
		"github-check.yml":       {"check": "pin check", "update": "pin update"},
	} {
		b, err := os.ReadFile(filepath.Join(examplesDir, "ci", file))
		if err != nil {
			t.Fatal(err)
		}
		var wf struct {
			On   map[string]any `yaml:"on"`
			Jobs map[string]struct {
				Steps []struct {
					Run string `yaml:"run"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(b, &wf); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(wf.On) == 0 {
			t.Errorf("%s: no triggers", file)
		}
		for job, cmd := range jobs {
			found := false
			for _, s := range wf.Jobs[job].Steps {
				found = found || strings.Contains(s.Run, cmd)
			}
			if !found {
				t.Errorf("%s: job %q does not run %q", file, job, cmd)
			}
		}
	}
}

// TestExamples pins each example tree to a release of all 20 components and
// compares the result with golden copies in testdata/examples/ (refresh them
// with go test ./pin -run Examples -update).
func TestExamples(t *testing.T) {
	for _, tc := range exampleCases {
		t.Run(tc.golden, func(t *testing.T) { runExample(t, tc) })
	}
}

func runExample(t *testing.T, tc exampleCase) {
	ctx := context.Background()
	now := func() time.Time { return exampleNow }

	// The producer: a key and a directory store with 1.5.0 on stable.
	signer, err := signing.NewEphemeralSigner()
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, err := signer.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	pubPath := filepath.Join(t.TempDir(), "release.pub")
	if err := os.WriteFile(pubPath, pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	store := channels.NewDirStore(filepath.Join(t.TempDir(), "store"))
	rel := exampleRelease(t)
	pub := &channels.Publisher{Store: store, Signer: signer, Product: rel.Product, Now: now}
	if _, err := pub.Create(ctx, rel, channels.Stable, 720*time.Hour); err != nil {
		t.Fatal(err)
	}

	// The consumer: a copy of the example tree.
	src := filepath.Join(examplesDir, tc.tree)
	dir := t.TempDir()
	before := readTree(t, src)
	writeTree(t, dir, before)
	cfg, err := Init(ctx, InitOptions{Path: filepath.Join(dir, "pin.yaml"), Source: store.String(), Channel: channels.Stable,
		KeyFile: pubPath, Style: tc.style, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if tc.mirror != nil {
		cfg.RegistryMap = tc.mirror
		if err := os.WriteFile(cfg.Path, cfg.Encode(), 0o644); err != nil {
			t.Fatal(err)
		}
		if cfg, err = LoadConfig(cfg.Path); err != nil {
			t.Fatal(err)
		}
	}

	plan, err := PlanUpdate(ctx, cfg, UpdateOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range plan.Warnings {
		t.Errorf("warning: %s", w)
	}
	if plan.Release.Release.Version != "1.5.0" {
		t.Fatalf("selected %s, want 1.5.0", plan.Release.Release.Version)
	}
	wantPinned := tc.pinned
	if wantPinned == nil {
		wantPinned = map[string]int{}
		for _, c := range rel.Components {
			wantPinned[c.Name] = 1
		}
	}
	got := map[string]int{}
	total := 0
	for _, r := range plan.Refs {
		got[r.Component]++
		total++
		if r.Value == r.New {
			t.Errorf("%s:%d: %s is already %s before the first update", r.File, r.Line, r.Component, r.Value)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(wantPinned) {
		t.Errorf("references pinned per component:\n got %v\nwant %v", got, wantPinned)
	}
	if err := plan.Apply(); err != nil {
		t.Fatal(err)
	}
	after := readTree(t, dir)
	lockBytes := after["pin.lock"]
	delete(after, "pin.lock")
	delete(after, "pin.yaml")

	// Independent of the golden files: the result is the example with each
	// managed repo:latest replaced by what the release pins, nothing else.
	m := NewMatcher(rel, tc.mirror)
	for name, old := range before {
		want := old
		for _, c := range rel.Components {
			want = strings.ReplaceAll(want, c.Repository+":latest", NewValue("", m.Target(c.Name), c, rel.Version, tc.style))
		}
		if after[name] != want {
			t.Errorf("%s after update:\n%s\nwant:\n%s", name, after[name], want)
		}
		for _, f := range tc.foreign {
			if strings.Count(old, f) != strings.Count(after[name], f) {
				t.Errorf("%s: foreign reference %q was touched", name, f)
			}
		}
	}
	for _, f := range tc.foreign {
		if !strings.Contains(strings.Join(mapValues(after), ""), f) {
			t.Errorf("foreign reference %q is not in the example at all", f)
		}
	}
	if len(after) != len(before) {
		t.Errorf("update left %d files, the example has %d", len(after), len(before))
	}

	// The golden copies, for review: only the files pin changed. Unchanged
	// files are checked byte for byte against the example above, so a copy
	// of them would only repeat examples/.
	changed := map[string]string{}
	for name, content := range after {
		if content != before[name] {
			changed[name] = content
		}
	}
	golden := filepath.Join("testdata", "examples", tc.golden)
	lock, err := LoadLock(cfg.LockPath())
	if err != nil {
		t.Fatal(err)
	}
	var refs strings.Builder
	for _, r := range lock.References {
		fmt.Fprintf(&refs, "%s:%d %s %s\n  %s\n  %s\n", r.File, r.Line, r.Component, r.Field, r.Old, r.New)
	}
	if *updateGolden {
		if err := os.RemoveAll(golden); err != nil {
			t.Fatal(err)
		}
		writeTree(t, golden, changed)
		if err := os.WriteFile(golden+".lock-references.txt", []byte(refs.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readTree(t, golden)
	for name := range union(changed, want) {
		if changed[name] != want[name] {
			t.Errorf("%s differs from %s (run go test ./pin -run Examples -update and review the diff):\n%s", name,
				filepath.Join(golden, name), UnifiedDiff(name, []byte(want[name]), []byte(changed[name])))
		}
	}
	wantRefs, err := os.ReadFile(golden + ".lock-references.txt")
	if err != nil {
		t.Fatal(err)
	}
	if refs.String() != string(wantRefs) {
		t.Errorf("pin.lock references differ from %s.lock-references.txt:\n%s", golden,
			UnifiedDiff("references", wantRefs, []byte(refs.String())))
	}
	if len(lock.References) != total || lock.Version != "1.5.0" || lock.ReleaseChannel != channels.Stable {
		t.Errorf("pin.lock: %d references (want %d), version %s on %s", len(lock.References), total, lock.Version, lock.ReleaseChannel)
	}

	// A second run changes nothing, the lock included.
	plan2, err := PlanUpdate(ctx, cfg, UpdateOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if plan2.Changed() {
		t.Errorf("second update would change something:\n%s", plan2.Diff())
	}
	if err := plan2.Apply(); err != nil {
		t.Fatal(err)
	}
	again := readTree(t, dir)
	if again["pin.lock"] != lockBytes {
		t.Errorf("second update rewrote pin.lock")
	}

	// Check agrees: every reference pinned, nothing to report.
	res, err := Check(ctx, cfg, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || len(res.Warnings) != 0 || res.References != total || res.Version != "1.5.0" {
		t.Errorf("check: %d references (want %d), version %s, findings %v, warnings %v", res.References, total, res.Version, res.Findings, res.Notes)
	}

	// And is not vacuous: put one file back as shipped and every managed
	// reference in it is reported unpinned.
	first := plan.Refs[0].File
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(first)), []byte(before[first]), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = Check(ctx, cfg, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inFirst := 0
	for _, r := range plan.Refs {
		if r.File == first {
			inFirst++
		}
	}
	if len(res.Findings) != inFirst {
		t.Errorf("check after restoring %s: %d findings, want %d: %v", first, len(res.Findings), inFirst, res.Findings)
	}
	for _, f := range res.Findings {
		if f.Kind != FindingUnpinned || f.File != first {
			t.Errorf("check after restoring %s: unexpected finding %s", first, f)
		}
	}
}

// readTree returns every file under dir by slash-separated relative path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func union(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
