package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/reponame"
	"github.com/wellcomecollection/pin/mirror"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/registry"
	"github.com/wellcomecollection/pin/signing"
)

type mirrorOptions struct {
	trustFlags
	To        string
	Jobs      int
	DryRun    bool
	WithStore string
	Output    string
}

// mirrorBlobTimeout bounds one request of a mirror: a layer upload can take
// far longer than a manifest fetch.
const mirrorBlobTimeout = 30 * time.Minute

func newMirrorCmd(a *app) *cobra.Command {
	opts := &mirrorOptions{}
	cmd := &cobra.Command{
		Use:   "mirror VERSION|CHANNEL --to PREFIX",
		Short: "Copy a verified release's images and signatures into your own registry",
		Long: `Verifies the release exactly as pin update does (pin.yaml's keys, product, channel,
expiry and pin.lock's rollback history; or --source with --key-file), then copies
each component by digest to PREFIX/<component>, tagged with the release version:
indexes with every platform image, and the cosign signatures (.sig), attestations
(.att) and referrers attached to them. Blobs already there are skipped, blobs
shared between components are mounted, and every copied manifest is read back and
its digest compared with the release's. A second run uploads nothing; an
interrupted run resumes. Prints the registryMap entries that point pin.yaml at
the mirror.

VERSION may be a channel name (stable, edge): the release pin update would select
there now (pin.yaml's constraint applies when it follows that channel).
--with-store DIR|oci://HOST/REPO also copies the signed channel indexes and
releases, after the images, so a site can run from its own copy entirely; they
keep the publisher's signatures.`,
		Example: `  pin mirror stable --to registry.example.org/storage
  pin mirror 1.5.0 --to registry.example.org/storage --with-store oci://registry.example.org/storage/releases
  pin mirror edge --to registry.example.org/storage --source oci://releases.example/storage-service --key-file release.pub --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMirror(cmd.Context(), a, args[0], opts)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "registry prefix to copy to: HOST[/NAMESPACE] (required)")
	opts.bind(cmd, consumerConfig, trustUsage{source: " (instead of pin.yaml's; needs --key-file)", keyFile: " (repeatable; with --source)"})
	cmd.Flags().IntVar(&opts.Jobs, "jobs", mirror.DefaultJobs, "blobs copied at once")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "verify and report what would be copied; write nothing")
	cmd.Flags().StringVar(&opts.WithStore, "with-store", "", "also copy the signed channel indexes and releases to this store (directory or oci://)")
	bindOutput(cmd, &opts.Output, textOrJSON...)
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

type mirrorJSON struct {
	*mirror.Result
	Product        string         `json:"product"`
	Channel        string         `json:"channel"`
	ManifestDigest string         `json:"manifestDigest"`
	Store          *pin.StoreCopy `json:"store,omitempty"`
}

func runMirror(ctx context.Context, a *app, what string, opts *mirrorOptions) error {
	if opts.Jobs < 1 {
		return exitcode.UsageError(fmt.Errorf("--jobs %d: at least 1", opts.Jobs))
	}
	prefix, err := reponame.ParsePrefix(opts.To)
	if err != nil {
		return exitcode.UsageError(fmt.Errorf("--to: %w", err))
	}
	regOpts := append(registryOptions(a), registry.WithTimeout(mirrorBlobTimeout))
	so, cfg, err := mirrorSource(a, opts, regOpts)
	if err != nil {
		return err
	}
	var dstStore channels.Store
	if opts.WithStore != "" {
		dstStore, err = channels.OpenWritable(opts.WithStore, channels.OpenOptions{Registry: regOpts})
		if errors.Is(err, channels.ErrReadOnly) {
			return exitcode.UsageError(fmt.Errorf("--with-store %s: an https:// store is read-only; give a directory (served by any static host) or oci://", opts.WithStore))
		}
		if err != nil {
			return exitcode.UsageError(fmt.Errorf("--with-store: %w", err))
		}
	}
	sel, err := pin.SelectRelease(ctx, what, so)
	if err != nil {
		return err
	}
	words := mirrorVerbs(opts.DryRun)
	progress := func(cr mirror.ComponentResult) {
		if opts.Output == outputText {
			fmt.Fprintf(a.Err, "pin: %s: %d blob(s) %s, %d %s, %d already there; %d manifest(s) %s\n",
				cr.Name, cr.BlobsUploaded, words.uploaded, cr.BlobsMounted, words.mounted, cr.BlobsPresent, cr.Manifests, words.pushed)
		}
	}
	client := registry.NewClient(regOpts...)
	res, err := mirror.Mirror(ctx, sel.Release.Release, prefix, mirror.Options{Jobs: opts.Jobs, DryRun: opts.DryRun, Client: client, Progress: progress})
	if err != nil {
		return err
	}
	// The documents go after the images: a store must never list a release
	// whose images the mirror does not have yet.
	var sc *pin.StoreCopy
	if dstStore != nil {
		if sc, err = mirror.CopyStore(ctx, sel, dstStore, mirror.Options{Jobs: opts.Jobs, DryRun: opts.DryRun, Client: client}); err != nil {
			return err
		}
	}
	if opts.Output == outputJSON {
		rel := sel.Release.Release
		return writeJSON(a.Out, mirrorJSON{Result: res, Product: rel.Product, Channel: sel.Selected.Channel, ManifestDigest: sel.Release.Digest, Store: sc})
	}
	printMirror(a, opts, sel, res, prefix, dstStore, sc, cfg)
	return nil
}

// mirrorSource decides what a mirror trusts: --source with --key-file, or
// pin.yaml's source and keys (and pin.lock's history).
func mirrorSource(a *app, opts *mirrorOptions, regOpts []registry.Option) (pin.SelectOptions, *pin.Config, error) {
	so := pin.SelectOptions{Now: a.now, Open: channels.OpenOptions{Registry: regOpts}}
	switch {
	case opts.Source != "":
		if len(opts.KeyFile) == 0 {
			return so, nil, exitcode.UsageError(errors.New("--source needs --key-file: mirror copies only what it has verified"))
		}
		v, err := signing.LoadVerifierFiles(opts.KeyFile...)
		if err != nil {
			return so, nil, exitcode.UsageError(err)
		}
		so.Source, so.Verifier = a.path(opts.Source), v
		return so, nil, nil
	case len(opts.KeyFile) > 0:
		return so, nil, exitcode.UsageError(errors.New("--key-file goes with --source; with pin.yaml, its keys are trusted"))
	}
	cfg, err := pin.LoadConfig(a.findConfig(opts.Config))
	if err != nil {
		return so, nil, err
	}
	so.Config = cfg
	return so, cfg, nil
}

// mirrorWords are the verbs of a mirror's report: done, or to do (--dry-run).
type mirrorWords struct{ uploaded, mounted, pushed, written string }

func mirrorVerbs(dryRun bool) mirrorWords {
	if dryRun {
		return mirrorWords{"to upload", "to mount", "to push", "to write"}
	}
	return mirrorWords{"uploaded", "mounted", "pushed", "written"}
}

// printMirror reports a mirror run as text, ending with the registryMap
// entries pin.yaml needs (unless it has them).
func printMirror(a *app, opts *mirrorOptions, sel *pin.Selection, res *mirror.Result, prefix string, dstStore channels.Store, sc *pin.StoreCopy, cfg *pin.Config) {
	rel, t, words := sel.Release.Release, res.Total, mirrorVerbs(opts.DryRun)
	verb := "Mirrored"
	if opts.DryRun {
		verb = "Would mirror"
	}
	fmt.Fprintf(a.Out, "%s %s %s (%s, %s): %d component(s) to %s/<component>, tagged %s.\n", verb, rel.Product, rel.Version, sel.Selected.Channel, sel.Release.Digest, len(res.Components), prefix, rel.Version)
	fmt.Fprintf(a.Out, "Blobs: %d %s (%s), %d %s, %d already there. Manifests: %d %s, %d already there. Signatures, attestations and referrers: %d.\n",
		t.BlobsUploaded, words.uploaded, byteSize(t.BytesUploaded), t.BlobsMounted, words.mounted, t.BlobsPresent, t.Manifests, words.pushed, t.ManifestsPresent, t.Signatures)
	if !opts.DryRun {
		fmt.Fprintf(a.Out, "Every component read back from the mirror hashes to the release's digest.\n")
	}
	if sc != nil {
		fmt.Fprintf(a.Out, "Store %s: %d release(s) and %d channel index(es) %s, %d already there", dstStore, len(sc.Releases), len(sc.Channels), words.written, sc.Present)
		if len(sc.Kept) > 0 {
			fmt.Fprintf(a.Out, "; kept its newer %s index", strings.Join(sc.Kept, ", "))
		}
		if len(sc.Resigned) > 0 {
			fmt.Fprintf(a.Out, "; took the new signatures of re-signed %s", strings.Join(sc.Resigned, ", "))
		}
		fmt.Fprintln(a.Out, ".")
	}
	if cfg != nil && reponame.Contains(cfg.RegistryMap, res.RegistryMap) {
		fmt.Fprintf(a.Out, "%s's registryMap already points at this mirror.\n", cfg.Path)
		return
	}
	fmt.Fprintf(a.Out, "\nAdd to pin.yaml, then run pin update:\n\nregistryMap:\n")
	for _, l := range reponame.Lines(res.RegistryMap) {
		from, to, _ := strings.Cut(l, ": ")
		fmt.Fprintf(a.Out, "  %q: %q\n", from, to)
	}
}

// byteSize renders n bytes for people: 1.5 MB.
func byteSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
