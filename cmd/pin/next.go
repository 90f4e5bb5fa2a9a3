package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/producer"
)

type releaseNextOptions struct {
	sourceFlags
	Channel string
	Base    string
}

func newReleaseNextCmd(a *app) *cobra.Command {
	opts := &releaseNextOptions{}
	cmd := &cobra.Command{
		Use:   "next --channel edge|stable [--base X.Y.Z]",
		Short: "Print the version the next release on a channel should take",
		Long: `Prints the next free version for a channel, ahead of every stable release:
on edge, X.Y.Z-edge.N+1 of the current prerelease line, or the next patch's
-edge.1 once that line was promoted to stable. --base (a pipeline's version
file) is used when it is ahead of stable. ` + "`pin release create auto`" + ` does the same
with the signing key's verified reading of the store. Two pipelines that take
the same next version concurrently cannot both publish it: the second is
refused (different content) or is a no-op (same content).`,
		Example: `  pin release create "$(pin release next --channel edge --key-file release.pub)" --channel edge --key release.key
  pin release next --channel edge --base "$(cat VERSION)"
  pin release create auto --channel edge --key release.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReleaseNext(cmd.Context(), a, opts)
		},
	}
	opts.bind(cmd)
	cmd.Flags().StringVar(&opts.Channel, "channel", "", "channel: edge or stable (required)")
	cmd.Flags().StringVar(&opts.Base, "base", "", "X.Y.Z to use when it is ahead of stable (e.g. from a VERSION file)")
	_ = cmd.MarkFlagRequired("channel")
	return cmd
}

func runReleaseNext(ctx context.Context, a *app, opts *releaseNextOptions) error {
	src, err := opts.open(ctx, a)
	if err != nil {
		return err
	}
	next, err := producer.NextVersion(ctx, src.reader, opts.Channel, opts.Base)
	if err != nil {
		return err
	}
	if opts.Output == "json" {
		return writeJSON(a.Out, map[string]string{"channel": opts.Channel, "version": next})
	}
	_, err = fmt.Fprintln(a.Out, next)
	return err
}
