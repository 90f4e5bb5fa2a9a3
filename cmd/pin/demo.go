package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/examples"
	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/producer"
	"github.com/wellcomecollection/pin/registry"
	"github.com/wellcomecollection/pin/signing"
)

type demoOptions struct {
	Keep string
}

func newDemoCmd(a *app) *cobra.Command {
	opts := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole flow on an in-process registry: release, promote, pin, audit, release again",
		Long: `Starts a registry inside this process on 127.0.0.1 (a free port), pushes
storage-service-like images for the 18 applications and 2 sidecars tagged latest
(some as two-platform indexes), generates a key pair, creates an edge release,
promotes it to stable, pins a copy of the example Terraform configuration to it,
then pushes a new latest for two services, cuts and promotes the next release,
and updates again. Nothing leaves this machine; no account is needed.`,
		Example: "  pin demo\n  pin demo --keep /tmp/pin-demo   # keep the store, keys and pinned config",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), a, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Keep, "keep", "", "leave the store (as a directory), keys and pinned config in this directory")
	return cmd
}

type demo struct {
	a       *app
	ctx     context.Context
	host    string
	client  *registry.Client
	dir     string
	signer  *signing.Signer
	prod    *producer.Producer // release.yaml and the Publisher on its store
	project string
	step    int
}

func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.a.Out, "\n==> %d. %s\n", d.step, fmt.Sprintf(format, args...))
}

func runDemo(ctx context.Context, a *app, opts *demoOptions) error {
	start := time.Now()
	dir, cleanup, err := demoDir(opts.Keep)
	if err != nil {
		return err
	}
	defer cleanup()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	srv := &http.Server{Handler: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	defer srv.Close()

	d := &demo{a: a, ctx: ctx, host: l.Addr().String(), client: registry.NewClient(registryOptions(a)...), dir: dir}
	if err := d.run(opts.Keep != ""); err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "\nDone in %.1fs.\n", time.Since(start).Seconds())
	return nil
}

// demoDir returns the demo's working directory, absolute: keep (made when
// missing), or a temporary directory that cleanup removes.
func demoDir(keep string) (dir string, cleanup func(), err error) {
	cleanup = func() {}
	if keep == "" {
		tmp, err := os.MkdirTemp("", "pin-demo-")
		if err != nil {
			return "", cleanup, err
		}
		cleanup = func() { os.RemoveAll(tmp) }
		keep = tmp
	} else if err := os.MkdirAll(keep, 0o755); err != nil {
		return "", cleanup, err
	}
	dir, err = filepath.Abs(keep)
	return dir, cleanup, err
}

// run is the demo's story: each step is told, then done.
func (d *demo) run(keep bool) error {
	all := append(append([]string{}, demoApps...), demoSidecars...)
	steps := []struct {
		title string
		do    []func() error
	}{
		{fmt.Sprintf("Started an in-process registry at %s; pushing latest for 18 apps and 2 sidecars", d.host),
			[]func() error{func() error { return d.pushLatest(all, 1) }, d.setup}},
		{"Producer: create release 1.0.0-edge.1 on edge from the current latest tags",
			[]func() error{func() error { return d.createAndPromote("1.0.0-edge.1", "1.0.0") }}},
		{"Consumer: copy the example Terraform config, pin init, pin update",
			[]func() error{d.initProject, d.update, d.audit}},
		{"Producer: new latest for bags_api and notifier, then release 1.1.0-edge.1 and promote it",
			[]func() error{func() error { return d.pushLatest([]string{"bags_api", "notifier"}, 2) }, func() error { return d.createAndPromote("1.1.0-edge.1", "1.1.0") }}},
		{"Consumer: pin update moves exactly the two changed images",
			[]func() error{d.update, d.audit}},
	}
	for _, s := range steps {
		d.say("%s", s.title)
		for _, do := range s.do {
			if err := do(); err != nil {
				return err
			}
		}
	}
	if keep {
		return d.keep()
	}
	return nil
}

func (d *demo) repo(svc string) string {
	ns := "y1p3h6z3"
	for _, s := range demoSidecars {
		if s == svc {
			ns = "l7a1d1z4"
		}
	}
	return d.host + "/" + ns + "/" + svc
}

// pushLatest pushes a fresh random image (every third one a linux/amd64 +
// linux/arm64 index) as latest for each service.
func (d *demo) pushLatest(svcs []string, generation int) error {
	for i, svc := range svcs {
		ref, err := name.NewTag(d.repo(svc)+":latest", name.Insecure)
		if err != nil {
			return err
		}
		if i%3 == 0 {
			idx, err := twoPlatformIndex()
			if err != nil {
				return err
			}
			if err := d.client.WriteIndex(d.ctx, ref, idx); err != nil {
				return err
			}
			continue
		}
		img, err := random.Image(512, 1)
		if err != nil {
			return err
		}
		if err := d.client.WriteImage(d.ctx, ref, img); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.a.Out, "    pushed %d image(s) (generation %d)\n", len(svcs), generation)
	return nil
}

func twoPlatformIndex() (v1.ImageIndex, error) {
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(512, 1)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	return mutate.AppendManifests(empty.Index, adds...), nil
}

// setup writes keys and release.yaml and opens the store.
func (d *demo) setup() error {
	keys := filepath.Join(d.dir, "keys")
	if err := os.MkdirAll(keys, 0o755); err != nil {
		return err
	}
	pw := []byte("demo")
	priv, pubPEM, err := signing.GenerateKeyPair(pw)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(keys, "release.key"), priv, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(keys, "release.pub"), pubPEM, 0o644); err != nil {
		return err
	}
	if d.signer, err = signing.LoadPrivateKey(priv, pw); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "product: storage-service\nsource: https://github.com/wellcomecollection/storage-service\nstore: oci://%s/storage-service-releases\n", d.host)
	b.WriteString("channels:\n  edge: {ttl: 168h}\n  stable: {ttl: 720h}\ncomponents:\n")
	for _, svc := range append(append([]string{}, demoApps...), demoSidecars...) {
		fmt.Fprintf(&b, "  - name: %s\n    image: %s:latest\n", svc, d.repo(svc))
	}
	path := filepath.Join(d.dir, "release.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return err
	}
	cfg, err := releaseconfig.Load(path)
	if err != nil {
		return err
	}
	store, err := channels.OpenWritable(cfg.Store, channels.OpenOptions{Signer: d.signer, Registry: registryOptions(d.a)})
	if err != nil {
		return err
	}
	// No publish record: the demo's store lives as long as the demo.
	d.prod = &producer.Producer{Config: cfg, Publisher: &channels.Publisher{Store: store, Signer: d.signer, Product: cfg.Product, Now: d.a.now}}
	fmt.Fprintf(d.a.Out, "    generated a cosign-format key pair in %s and wrote %s\n", keys, path)
	return nil
}

// createAndPromote creates edge on edge through the producer workflow, as
// pin release create does, and promotes it to stable.
func (d *demo) createAndPromote(edge, stable string) error {
	// The demo's images carry no revision labels: its notes would only say so.
	create, err := producer.NewCreate(d.prod.Config, producer.CreateOptions{
		BuildOptions: producer.BuildOptions{Jobs: 16, Registry: registryOptions(d.a), Progress: progressLine(d.a, "resolving"), Now: d.a.now},
		Version:      edge, Channel: channels.Edge,
	})
	if err != nil {
		return err
	}
	created, err := create.Run(d.ctx, d.prod.Publisher)
	if err != nil {
		return err
	}
	p := created.Published
	fmt.Fprintf(d.a.Out, "    $ pin release create %s --channel edge --key keys/release.key\n    published %s (%s), edge sequence %d\n", edge, edge, short(p.ReleaseDigest), p.Channel.Sequence)
	if p, err = d.prod.Promote(d.ctx, edge, channels.Stable, stable); err != nil {
		return err
	}
	fmt.Fprintf(d.a.Out, "    $ pin release promote %s --to stable\n    published %s (%s) with the same %d digests, stable sequence %d\n", edge, stable, short(p.ReleaseDigest), len(p.Release.Components), p.Channel.Sequence)
	return nil
}

func (d *demo) initProject() error {
	d.project = filepath.Join(d.dir, "deployment")
	// The example names the real registry; the demo's images live in the
	// in-process one, so the copy names that instead.
	hostify := strings.NewReplacer("public.ecr.aws/y1p3h6z3/", d.host+"/y1p3h6z3/", "public.ecr.aws/l7a1d1z4/", d.host+"/l7a1d1z4/")
	if err := copyFS(examples.Terraform, "terraform", d.project, hostify); err != nil {
		return err
	}
	_, err := pin.Init(d.ctx, pin.InitOptions{
		Path: filepath.Join(d.project, "pin.yaml"), Source: d.prod.Config.Store, Channel: channels.Stable,
		KeyFile: filepath.Join(d.dir, "keys", "release.pub"), Now: d.a.now,
		Open: channels.OpenOptions{Registry: registryOptions(d.a)},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(d.a.Out, "    $ pin init --source %s --channel stable --key-file keys/release.pub\n    wrote %s\n", d.prod.Config.Store, filepath.Join(d.project, "pin.yaml"))
	return nil
}

func (d *demo) update() error {
	cfg, err := pin.LoadConfig(filepath.Join(d.project, "pin.yaml"))
	if err != nil {
		return err
	}
	plan, err := pin.PlanUpdate(d.ctx, cfg, pin.UpdateOptions{Now: d.a.now, Open: channels.OpenOptions{Registry: registryOptions(d.a)}})
	if err != nil {
		return err
	}
	fmt.Fprintf(d.a.Out, "    $ pin update\n")
	fmt.Fprint(d.a.Out, indent(plan.Diff(), "    "))
	if err := plan.Apply(); err != nil {
		return err
	}
	fmt.Fprintf(d.a.Out, "    pinned %d reference(s) in %d file(s) to %s; pin.lock written\n", len(plan.Summary()), len(plan.Changes), plan.Release.Release.Version)
	res, err := pin.Check(d.ctx, cfg, pin.CheckOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(d.a.Out, "    $ pin check\n    OK: %d reference(s) match %s, %d finding(s)\n", res.References, res.Version, len(res.Findings))
	return nil
}

// audit prints what the pinned project runs, as `pin audit` does there.
func (d *demo) audit() error {
	fmt.Fprintf(d.a.Out, "    $ pin audit\n")
	var buf strings.Builder
	sub := *d.a
	sub.Out = &buf
	err := runAudit(d.ctx, &sub, &auditOptions{
		trustFlags: trustFlags{Config: filepath.Join(d.project, "pin.yaml")}, Paths: []string{d.project}, Output: outputTable,
		CacheDir: filepath.Join(d.dir, "cache"), relativeTo: d.project,
	})
	fmt.Fprint(d.a.Out, indent(buf.String(), "    "))
	return err
}

// keep exports the store to a directory and points the kept config at it, so
// `pin check --online` and `pin audit` work there after the registry is gone.
func (d *demo) keep() error {
	dst := channels.NewDirStore(filepath.Join(d.dir, "store"))
	for _, ch := range channels.Names {
		doc, err := d.prod.Publisher.Store.GetChannel(d.ctx, ch)
		if err != nil {
			return err
		}
		idx, err := channelVersions(doc)
		if err != nil {
			return err
		}
		for _, v := range idx {
			rd, err := d.prod.Publisher.Store.GetRelease(d.ctx, v)
			if err != nil {
				return err
			}
			if err := dst.PutRelease(d.ctx, v, rd); err != nil && !strings.Contains(err.Error(), "exists") {
				return err
			}
		}
		if err := dst.PutChannel(d.ctx, ch, doc); err != nil {
			return err
		}
	}
	cfgPath := filepath.Join(d.project, "pin.yaml")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		return err
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "source: ") {
			lines[i] = "source: ../store"
		}
	}
	if err := os.WriteFile(cfgPath, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		return err
	}
	relPath := filepath.Join(d.dir, "release.yaml")
	rb, err := os.ReadFile(relPath)
	if err != nil {
		return err
	}
	rb = []byte(strings.Replace(string(rb), "store: "+d.prod.Config.Store, "store: ./store", 1))
	if err := os.WriteFile(relPath, rb, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(d.a.Out, "\nKept in %s: store/ (directory store), keys/ (password \"demo\"), release.yaml (pointing at store/),\ndeployment/ (pinned config). Images lived in the in-process registry and are gone; the documents remain:\n  cd %s/deployment && pin check --online && pin audit\n  cd %s && pin release list --config release.yaml --key-file keys/release.pub\n", d.dir, d.dir, d.dir)
	return nil
}

func channelVersions(doc channels.Document) ([]string, error) {
	idx, err := manifest.DecodeChannel(doc.Bytes, manifest.Expect{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range idx.Releases {
		out = append(out, e.Version)
	}
	return out, nil
}

func copyFS(fsys fs.FS, root, dst string, r *strings.Replacer) error {
	return fs.WalkDir(fsys, root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		target := filepath.Join(dst, filepath.FromSlash(rel))
		if de.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, []byte(r.Replace(string(b))), 0o644)
	})
}

func indent(s, prefix string) string {
	if s == "" {
		return ""
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return prefix + strings.Join(lines, "\n"+prefix) + "\n"
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
