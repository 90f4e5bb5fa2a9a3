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
	"github.com/wellcomecollection/pin/audit/catalog"
	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/signing"
)

type auditOptions struct {
	trustFlags
	Paths    []string
	TFState  []string
	Channel  string
	Output   string
	FailOn   string
	All      bool
	Offline  bool
	CacheDir string
	// relativeTo is the directory locations are shown relative to
	// (default: a.Dir, or pin.yaml's directory when no paths are given).
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
	opts.bind(cmd, consumerConfig, trustUsage{source: " (instead of pin.yaml's; needs --key-file)", keyFile: " (repeatable; with --source)"})
	cmd.Flags().StringVar(&opts.Channel, "channel", "", "channel to judge against (default: pin.yaml's, or stable)")
	bindOutput(cmd, &opts.Output, auditFormats...)
	// --format was audit's own name for --output: still accepted, for
	// scripts written against it, with a deprecation note on stderr (cobra's
	// MarkDeprecated would print it on stdout, into the JSON).
	bindOutputAlias(cmd, "format", &opts.Output, auditFormats...)
	cmd.Flags().StringVar(&opts.FailOn, "fail-on", "", "exit 4 on these findings: unpinned,unknown-digest,outdated,yanked,mixed,expired (a channel index not refreshed),moved-tag (exit 2 when the inputs hold nothing of the product)")
	cmd.Flags().BoolVar(&opts.All, "all", false, "also list foreign images (not components of the product)")
	cmd.Flags().BoolVar(&opts.Offline, "offline", false, "use pin.lock and the cache only; no network")
	cmd.Flags().StringVar(&opts.CacheDir, "cache-dir", "", "cache directory (default $XDG_CACHE_HOME/pin)")
	return cmd
}

// auditFormats are audit's output formats; the first is the default.
var auditFormats = []string{outputTable, outputJSON, outputMarkdown}

func runAudit(ctx context.Context, a *app, opts *auditOptions) error {
	if err := checkOutput(opts.Output, auditFormats...); err != nil {
		return err
	}
	failOn, err := audit.ParseFailOn(opts.FailOn)
	if err != nil {
		return exitcode.UsageError(err)
	}
	rsOpts, cfg, err := auditSource(ctx, a, opts)
	if err != nil {
		return err
	}
	cat, m, rs, err := catalog.Build(ctx, rsOpts, cfg)
	if err != nil {
		return err
	}
	loadErr := cat.VerifyErr
	found, notes, unjudged, paths, err := auditInputs(ctx, a, opts, cfg, m, cat, rs)
	if err != nil {
		return err
	}
	rep := audit.Evaluate(found, cat, opts.All)
	rep.Notes = notes
	if err := writeAuditReport(a, opts.Output, rep); err != nil {
		return err
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

// auditInputs extracts the references to judge from the paths given (or
// pin.yaml's directory), with their notes: notes about foreign images are
// noise; kept are skipped files and values that name the product's
// repositories without being references pin can judge (unjudged). The
// deployment sources found (module sources, tags releases recorded) are
// resolved against the releases in rs into cat. paths is what was read.
func auditInputs(ctx context.Context, a *app, opts *auditOptions, cfg *pin.Config, m *pin.Matcher, cat *audit.Catalog, rs *pin.ReleaseSet) (found []audit.Found, notes, unjudged []audit.Note, paths []string, err error) {
	paths = append(a.paths(opts.Paths), opts.TFState...)
	relativeTo := opts.relativeTo
	if relativeTo == "" {
		relativeTo = a.Dir
	}
	if len(paths) == 0 {
		dir := a.path(".")
		if cfg != nil {
			dir = cfg.Dir()
		}
		paths = []string{dir}
		if cfg != nil && opts.relativeTo == "" {
			// The project's files, named relative to pin.yaml as check and
			// update name them, from whichever subdirectory pin runs in.
			relativeTo = cfg.Dir()
		}
	}
	var eo audit.Options
	if m != nil {
		eo.Mentions = m.Mentions
	}
	found, allNotes, err := audit.ExtractPathsWith(paths, a.In, eo)
	if err != nil {
		return nil, nil, nil, nil, exitcode.UsageError(err)
	}
	source := ""
	if rs != nil {
		source = catalog.NewestSource(rs).Repository
	}
	if found, allNotes, err = auditDeploy(ctx, a, opts, paths, m, source, cat, found, allNotes); err != nil {
		return nil, nil, nil, nil, exitcode.UsageError(err)
	}
	for i := range found {
		found[i].Source = relPath(relativeTo, found[i].Source)
	}
	for _, n := range allNotes {
		n.Source = relPath(relativeTo, n.Source)
		switch {
		case n.Component == "":
			notes = append(notes, n)
		case m != nil && (m.Target(n.Component) != "" || catalog.IsProductRepo(m, n.Component)):
			notes = append(notes, n)
			unjudged = append(unjudged, n)
		}
	}
	return found, notes, unjudged, paths, nil
}

// writeAuditReport renders the report in format, and, for the table, its
// notes as warnings on stderr.
func writeAuditReport(a *app, format string, rep *audit.Report) error {
	cliAuditNotes(rep.Notes)
	var err error
	switch format {
	case outputJSON:
		err = rep.WriteJSON(a.Out)
	case outputMarkdown:
		err = rep.WriteMarkdown(a.Out)
	default:
		err = rep.WriteTable(a.Out)
	}
	if err != nil {
		return err
	}
	if format == outputTable {
		for _, n := range rep.Notes {
			fmt.Fprintf(a.Err, "pin: warning: %s\n", n)
		}
	}
	return nil
}

// auditSource decides what to audit against: pin.yaml (--config, or the
// project's pin.yaml when there is one) or --source with --key-file.
func auditSource(ctx context.Context, a *app, opts *auditOptions) (pin.ReleaseSetOptions, *pin.Config, error) {
	o := pin.ReleaseSetOptions{Now: a.now, CacheDir: opts.CacheDir, Offline: opts.Offline,
		Open: channels.OpenOptions{Registry: registryOptions(a)}}
	if o.CacheDir == "" {
		o.CacheDir = a.CacheDir
	}
	cfgPath := ""
	if opts.configGiven() {
		cfgPath = opts.Config
	} else if p := a.findConfig(consumerConfig.name); opts.Source == "" && fileExists(p) {
		cfgPath = p
	}
	var cfg *pin.Config
	var err error
	switch {
	case cfgPath != "":
		cfg, err = auditConfigSource(ctx, cfgPath, &o)
		if err == nil && opts.Source != "" {
			o.Source = a.path(opts.Source)
		}
	case opts.Source != "":
		if len(opts.KeyFile) == 0 {
			return o, nil, exitcode.UsageError(errors.New("--source needs --key-file: audit verifies what it reads"))
		}
		v, verr := signing.LoadVerifierFiles(opts.KeyFile...)
		if verr != nil {
			return o, nil, exitcode.UsageError(verr)
		}
		o.Source, o.Verifier, o.Channel = a.path(opts.Source), v, channels.Stable
	default:
		err = exitcode.UsageError(errors.New("nothing to audit against: pass --config pin.yaml, or --source STORE --key-file PUB (no pin.yaml here)"))
	}
	if err != nil {
		return o, nil, err
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

// auditConfigSource loads pin.yaml and pin.lock into o: the source,
// product, channel and constraint, and the trust anchor pin.lock records.
func auditConfigSource(ctx context.Context, cfgPath string, o *pin.ReleaseSetOptions) (*pin.Config, error) {
	cfg, err := pin.LoadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	lock, err := pin.LoadLock(cfg.LockPath())
	if err != nil {
		return nil, err
	}
	if lock != nil {
		// The lock is the audit's floor and, offline, its release: a
		// lock pin.yaml could not have produced is refused, as by check.
		if err := pin.CheckLockFitsConfig(cfg, lock); err != nil {
			return nil, err
		}
	}
	anchor, err := pin.LockedAnchor(ctx, cfg, lock)
	if err != nil {
		return nil, err
	}
	o.Source, o.Product, o.Channel, o.Constraint, o.Anchor, o.Lock = cfg.Source, cfg.Product, cfg.Channel, cfg.Constraint, anchor, lock
	return cfg, nil
}

// relPath shows a location under base relative to it, as a person would
// type it.
func relPath(base, p string) string {
	if !filepath.IsAbs(p) || base == "" {
		return p
	}
	if rel, err := filepath.Rel(base, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return rel
	}
	return p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
