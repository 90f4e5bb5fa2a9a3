package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/internal/termsafe"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/producer"
	"github.com/wellcomecollection/pin/registry"
	"github.com/wellcomecollection/pin/signing"
)

func newReleaseCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "release",
		Short: "Create, promote, yank and inspect signed releases",
		Example: `  pin release create 1.5.0-edge.1 --channel edge --key release.key
  pin release promote 1.5.0-edge.1 --to stable --key release.key
  pin release list --config release.yaml`,
		Args: cobra.NoArgs,
		RunE: groupHelp,
	}
	cmd.AddCommand(
		newReleaseCreateCmd(a),
		newReleasePromoteCmd(a),
		newReleaseYankCmd(a),
		newReleaseResignCmd(a),
		newReleaseListCmd(a),
		newReleaseShowCmd(a),
		newReleaseDiffCmd(a),
		newReleaseNextCmd(a),
	)
	return cmd
}

// producerFlags are shared by the commands that sign and publish.
type producerFlags struct {
	Config        string
	Key           string
	Output        string
	IdentityToken string
	// IndexKey signs channel indexes when the store's root gives the index
	// role its own key; CoSignKeys add signatures for a threshold over one.
	IndexKey   string
	CoSignKeys []string
	// Record is the publish record (default: release.state.json next to
	// release.yaml); NewChannel and AdoptStore are its two explicit
	// overrides. See channels.Record.
	Record     string
	NewChannel bool
	AdoptStore bool
}

func (f *producerFlags) bind(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Config, "config", "release.yaml", "release configuration file")
	cmd.Flags().StringVar(&f.Key, "key", "", "key that signs: a cosign key file (password from COSIGN_PASSWORD), env://VAR, awskms:///alias/NAME, or "+keylessKeyRef+" (keyless: the CI job's identity, Fulcio and Rekor)")
	cmd.Flags().StringVar(&f.IdentityToken, "identity-token", "", "with --key "+keylessKeyRef+": file holding the OIDC identity token (default: SIGSTORE_ID_TOKEN, GitHub Actions or Buildkite)")
	cmd.Flags().StringVarP(&f.Output, "output", "o", "text", "output format: text or json")
	cmd.Flags().StringVar(&f.IndexKey, "index-key", "", "key that signs channel indexes, when the store's root lists another key for the index role than for releases (default: --key)")
	cmd.Flags().StringArrayVar(&f.CoSignKeys, "co-sign-key", nil, "a further key that signs what the root lists it for: each release, for a release role whose threshold is over one, and each channel index, for an index role's (repeatable)")
	cmd.Flags().StringVar(&f.Record, "record", "", "publish record: what this pipeline last published per channel, committed with release.yaml (default: "+channels.DefaultRecordName+" next to --config)")
	cmd.Flags().BoolVar(&f.NewChannel, "new-channel", false, "start a channel the store lost again, empty, after the sequence the publish record holds")
	cmd.Flags().BoolVar(&f.AdoptStore, "adopt-store", false, "trust the store's current channel indexes that the publish record does not know yet, and record them")
}

// noteNewRecord tells the user to commit a publish record this run created.
func noteNewRecord(a *app, pub *channels.Publisher) {
	if pub != nil && pub.Record != nil && pub.Record.Created() {
		fmt.Fprintf(a.Err, "pin: wrote the publish record %s: commit it with release.yaml (the next publish checks the store against it)\n", pub.Record.Path)
	}
}

// openProducer loads release.yaml and the keys and opens the store for writing.
func (f *producerFlags) openProducer(ctx context.Context, a *app) (*producer.Producer, error) {
	if err := checkOutput(f.Output, "text", "json"); err != nil {
		return nil, err
	}
	cfg, err := releaseconfig.Load(f.Config)
	if err != nil {
		return nil, err
	}
	return f.open(ctx, a, cfg)
}

// open loads the keys the flags name (or the keyless signer) and opens
// cfg's store for writing.
func (f *producerFlags) open(ctx context.Context, a *app, cfg *releaseconfig.Config) (*producer.Producer, error) {
	o := producer.Options{RecordPath: f.Record, NewChannel: f.NewChannel, AdoptStore: f.AdoptStore,
		Registry: registryOptions(a), Now: a.now,
		Waiting: func(holder, store string) {
			fmt.Fprintf(a.Err, "pin: waiting for another publisher (%s) to finish with %s (up to %s) ...\n", holder, store, channels.DefaultLockWait)
		}}
	var err error
	if o.Signer, err = f.signer(ctx, a, cfg); err != nil {
		return nil, err
	}
	if f.IndexKey != "" {
		if o.IndexSigner, err = loadSigner(ctx, a, f.IndexKey); err != nil {
			return nil, err
		}
	}
	for _, ref := range f.CoSignKeys {
		s, err := loadSigner(ctx, a, ref)
		if err != nil {
			return nil, err
		}
		o.CoSigners = append(o.CoSigners, s)
	}
	return producer.Open(ctx, cfg, o)
}

// signer loads the key --key names, or the keyless signer.
func (f *producerFlags) signer(ctx context.Context, a *app, cfg *releaseconfig.Config) (*signing.Signer, error) {
	switch {
	case f.Key == keylessKeyRef:
		return keylessSigner(a, cfg, f.IdentityToken)
	case f.IdentityToken != "":
		return nil, exitcode.UsageError(fmt.Errorf("--identity-token is for keyless signing (--key %s)", keylessKeyRef))
	default:
		return loadSigner(ctx, a, f.Key)
	}
}

type releaseCreateOptions struct {
	producerFlags
	Version             string
	Channel             string
	Revision            string
	AllowMixedRevisions bool
	DryRun              bool
	Jobs                int
	Base                string // with VERSION auto: see pin release next
}

func newReleaseCreateCmd(a *app) *cobra.Command {
	opts := &releaseCreateOptions{}
	cmd := &cobra.Command{
		Use:   "create VERSION --channel edge|stable --key KEY",
		Short: "Resolve every component to a digest, sign the release and publish it on a channel",
		Long: `Resolves every component of release.yaml concurrently (digests computed from the
manifest bytes fetched, never taken from a header), builds the release manifest,
signs it, publishes it to the store, and lists it on the channel's index with
sequence+1 and a new expiry. Refuses versions that are not strict SemVer, do not
fit the channel (stable: X.Y.Z; edge: X.Y.Z-edge.N). VERSION auto takes the
channel's next free version (see pin release next). Rerunning a create with the
same content changes nothing and succeeds; a taken version with other content
is refused.

A release is one commit's images. --revision fills {revision} in release.yaml's
images (bags_api:ref.{revision}) and is recorded as the release's
source.revision. Each image's org.opencontainers.image.revision label is read
(each platform image's, for an index): a release whose components name
different revisions is refused unless --allow-mixed-revisions is given, and then
the manifest records each component's revision. Right before signing, every tag
is resolved once more: a tag that moved meanwhile is refused.`,
		Example: `  pin release create 1.5.0-edge.1 --config release.yaml --channel edge --key release.key
  pin release create 1.5.0-edge.2 --channel edge --dry-run --output json
  pin release create 1.5.0-edge.3 --channel edge --key release.key --revision "$GITHUB_SHA"
  pin release create 1.5.0-edge.4 --channel edge --key release.key --allow-mixed-revisions
  pin release create auto --channel edge --key release.key   # the next free edge version`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Version = args[0]
			return runReleaseCreate(cmd.Context(), a, opts)
		},
	}
	opts.bind(cmd)
	cmd.Flags().StringVar(&opts.Channel, "channel", "", "channel to publish on: edge or stable (required)")
	cmd.Flags().StringVar(&opts.Revision, "revision", "", "source revision (git commit): fills {revision} in release.yaml's images, recorded as source.revision")
	cmd.Flags().BoolVar(&opts.AllowMixedRevisions, "allow-mixed-revisions", false, "publish components built from different revisions, recording each one's")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "resolve and print the release; sign and publish nothing")
	cmd.Flags().IntVar(&opts.Jobs, "jobs", registry.DefaultJobs, "concurrent registry requests")
	cmd.Flags().StringVar(&opts.Base, "base", "", "with VERSION auto: X.Y.Z to use when it is ahead of stable (see pin release next)")
	_ = cmd.MarkFlagRequired("channel")
	return cmd
}

func runReleaseCreate(ctx context.Context, a *app, opts *releaseCreateOptions) error {
	if err := checkOutput(opts.Output, "text", "json"); err != nil {
		return err
	}
	if opts.Jobs < 1 {
		return exitcode.UsageError(fmt.Errorf("--jobs must be at least 1, got %d", opts.Jobs))
	}
	cfg, err := releaseconfig.Load(opts.Config)
	if err != nil {
		return err
	}
	// A bad version or --revision, or {revision} without one, is refused before a key is loaded.
	create, err := producer.NewCreate(cfg, opts.createOptions(a))
	if err != nil {
		return err
	}
	var pub *channels.Publisher // nil: a dry run
	if !opts.DryRun {
		prod, err := opts.open(ctx, a, cfg)
		if err != nil {
			return err
		}
		pub = prod.Publisher
		defer noteNewRecord(a, pub)
	}
	created, err := create.Run(ctx, pub)
	if err != nil {
		return err
	}
	return printCreated(a, opts, created)
}

// createOptions are the flags as the producer workflow takes them.
func (opts *releaseCreateOptions) createOptions(a *app) producer.CreateOptions {
	return producer.CreateOptions{
		BuildOptions: producer.BuildOptions{
			Revision: opts.Revision, AllowMixedRevisions: opts.AllowMixedRevisions, Jobs: opts.Jobs,
			Registry: registryOptions(a), Progress: progressLine(a, "resolving"), Now: a.now,
		},
		Version: opts.Version, Channel: opts.Channel, Base: opts.Base,
		Warn: func(note string) { fmt.Fprintf(a.Err, "pin: warning: %s\n", cliText(note)) },
	}
}

// printCreated renders what release create did, or would do in a dry run.
func printCreated(a *app, opts *releaseCreateOptions, c *producer.Created) error {
	p := c.Published
	if p == nil {
		if opts.Output == "json" {
			return writeJSON(a.Out, c.Release)
		}
		fmt.Fprintf(a.Out, "Dry run: %s %s on %s would contain:\n", c.Release.Product, c.Release.Version, opts.Channel)
		printComponents(a.Out, c.Release.Components)
		return nil
	}
	headline := fmt.Sprintf("Published %s %s on %s", p.Release.Product, p.Release.Version, opts.Channel)
	if p.Unchanged {
		headline = fmt.Sprintf("%s %s is already published on %s with this content: nothing to do", p.Release.Product, p.Release.Version, opts.Channel)
	}
	return printPublished(a, opts.Output, p, headline)
}

// progressLine returns a progress callback that redraws one line on stderr
// when it is a terminal, and nil (no output) when it is not.
func progressLine(a *app, what string) func(done, total int) {
	if !a.showProgress() {
		return nil
	}
	w := a.rawErr // its own \r and erase-line must reach the terminal
	if w == nil {
		w = a.Err
	}
	return func(done, total int) {
		fmt.Fprintf(w, "\r%s %d/%d", termsafe.Clean([]byte(what)), done, total)
		if done == total {
			fmt.Fprint(w, "\r\033[K")
		}
	}
}

func printComponents(w io.Writer, cs []manifest.Component) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	mixed := mixedRevisions(cs)
	header := "  COMPONENT\tFROM\tDIGEST\tPLATFORMS"
	if mixed {
		header += "\tREVISION"
	}
	fmt.Fprintln(tw, header)
	for _, c := range cs {
		var ps, revs []string
		for _, p := range c.Platforms {
			ps = append(ps, p.String())
			if p.Revision != "" {
				revs = append(revs, p.String()+"="+p.Revision)
			}
		}
		from := c.Repository
		if c.Tag != "" {
			from += ":" + c.Tag
		}
		row := fmt.Sprintf("  %s\t%s\t%s\t%s", c.Name, from, c.Digest, strings.Join(ps, ","))
		if mixed {
			rev := c.Revision
			if len(revs) > 0 {
				rev = strings.Join(revs, ",")
			}
			if rev == "" {
				rev = "unknown"
			}
			row += "\t" + rev
		}
		fmt.Fprintln(tw, row)
	}
	tw.Flush()
}

// mixedRevisions reports whether the manifest records revisions per
// component: a release made with --allow-mixed-revisions.
func mixedRevisions(cs []manifest.Component) bool {
	for _, c := range cs {
		if c.Revision != "" {
			return true
		}
		for _, p := range c.Platforms {
			if p.Revision != "" {
				return true
			}
		}
	}
	return false
}

func printPublished(a *app, output string, p *channels.Published, headline string) error {
	if output == "json" {
		return writeJSON(a.Out, p)
	}
	fmt.Fprintln(a.Out, headline)
	if p.Release != nil {
		fmt.Fprintf(a.Out, "  release   %s\n", p.ReleaseDigest)
		if p.Release.PromotedFrom != nil {
			fmt.Fprintf(a.Out, "  promoted from %s (%s)\n", p.Release.PromotedFrom.Version, p.Release.PromotedFrom.Digest)
		}
	}
	fmt.Fprintf(a.Out, "  channel   %s sequence %d, expires %s (%s)\n", p.Channel.Channel, p.Channel.Sequence, p.Channel.Expires.Format(time.RFC3339), p.ChannelDigest)
	if p.Release != nil {
		printComponents(a.Out, p.Release.Components)
	}
	return nil
}

type releasePromoteOptions struct {
	producerFlags
	Version string
	To      string
	As      string
}

func newReleasePromoteCmd(a *app) *cobra.Command {
	opts := &releasePromoteOptions{}
	cmd := &cobra.Command{
		Use:   "promote VERSION --to stable [--as X.Y.Z]",
		Short: "Publish an edge release on stable with exactly the same digests",
		Long: `Promotion rebuilds and re-resolves nothing: the new stable release lists the
component digests of the edge release and records it in promotedFrom. The
stable version is the edge version's X.Y.Z (1.5.0-edge.3 becomes 1.5.0).`,
		Example: "  pin release promote 1.5.0-edge.3 --to stable --config release.yaml --key release.key\n  pin release promote 1.5.0-edge.3 --to stable --as 1.5.0 --key release.key",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Version = args[0]
			return runReleasePromote(cmd.Context(), a, opts)
		},
	}
	opts.bind(cmd)
	cmd.Flags().StringVar(&opts.To, "to", channels.Stable, "channel to promote to")
	cmd.Flags().StringVar(&opts.As, "as", "", "version on the target channel (default: X.Y.Z of VERSION)")
	return cmd
}

func runReleasePromote(ctx context.Context, a *app, opts *releasePromoteOptions) error {
	if _, err := manifest.ParseVersion(opts.Version); err != nil {
		return exitcode.UsageError(err)
	}
	prod, err := opts.openProducer(ctx, a)
	if err != nil {
		return err
	}
	defer noteNewRecord(a, prod.Publisher)
	p, err := prod.Promote(ctx, opts.Version, opts.To, opts.As)
	if err != nil {
		return err
	}
	headline := fmt.Sprintf("Promoted %s to %s as %s", opts.Version, opts.To, p.Release.Version)
	if p.Unchanged {
		headline = fmt.Sprintf("%s is already promoted to %s as %s: nothing to do", opts.Version, opts.To, p.Release.Version)
	}
	return printPublished(a, opts.Output, p, headline)
}

type releaseYankOptions struct {
	producerFlags
	Version string
	Channel string
	Reason  string
}

func newReleaseYankCmd(a *app) *cobra.Command {
	opts := &releaseYankOptions{}
	cmd := &cobra.Command{
		Use:     "yank VERSION --channel C --reason TEXT",
		Short:   "Mark a release as withdrawn on a channel",
		Long:    "A yanked release stays listed (so audits can name it) but is never selected by pin update; pin check --online and pin audit report deployments that run it.",
		Example: `  pin release yank 1.5.0 --channel stable --reason "bag verifier rejects valid bags" --key release.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Version = args[0]
			return runReleaseYank(cmd.Context(), a, opts)
		},
	}
	opts.bind(cmd)
	cmd.Flags().StringVar(&opts.Channel, "channel", "", "channel to yank from (required)")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why, shown to consumers (required)")
	_ = cmd.MarkFlagRequired("channel")
	_ = cmd.MarkFlagRequired("reason")
	return cmd
}

func runReleaseYank(ctx context.Context, a *app, opts *releaseYankOptions) error {
	if strings.TrimSpace(opts.Reason) == "" {
		return exitcode.UsageError(errors.New("a yank needs --reason: consumers see it"))
	}
	prod, err := opts.openProducer(ctx, a)
	if err != nil {
		return err
	}
	defer noteNewRecord(a, prod.Publisher)
	p, err := prod.Yank(ctx, opts.Channel, opts.Version, opts.Reason)
	if err != nil {
		return err
	}
	return printPublished(a, opts.Output, p, fmt.Sprintf("Yanked %s on %s: %s", opts.Version, opts.Channel, opts.Reason))
}

type releaseListOptions struct {
	sourceFlags
	Channel string
}

func newReleaseListCmd(a *app) *cobra.Command {
	opts := &releaseListOptions{}
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the releases on each channel",
		Example: "  pin release list --config release.yaml\n  pin release list --source oci://registry.example/storage-service-releases --key-file release.pub --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReleaseList(cmd.Context(), a, opts)
		},
	}
	opts.bind(cmd)
	cmd.Flags().StringVar(&opts.Channel, "channel", "", "list only this channel")
	return cmd
}

type listedRelease struct {
	Channel string    `json:"channel"`
	Version string    `json:"version"`
	Digest  string    `json:"digest"`
	Created time.Time `json:"created"`
	Yanked  bool      `json:"yanked"`
	Reason  string    `json:"reason,omitempty"`
}

func runReleaseList(ctx context.Context, a *app, opts *releaseListOptions) error {
	src, err := opts.open(ctx, a)
	if err != nil {
		return err
	}
	names := channels.Names
	if opts.Channel != "" {
		if err := channels.ValidName(opts.Channel); err != nil {
			return exitcode.UsageError(err)
		}
		names = []string{opts.Channel}
	}
	out := []listedRelease{}
	found := 0
	for _, name := range names {
		idx, _, err := src.channel(ctx, name)
		if errors.Is(err, channels.ErrNotFound) && opts.Channel == "" {
			continue
		}
		if err != nil {
			return err
		}
		found++
		for _, e := range idx.Releases {
			out = append(out, listedRelease{Channel: name, Version: e.Version, Digest: e.Digest, Created: e.Created, Yanked: e.Yanked, Reason: e.Reason})
		}
	}
	if found == 0 {
		return exitcode.UsageError(fmt.Errorf("%s has no channels yet", src.store))
	}
	if opts.Output == "json" {
		return writeJSON(a.Out, out)
	}
	tw := tabwriter.NewWriter(a.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANNEL\tVERSION\tCREATED\tDIGEST\tSTATUS")
	for _, r := range out {
		status := ""
		if r.Yanked {
			status = "yanked: " + r.Reason
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Channel, r.Version, r.Created.Format(time.RFC3339), r.Digest, status)
	}
	return tw.Flush()
}

type releaseShowOptions struct {
	sourceFlags
	Version string
}

func newReleaseShowCmd(a *app) *cobra.Command {
	opts := &releaseShowOptions{}
	cmd := &cobra.Command{
		Use:   "show VERSION",
		Short: "Show a release manifest",
		Long:  "With --output json, prints the manifest document byte for byte (the bytes that were signed), so it can be piped to cosign verify-blob.",
		Example: `  pin release show 1.5.0 --config release.yaml
  pin release show 1.5.0 --source ./releases --key-file release.pub --output json > 1.5.0.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Version = args[0]
			return runReleaseShow(cmd.Context(), a, opts)
		},
	}
	opts.bind(cmd)
	return cmd
}

func runReleaseShow(ctx context.Context, a *app, opts *releaseShowOptions) error {
	src, err := opts.open(ctx, a)
	if err != nil {
		return err
	}
	vr, err := src.release(ctx, opts.Version)
	if err != nil {
		return err
	}
	rel, doc := vr.Release, vr.Doc
	if vr.Unlisted {
		fmt.Fprintf(a.Err, "pin: note: no channel in %s lists %s\n", src.store, opts.Version)
	}
	if opts.Output == "json" {
		return writeDocument(a, doc.Bytes)
	}
	fmt.Fprintf(a.Out, "%s %s\n  digest   %s\n  created  %s\n  source   %s", rel.Product, rel.Version, manifest.Digest(doc.Bytes), rel.Created.Format(time.RFC3339), rel.Source.Repository)
	if rel.Source.Revision != "" {
		fmt.Fprintf(a.Out, " @ %s", rel.Source.Revision)
	}
	if mixedRevisions(rel.Components) {
		fmt.Fprint(a.Out, " (components from several revisions: see REVISION)")
	}
	fmt.Fprintln(a.Out)
	if rel.PromotedFrom != nil {
		fmt.Fprintf(a.Out, "  promoted from %s (%s)\n", rel.PromotedFrom.Version, rel.PromotedFrom.Digest)
	}
	printComponents(a.Out, rel.Components)
	return nil
}

// writeDocument prints a signed document exactly; a newline is added only
// for a terminal, so redirected output hashes to the document's digest.
func writeDocument(a *app, b []byte) error {
	if _, err := a.Out.Write(b); err != nil {
		return err
	}
	if a.OutTTY {
		_, err := fmt.Fprintln(a.Out)
		return err
	}
	return nil
}

type releaseDiffOptions struct {
	sourceFlags
	From, To string
	All      bool
}

func newReleaseDiffCmd(a *app) *cobra.Command {
	opts := &releaseDiffOptions{}
	cmd := &cobra.Command{
		Use:     "diff A B",
		Short:   "Show which component digests differ between two releases",
		Example: "  pin release diff 1.5.0 1.6.0-edge.1 --config release.yaml\n  pin release diff 1.5.0 1.6.0 --source ./releases --output json",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.From, opts.To = args[0], args[1]
			return runReleaseDiff(cmd.Context(), a, opts)
		},
	}
	opts.bind(cmd)
	cmd.Flags().BoolVar(&opts.All, "all", false, "list unchanged components too")
	return cmd
}

func runReleaseDiff(ctx context.Context, a *app, opts *releaseDiffOptions) error {
	src, err := opts.open(ctx, a)
	if err != nil {
		return err
	}
	from, err := src.release(ctx, opts.From)
	if err != nil {
		return err
	}
	to, err := src.release(ctx, opts.To)
	if err != nil {
		return err
	}
	changes := manifest.Diff(from.Release, to.Release)
	if !opts.All {
		kept := changes[:0]
		for _, c := range changes {
			if c.Kind != manifest.Unchanged {
				kept = append(kept, c)
			}
		}
		changes = kept
	}
	if opts.Output == "json" {
		if changes == nil {
			changes = []manifest.Change{}
		}
		return writeJSON(a.Out, changes)
	}
	if len(changes) == 0 {
		fmt.Fprintf(a.Out, "%s and %s list the same digests\n", opts.From, opts.To)
		return nil
	}
	tw := tabwriter.NewWriter(a.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "COMPONENT\tCHANGE\t%s\t%s\n", opts.From, opts.To)
	for _, c := range changes {
		old, new := "-", "-"
		if c.Old != nil {
			old = c.Old.Digest
		}
		if c.New != nil {
			new = c.New.Digest
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Kind, old, new)
	}
	return tw.Flush()
}
