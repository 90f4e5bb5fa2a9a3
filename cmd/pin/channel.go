package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
)

func newChannelCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "channel",
		Short: "Inspect and refresh channel indexes",
		Example: `  pin channel show stable --config release.yaml --key-file release.pub
  pin channel refresh --channel edge --key release.key`,
		Args: cobra.NoArgs,
		RunE: groupHelp,
	}
	cmd.AddCommand(newChannelRefreshCmd(a), newChannelShowCmd(a))
	return cmd
}

type channelRefreshOptions struct {
	producerFlags
	Channel string
	TTL     time.Duration
}

func newChannelRefreshCmd(a *app) *cobra.Command {
	opts := &channelRefreshOptions{}
	cmd := &cobra.Command{
		Use:   "refresh --channel C",
		Short: "Re-sign a channel index with a new expiry and sequence+1",
		Long: `Consumers refuse an expired index (a freeze attack would otherwise keep them on
old releases forever), so the producer refreshes each channel on a schedule
shorter than its TTL, e.g. daily for edge (168h) and weekly for stable (720h).`,
		Example: "  pin channel refresh --channel stable --config release.yaml --key release.key\n  pin channel refresh --channel edge --ttl 72h --key release.key",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("ttl") && opts.TTL <= 0 {
				return exitcode.UsageError(fmt.Errorf("--ttl must be positive, got %s", opts.TTL))
			}
			return runChannelRefresh(cmd.Context(), a, opts)
		},
	}
	opts.bind(cmd)
	cmd.Flags().StringVar(&opts.Channel, "channel", "", "channel to refresh (required)")
	cmd.Flags().DurationVar(&opts.TTL, "ttl", 0, "validity from now (default: the channel's ttl in release.yaml)")
	_ = cmd.MarkFlagRequired("channel")
	return cmd
}

func runChannelRefresh(ctx context.Context, a *app, opts *channelRefreshOptions) error {
	if opts.TTL < 0 {
		return exitcode.UsageError(fmt.Errorf("--ttl must be positive, got %s", opts.TTL))
	}
	prod, err := opts.openProducer(ctx, a)
	if err != nil {
		return err
	}
	defer noteNewRecord(a, prod.Publisher)
	p, err := prod.Refresh(ctx, opts.Channel, opts.TTL)
	if err != nil {
		return err
	}
	return printPublished(a, opts.Output, p, fmt.Sprintf("Refreshed %s", opts.Channel))
}

type channelShowOptions struct {
	sourceFlags
	Channel string
}

func newChannelShowCmd(a *app) *cobra.Command {
	opts := &channelShowOptions{}
	cmd := &cobra.Command{
		Use:   "show CHANNEL",
		Short: "Show a channel index",
		Long:  "With --output json, prints the index document byte for byte (the bytes that were signed).",
		Example: `  pin channel show stable --config release.yaml
  pin channel show edge --source oci://registry.example/storage-service-releases --key-file release.pub`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Channel = args[0]
			return runChannelShow(cmd.Context(), a, opts)
		},
	}
	opts.bind(cmd)
	return cmd
}

func runChannelShow(ctx context.Context, a *app, opts *channelShowOptions) error {
	if err := channels.ValidName(opts.Channel); err != nil {
		return exitcode.UsageError(err)
	}
	src, err := opts.open(ctx, a)
	if err != nil {
		return err
	}
	idx, doc, err := src.channel(ctx, opts.Channel)
	if err != nil {
		return err
	}
	if opts.Output == outputJSON {
		return writeDocument(a, doc.Bytes)
	}
	state := "valid"
	if !a.now().Before(idx.Expires) {
		state = "EXPIRED: consumers refuse it until the producer runs pin channel refresh"
	}
	fmt.Fprintf(a.Out, "%s %s\n  sequence %d\n  issued   %s\n  expires  %s (%s)\n  digest   %s\n",
		idx.Product, idx.Channel, idx.Sequence, idx.Issued.Format(time.RFC3339), idx.Expires.Format(time.RFC3339), state, manifest.Digest(doc.Bytes))
	tw := tabwriter.NewWriter(a.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  VERSION\tCREATED\tDIGEST\tSTATUS")
	for _, e := range idx.Releases {
		status := ""
		if e.Yanked {
			status = "yanked: " + e.Reason
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Version, e.Created.Format(time.RFC3339), e.Digest, status)
	}
	return tw.Flush()
}
