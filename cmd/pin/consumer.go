package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/pin"
)

type initOptions struct {
	trustFlags // --config is the pin.yaml to write; --key-file at most one
	Channel    string
	RootSHA256 string
	Constraint string
	// SigstoreTrustedRoot checks the CI identities a root lists, offline.
	SigstoreTrustedRoot string
	Files               []string
	Style               string
	Force               bool
	Wait                time.Duration
}

func newInitCmd(a *app) *cobra.Command {
	opts := &initOptions{}
	cmd := &cobra.Command{
		Use:   "init --source STORE --channel stable|edge (--root-sha256 FINGERPRINT | --key-file K.pub)",
		Short: "Write a commented pin.yaml after checking the source serves a channel signed by the key",
		Long: `With --root-sha256 (the fingerprint of the producer's root of trust, given out of
band; pin root publish prints it), pin.yaml holds that root and pin follows the
producer's key rotations by itself. With --key-file it holds one key, which
cannot rotate.`,
		Example: `  pin init --source oci://registry.example/storage-service-releases --channel stable --key-file release.pub
  pin init --source https://releases.example.org/storage-service --channel edge --key-file release.pub --constraint "~1.5"
  pin init --source ./releases --channel stable --key-file release.pub --files "infra/**/*.tf" --style tag+digest`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInit(cmd.Context(), a, opts)
		},
	}
	opts.bind(cmd, consumerConfig, trustUsage{source: " (required)", keyFile: ": the publisher's (or --root-sha256)"})
	cmd.Flags().StringVar(&opts.Channel, "channel", channels.Stable, "channel to follow: stable or edge")
	cmd.Flags().StringVar(&opts.RootSHA256, "root-sha256", "", "fingerprint (hex sha256) of the producer's root of trust, found in the store")
	cmd.Flags().StringVar(&opts.SigstoreTrustedRoot, "sigstore-trusted-root", "", "Sigstore trusted_root.json for the CI identities the root lists (default: Sigstore's TUF repository)")
	cmd.Flags().StringVar(&opts.Constraint, "constraint", "", `SemVer constraint, e.g. "~1.5"`)
	cmd.Flags().StringArrayVar(&opts.Files, "files", nil, "file glob to manage (repeatable; default: Terraform, YAML, JSON, Dockerfiles)")
	cmd.Flags().StringVar(&opts.Style, "style", pin.StyleDigest, "reference style: digest or tag+digest")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "overwrite an existing pin.yaml")
	cmd.Flags().DurationVar(&opts.Wait, "lock-timeout", defaultLockWait, "how long to wait for another pin process writing the project")
	_ = cmd.MarkFlagRequired("source")
	return cmd
}

func runInit(ctx context.Context, a *app, opts *initOptions) error {
	if opts.Style != pin.StyleDigest && opts.Style != pin.StyleTagDigest {
		return exitcode.UsageError(fmt.Errorf("--style %q: use digest or tag+digest", opts.Style))
	}
	keyFile := ""
	switch len(opts.KeyFile) {
	case 0:
	case 1:
		keyFile = opts.KeyFile[0]
	default:
		return exitcode.UsageError(errors.New("pin init takes one --key-file: pin.yaml trusts one key (for several, and rotation, start from a root of trust: --root-sha256)"))
	}
	unlock, err := lockProject(ctx, a, opts.Config, opts.Wait)
	if err != nil {
		return err
	}
	defer unlock()
	cfg, err := pin.Init(ctx, pin.InitOptions{
		Path: opts.Config, Dir: a.Dir, Source: opts.Source, Channel: opts.Channel, KeyFile: keyFile, RootSHA256: opts.RootSHA256, SigstoreTrustedRoot: opts.SigstoreTrustedRoot,
		Constraint: opts.Constraint, Files: opts.Files, Style: opts.Style, Force: opts.Force, Now: a.now,
		Open: channels.OpenOptions{Registry: registryOptions(a)},
	})
	if err != nil {
		return err
	}
	trust := "signed by the key in " + keyFile
	if opts.RootSHA256 != "" {
		trust = "trusting root of trust sha256 " + opts.RootSHA256
	}
	fmt.Fprintf(a.Out, "Wrote %s: %s on %s, %s.\nNext: pin update --dry-run\n", opts.Config, cfg.Product, cfg.Channel, trust)
	return nil
}

type updateOptions struct {
	Config         string
	To             string
	DryRun         bool
	AllowDowngrade bool
	ExitCode       bool
	Output         string
	Wait           time.Duration
	Hold           bool
	Reason         string
	Unhold         bool
	Summary        string
}

func newUpdateCmd(a *app) *cobra.Command {
	opts := &updateOptions{}
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Move every managed image reference to the newest trusted release",
		Long: `Verifies the channel index and the release (signature by a key in pin.yaml, not
expired, no rollback below pin.lock, right product and channel, manifest digest as
listed, no downgrade, never a yanked release) before a byte is written; then
rewrites only the image references, prints a unified diff, writes all files
all-or-nothing, and records what it did in pin.lock.`,
		Example: "  pin update --dry-run\n  pin update\n  pin update --to 1.5.0 --allow-downgrade\n  pin update --dry-run --exit-code   # exit 4 when an update is available\n  pin update --to 1.4.2 --hold --reason \"1.5 breaks ingests (INC-42)\"\n  pin update --unhold\n  pin update --summary markdown > pr-body.md",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runUpdate(cmd.Context(), a, opts)
		},
	}
	bindConfig(cmd, &opts.Config, consumerConfig)
	cmd.Flags().StringVar(&opts.To, "to", "", "move to exactly this version (may go down)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the diff and write nothing")
	cmd.Flags().BoolVar(&opts.AllowDowngrade, "allow-downgrade", false, "allow the newest allowed version to be lower than pin.lock's")
	cmd.Flags().BoolVar(&opts.ExitCode, "exit-code", false, "exit 4 when an update is available (--dry-run) or was made")
	bindOutput(cmd, &opts.Output, textOrJSON...)
	cmd.Flags().DurationVar(&opts.Wait, "lock-timeout", defaultLockWait, "how long to wait for another pin process writing the project")
	cmd.Flags().BoolVar(&opts.Hold, "hold", false, "stay on the selected release (with --to: that one) until --unhold; needs --reason, recorded in pin.lock")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why the project is held (with --hold)")
	cmd.Flags().BoolVar(&opts.Unhold, "unhold", false, "release pin.lock's hold and update as usual")
	cmd.Flags().StringVar(&opts.Summary, "summary", "", "print a summary instead of the diff: markdown (a pull request body)")
	return cmd
}

// defaultLockWait is how long a writing command waits for another by default.
const defaultLockWait = time.Minute

// lockProject takes the write lock of the project whose pin.yaml is config
// (see pin.LockProject), saying on stderr when it has to wait.
func lockProject(ctx context.Context, a *app, config string, wait time.Duration) (func() error, error) {
	return pin.LockProject(ctx, config, pin.LockOptions{Wait: wait, Waiting: func(pid int) {
		who := "another pin process"
		if pid > 0 {
			who = fmt.Sprintf("another pin process (pid %d)", pid)
		}
		fmt.Fprintf(a.Err, "pin: waiting for %s to finish writing %s (up to %s) ...\n", who, filepath.Dir(config), wait)
	}})
}

type updateJSON struct {
	Version    string                `json:"version"`
	Channel    string                `json:"channel"`
	Digest     string                `json:"manifestDigest"`
	Previous   string                `json:"previous,omitempty"`
	DryRun     bool                  `json:"dryRun"`
	Changed    bool                  `json:"changed"`
	Files      []string              `json:"files"`
	References []pin.LockedReference `json:"references"`
	Warnings   []string              `json:"warnings"`
	Diff       string                `json:"diff"`
	// Held is pin.lock's hold, when it kept the project on its release.
	Held *pin.Hold `json:"held"`
	// MovedOffYanked names the yanked release the update moved away from.
	MovedOffYanked *yankedJSON `json:"movedOffYanked"`
}

type yankedJSON struct {
	Version string `json:"version"`
	Channel string `json:"channel"`
	Reason  string `json:"reason"`
}

func runUpdate(ctx context.Context, a *app, opts *updateOptions) error {
	if opts.Summary != "" && opts.Summary != "markdown" {
		return exitcode.UsageError(fmt.Errorf("--summary %q: use markdown", opts.Summary))
	}
	if opts.Summary != "" && opts.Output == outputJSON {
		return exitcode.UsageError(fmt.Errorf("--summary and --output json both choose what stdout holds: give one"))
	}
	plan, err := planUpdate(ctx, a, opts)
	if err != nil {
		return err
	}
	for _, n := range plan.RootNotes {
		fmt.Fprintf(a.Err, "pin: note: %s\n", cliText(n))
	}
	switch {
	case opts.Output == outputJSON:
		if err := writeJSON(a.Out, newUpdateJSON(plan, opts.DryRun)); err != nil {
			return err
		}
	case opts.Summary == "markdown":
		for _, w := range plan.Warnings {
			if !pin.IsUnmanaged(w) { // those are the error below
				fmt.Fprintf(a.Err, "pin: warning: %s\n", cliText(w.String()))
			}
		}
		fmt.Fprint(a.Out, plan.MarkdownSummary())
	default:
		printUpdate(a, plan, opts.DryRun)
	}
	// What was pinned is written; product values left unpinned still fail
	// the run, so a bot or CI never reports a half-pinned tree as done.
	if err := pin.UnmanagedError(plan.Warnings); err != nil {
		return err
	}
	if opts.ExitCode && plan.FilesChanged() {
		return silent(exitcode.FindingsError(fmt.Errorf("update available: %s", plan.Release.Release.Version)))
	}
	return nil
}

// planUpdate plans the update pin.yaml asks for and, unless it is a dry
// run, applies it under the project's write lock.
func planUpdate(ctx context.Context, a *app, opts *updateOptions) (*pin.Plan, error) {
	cfg, err := pin.LoadConfig(a.findConfig(opts.Config))
	if err != nil {
		return nil, err
	}
	if !opts.DryRun {
		// Held from before pin.lock is read until it is written: two updates
		// planned from one pin.lock would each roll the other back.
		unlock, err := lockProject(ctx, a, cfg.Path, opts.Wait)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	stopNotice := slowNotice(a, fmt.Sprintf("pin: reading and verifying %s %s", cfg.Channel, cfg.SourceAsWritten))
	plan, err := pin.PlanUpdate(ctx, cfg, pin.UpdateOptions{
		To: opts.To, AllowDowngrade: opts.AllowDowngrade, Now: a.now,
		Hold: opts.Hold, HoldReason: opts.Reason, Unhold: opts.Unhold,
		Open: channels.OpenOptions{Registry: registryOptions(a)},
	})
	stopNotice()
	if err != nil || opts.DryRun {
		return plan, err
	}
	if plan.Interrupted {
		fmt.Fprintf(a.Err, "pin: warning: an earlier pin update was interrupted after replacing some files (it left %s); completing it\n", pin.PendingLockName)
	}
	return plan, plan.Apply()
}

// previousVersion is the version pin.lock held before the update ("" for
// the first).
func previousVersion(plan *pin.Plan) string {
	if plan.OldLock == nil {
		return ""
	}
	return plan.OldLock.Version
}

func newUpdateJSON(plan *pin.Plan, dryRun bool) updateJSON {
	out := updateJSON{Version: plan.Release.Release.Version, Channel: plan.Selected.Channel, Digest: plan.Release.Digest, Previous: previousVersion(plan),
		DryRun: dryRun, Changed: plan.FilesChanged(), Files: []string{}, References: currentReferences(plan), Warnings: []string{}, Diff: plan.Diff(), Held: plan.Held}
	for _, c := range plan.Changes {
		out.Files = append(out.Files, c.File.Rel)
	}
	for _, w := range plan.Warnings {
		out.Warnings = append(out.Warnings, cliText(w.String()))
	}
	if y := plan.MovedOffYanked; y != nil {
		out.MovedOffYanked = &yankedJSON{Version: y.Version, Channel: y.Channel, Reason: y.Reason}
	}
	if out.References == nil {
		out.References = []pin.LockedReference{}
	}
	return out
}

// printUpdate reports an update as text: the diff, warnings, hold and yank
// notes, and one summary line.
func printUpdate(a *app, plan *pin.Plan, dryRun bool) {
	diff := plan.Diff()
	if a.colour() {
		diff = colourDiff(diff)
	}
	fmt.Fprint(a.Out, diff)
	for _, w := range plan.Warnings {
		fmt.Fprintf(a.Err, "pin: warning: %s\n", cliText(w.String()))
	}
	printHoldAndYank(a, plan, dryRun)
	rel, prev := plan.Release.Release, previousVersion(plan)
	switch {
	case !plan.FilesChanged() && prev != "" && prev != rel.Version:
		fmt.Fprintf(a.Out, "%s %s %s (%s) in pin.lock, was %s; no file changes: the %d reference(s) list the same digests.\n", map[bool]string{true: "Would record", false: "Recorded"}[dryRun], rel.Product, rel.Version, plan.Selected.Channel, prev, plan.Managed())
	case !plan.FilesChanged():
		fmt.Fprintf(a.Out, "Up to date: %d reference(s) already pinned to %s %s (%s).\n", plan.Managed(), rel.Product, rel.Version, plan.Selected.Channel)
	default:
		verb := map[bool]string{true: "Would pin", false: "Pinned"}[dryRun]
		fmt.Fprintf(a.Out, "%s %d reference(s) in %d file(s) to %s %s (%s, %s).\n", verb, plan.ChangedCount(), len(plan.Changes), rel.Product, rel.Version, plan.Selected.Channel, plan.Release.Digest)
	}
}

type checkOptions struct {
	Config string
	Online bool
	Output string
	FailOn string
}

func newCheckCmd(a *app) *cobra.Command {
	opts := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Fail when the files drift from the verified release in pin.lock (for CI)",
		Long: `Offline by default: verifies pin.lock's signed manifest with pin.yaml's keys and
checks that every managed reference equals what the release pins. Exit 0 clean,
4 drift (each listed with file:line), 3 trust failure. --online also reports a
newer allowed release, a yanked current release and an expired channel.`,
		Example: "  pin check\n  pin check --online --output json\n  pin check --online --fail-on drift,unpinned,missing,yanked   # report, do not fail on, update-available",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runCheck(cmd.Context(), a, opts)
		},
	}
	bindConfig(cmd, &opts.Config, consumerConfig)
	cmd.Flags().BoolVar(&opts.Online, "online", false, "also ask the source about newer, yanked and expired releases")
	bindOutput(cmd, &opts.Output, textOrJSON...)
	cmd.Flags().StringVar(&opts.FailOn, "fail-on", "", "exit 4 only on these finding kinds (default: all): "+strings.Join(pin.FindingKinds, ","))
	return cmd
}

func runCheck(ctx context.Context, a *app, opts *checkOptions) error {
	failOn, err := pin.ParseFailOn(opts.FailOn)
	if err != nil {
		return err
	}
	cfg, err := pin.LoadConfig(a.findConfig(opts.Config))
	if err != nil {
		return err
	}
	stopNotice := slowNotice(a, "pin: checking against "+cfg.SourceAsWritten)
	res, err := pin.Check(ctx, cfg, pin.CheckOptions{Online: opts.Online, Now: a.now, Open: channels.OpenOptions{Registry: registryOptions(a)}})
	stopNotice()
	if err != nil {
		return err
	}
	cliFindings(res)
	if opts.Output == outputJSON {
		if err := writeJSON(a.Out, res); err != nil {
			return err
		}
	} else {
		for _, w := range res.Warnings {
			fmt.Fprintf(a.Err, "pin: warning: %s\n", cliText(w.String()))
		}
		how := "verified offline from pin.lock"
		if opts.Online {
			how = "verified from pin.lock; the source lists nothing newer and the channel is current"
		}
		if res.References == 0 {
			fmt.Fprintf(a.Err, "pin: warning: no managed image references found under %s (files: %v): nothing was checked\n", cfg.Dir(), cfg.Files)
		}
		if len(res.Findings) == 0 {
			fmt.Fprintf(a.Out, "OK: %d reference(s) match %s %s (%s), %s.\n", res.References, cfg.Product, res.Version, res.Digest, how)
		} else {
			tw := tabwriter.NewWriter(a.Out, 0, 4, 2, ' ', 0)
			for _, f := range res.Findings {
				loc := "-"
				if f.File != "" {
					loc = fmt.Sprintf("%s:%d", f.File, f.Line)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", loc, f.Kind, f.Message)
			}
			tw.Flush()
			fmt.Fprintf(a.Out, "%d finding(s) against %s %s", len(res.Findings), cfg.Product, res.Version)
			if n := len(res.Failing(failOn)); n < len(res.Findings) {
				fmt.Fprintf(a.Out, "; %d of them fail the check (--fail-on %s)", n, opts.FailOn)
			}
			fmt.Fprintln(a.Out, ".")
		}
	}
	if failing := res.Failing(failOn); len(failing) > 0 {
		return silent(exitcode.FindingsError(fmt.Errorf("%d finding(s)", len(failing))))
	}
	return nil
}

// findConfig returns path, or, when it is the default pin.yaml and the
// working directory has none, the nearest pin.yaml in a parent directory of
// a.Dir, so pin works from anywhere inside a project, as git does.
func (a *app) findConfig(path string) string {
	if path != consumerConfig.name && path != a.path(consumerConfig.name) {
		return path
	}
	path = a.path(consumerConfig.name)
	if _, err := os.Stat(path); err == nil || a.Dir == "" {
		return path
	}
	for dir := a.Dir; ; {
		candidate := filepath.Join(dir, consumerConfig.name)
		if _, err := os.Stat(candidate); err == nil {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return path
		}
		dir = parent
	}
}
