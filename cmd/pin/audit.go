package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/audit"
	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/rewrite"
	"github.com/wellcomecollection/pin/signing"
)

func init() {
	extraCommands = append(extraCommands, newAuditCmd)
}

type auditOptions struct {
	Paths    []string
	TFState  []string
	Config   string
	Source   string
	KeyFile  []string
	Channel  string
	Format   string
	FailOn   string
	All      bool
	Offline  bool
	CacheDir string
	// relativeTo is the directory locations are shown relative to (default: the working directory).
	relativeTo string
}

func newAuditCmd(a *app) *cobra.Command {
	opts := &auditOptions{}
	cmd := &cobra.Command{
		Use:   "audit [PATH...]",
		Short: "Say which release a deployment runs, from configs, Terraform state, ECS or Kubernetes JSON",
		Long: `Finds every image reference in the inputs (files, directories, or - for stdin):
Terraform, YAML, JSON and Dockerfiles as pin update reads them, terraform show -json
output and raw state files, aws ecs describe-task-definition/describe-services JSON,
and kubectl get -o json lists. Each reference gets a status against the verified
releases of the channel: current, outdated (N behind), yanked, unknown-digest,
unpinned, moved-tag, unsigned-source, or foreign (with --all). A tag that a release
recorded (ref.<commit>) is resolved and judged by the digest it names now; a
Terraform module source in the product's repository is judged by its ?ref= against
the releases' signed source revisions. Channel indexes and manifests
are cached by digest in $XDG_CACHE_HOME/pin and verified again on every read.`,
		Example: `  pin audit                                  # the project of ./pin.yaml
  pin audit infra/ --tfstate terraform.tfstate --output markdown
  aws ecs describe-task-definition --task-definition bags_api | pin audit - --source oci://registry.example/storage-service-releases --key-file release.pub
  kubectl get deploy -A -o json | pin audit - --fail-on unpinned,yanked,mixed`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			if cmd.Flags().Changed("format") {
				fmt.Fprintln(a.Err, "pin: warning: --format is deprecated: use --output (-o)")
			}
			return runAudit(cmd.Context(), a, opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.TFState, "tfstate", nil, "Terraform state file or terraform show -json output (repeatable)")
	cmd.Flags().StringVar(&opts.Config, "config", "", "consumer configuration (default: ./pin.yaml when present)")
	cmd.Flags().StringVar(&opts.Source, "source", "", "store to audit against (instead of pin.yaml)")
	cmd.Flags().StringArrayVar(&opts.KeyFile, "key-file", nil, "trusted public key, with --source (repeatable)")
	cmd.Flags().StringVar(&opts.Channel, "channel", "", "channel to judge against (default: pin.yaml's, or stable)")
	cmd.Flags().StringVarP(&opts.Format, "output", "o", "table", "output format: table, json or markdown")
	// --format was audit's own name for --output: still accepted, for
	// scripts written against it, with a deprecation note on stderr (cobra's
	// MarkDeprecated would print it on stdout, into the JSON).
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output format (deprecated: use --output)")
	_ = cmd.Flags().MarkHidden("format")
	cmd.Flags().StringVar(&opts.FailOn, "fail-on", "", "exit 4 on these findings: unpinned,unknown-digest,outdated,yanked,mixed,expired (a channel index not refreshed),moved-tag (exit 2 when the inputs hold nothing of the product)")
	cmd.Flags().BoolVar(&opts.All, "all", false, "also list foreign images (not components of the product)")
	cmd.Flags().BoolVar(&opts.Offline, "offline", false, "use pin.lock and the cache only; no network")
	cmd.Flags().StringVar(&opts.CacheDir, "cache-dir", "", "cache directory (default $XDG_CACHE_HOME/pin)")
	return cmd
}

func runAudit(ctx context.Context, a *app, opts *auditOptions) error {
	switch opts.Format {
	case "table", "json", "markdown":
	default:
		return exitcode.UsageError(fmt.Errorf("--output %q: use table, json or markdown", opts.Format))
	}
	failOn, err := audit.ParseFailOn(opts.FailOn)
	if err != nil {
		return exitcode.UsageError(err)
	}
	rsOpts, cfg, err := auditSource(ctx, a, opts)
	if err != nil {
		return err
	}
	var registryMap map[string]string
	if cfg != nil {
		registryMap = cfg.RegistryMap
	}
	cat := &audit.Catalog{Channel: rsOpts.Channel, Product: rsOpts.Product}
	rs, loadErr := pin.LoadReleaseSet(ctx, rsOpts)
	var m *pin.Matcher
	switch {
	case loadErr == nil:
		var union *manifest.Release
		m, union = fillCatalog(cat, rs, registryMap)
		if cfg != nil {
			if err := cfg.CheckRegistryMap(union); err != nil {
				return err
			}
			if err := cfg.CheckRepositories(union, rsOpts.Lock); err != nil {
				return err
			}
		}
	case exitcode.Of(loadErr) == exitcode.Trust:
		// Nothing is trusted; the unverified documents only say which
		// references belong to the product, so they can be flagged.
		cat.VerifyErr = loadErr
		if rel := pin.UnverifiedRelease(ctx, rsOpts); rel != nil {
			m = pin.NewMatcher(rel, registryMap)
			cat.Component = m.Component
			if cat.Product == "" {
				cat.Product = rel.Product + " (unverified)"
			}
		}
	default:
		return loadErr
	}
	paths := append(append([]string{}, opts.Paths...), opts.TFState...)
	if len(paths) == 0 {
		dir := "."
		if cfg != nil {
			dir = cfg.Dir()
		}
		paths = []string{dir}
		if cfg != nil && opts.relativeTo == "" {
			// The project's files, named relative to pin.yaml as check and
			// update name them, from whichever subdirectory pin runs in.
			opts.relativeTo = cfg.Dir()
		}
	}
	var eo audit.Options
	if m != nil {
		eo.Mentions = m.Mentions
	}
	found, allNotes, err := audit.ExtractPathsWith(paths, a.In, eo)
	if err != nil {
		return exitcode.UsageError(err)
	}
	source := ""
	if rs != nil {
		source = newestSource(rs).Repository
	}
	if found, allNotes, err = auditDeploy(ctx, a, opts, paths, m, source, cat, found, allNotes); err != nil {
		return exitcode.UsageError(err)
	}
	for i := range found {
		found[i].Source = relPath(opts.relativeTo, found[i].Source)
	}
	// Notes about foreign images are noise; keep skipped files and values that
	// name the product's repositories without being references pin can judge.
	var notes, unjudged []audit.Note
	for _, n := range allNotes {
		n.Source = relPath(opts.relativeTo, n.Source)
		switch {
		case n.Component == "":
			notes = append(notes, n)
		case m != nil && (m.Target(n.Component) != "" || isProductRepo(m, n.Component)):
			notes = append(notes, n)
			unjudged = append(unjudged, n)
		}
	}
	rep := audit.Evaluate(found, cat, opts.All)
	rep.Notes = notes
	switch opts.Format {
	case "json":
		err = rep.WriteJSON(a.Out)
	case "markdown":
		err = rep.WriteMarkdown(a.Out)
	default:
		err = rep.WriteTable(a.Out)
	}
	if err != nil {
		return err
	}
	if opts.Format == "table" {
		for _, n := range notes {
			fmt.Fprintf(a.Err, "pin: warning: %s\n", n)
		}
	}
	if rs != nil && len(rs.Expired) > 0 {
		fmt.Fprintf(a.Err, "pin: warning: channel index expired: %s (the publisher has not refreshed it)\n", strings.Join(rs.Expired, ", "))
	}
	if loadErr != nil {
		return loadErr
	}
	failed := rep.Failed(failOn)
	if len(unjudged) > 0 && contains(failOn, "unpinned") && !contains(failed, "unpinned") {
		// A product image pin cannot read as a pinned reference is not pinned.
		failed = append(failed, "unpinned")
	}
	if len(failed) > 0 {
		return silent(exitcode.FindingsError(fmt.Errorf("audit found %s", strings.Join(failed, ", "))))
	}
	if len(failOn) > 0 && productFindings(rep) == 0 && len(unjudged) == 0 {
		// A gate that looked at nothing of the product must not pass.
		return exitcode.UsageError(fmt.Errorf("nothing of %s found in %s: the audit checked nothing (give the deployment's configs, state or describe output)", orName(cat.Product), strings.Join(paths, ", ")))
	}
	return nil
}

// auditSource decides what to audit against: pin.yaml (explicit, or ./pin.yaml
// when present) or --source with --key-file.
func auditSource(ctx context.Context, a *app, opts *auditOptions) (pin.ReleaseSetOptions, *pin.Config, error) {
	o := pin.ReleaseSetOptions{Now: a.now, CacheDir: opts.CacheDir, Offline: opts.Offline,
		Open: channels.OpenOptions{Registry: registryOptions(a)}}
	if o.CacheDir == "" {
		o.CacheDir = pin.DefaultCacheDir()
	}
	cfgPath := opts.Config
	if cfgPath == "" && opts.Source == "" {
		if p := findConfig("pin.yaml"); p != "pin.yaml" {
			cfgPath = p
		} else if _, err := os.Stat("pin.yaml"); err == nil {
			cfgPath = "pin.yaml"
		}
	}
	var cfg *pin.Config
	switch {
	case cfgPath != "":
		var err error
		if cfg, err = pin.LoadConfig(cfgPath); err != nil {
			return o, nil, err
		}
		lock, err := pin.LoadLock(cfg.LockPath())
		if err != nil {
			return o, nil, err
		}
		if lock != nil {
			// The lock is the audit's floor and, offline, its release: a
			// lock pin.yaml could not have produced is refused, as by check.
			if err := pin.CheckLockFitsConfig(cfg, lock); err != nil {
				return o, nil, err
			}
		}
		anchor, err := pin.LockedAnchor(ctx, cfg, lock)
		if err != nil {
			return o, nil, err
		}
		o.Source, o.Product, o.Channel, o.Constraint, o.Anchor, o.Lock = cfg.Source, cfg.Product, cfg.Channel, cfg.Constraint, anchor, lock
		if opts.Source != "" {
			o.Source = opts.Source
		}
	case opts.Source != "":
		if len(opts.KeyFile) == 0 {
			return o, nil, exitcode.UsageError(errors.New("--source needs --key-file: audit verifies what it reads"))
		}
		v, err := signing.LoadVerifierFiles(opts.KeyFile...)
		if err != nil {
			return o, nil, exitcode.UsageError(err)
		}
		o.Source, o.Verifier, o.Channel = opts.Source, v, channels.Stable
	default:
		return o, nil, exitcode.UsageError(errors.New("nothing to audit against: pass --config pin.yaml, or --source STORE --key-file PUB (no pin.yaml here)"))
	}
	if opts.Channel != "" {
		if err := channels.ValidName(opts.Channel); err != nil {
			return o, nil, exitcode.UsageError(err)
		}
		o.Channel = opts.Channel
	}
	if opts.Offline && o.Lock == nil {
		if _, err := os.Stat(o.CacheDir); errors.Is(err, fs.ErrNotExist) {
			return o, nil, exitcode.UsageError(errors.New("--offline needs pin.lock or a cache from an earlier audit"))
		}
	}
	return o, cfg, nil
}

// fillCatalog turns a verified release set into the audit's catalog. The
// component map covers every component any visible release has.
func fillCatalog(cat *audit.Catalog, rs *pin.ReleaseSet, registryMap map[string]string) (*pin.Matcher, *manifest.Release) {
	cat.Product, cat.Channel, cat.Newest = rs.Product, rs.Channel, rs.Newest
	cat.Expired = append([]string(nil), rs.Expired...)
	union := &manifest.Release{Product: rs.Product, Version: "(releases on " + rs.Channel + ")", Source: newestSource(rs)}
	seen := map[string]bool{}
	for _, e := range rs.Entries {
		rel := rs.Releases[e.Version]
		if rel == nil {
			continue
		}
		cat.Releases = append(cat.Releases, audit.CatalogRelease{Version: e.Version, Channel: e.Channel, Yanked: e.Yanked, Reason: e.Reason, Release: rel})
		for _, c := range rel.Components {
			if !seen[c.Repository] {
				seen[c.Repository] = true
				union.Components = append(union.Components, c)
			}
		}
	}
	m := pin.NewMatcher(union, registryMap)
	cat.Component = m.Component
	return m, union
}

// relPath shows a location under base (default: the working directory)
// relative to it, as a person would type it.
func relPath(base, p string) string {
	if !filepath.IsAbs(p) {
		return p
	}
	if base == "" {
		wd, err := os.Getwd()
		if err != nil {
			return p
		}
		base = wd
	}
	if rel, err := filepath.Rel(base, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return rel
	}
	return p
}

// isProductRepo reports whether a note's subject, a repository as written,
// belongs to the product.
func isProductRepo(m *pin.Matcher, repo string) bool {
	r, _, _ := rewrite.SplitRef(repo)
	_, ok := m.Component(r)
	return ok
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
