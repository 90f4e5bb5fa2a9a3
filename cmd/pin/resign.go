package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/internal/exitcode"
)

type releaseResignOptions struct {
	producerFlags
	All bool
}

func newReleaseResignCmd(a *app) *cobra.Command {
	opts := &releaseResignOptions{}
	cmd := &cobra.Command{
		Use:   "resign (VERSION... | --all) --key KEY",
		Short: "Add the current release key's signature to releases already published",
		Long: `After the release key is rotated (pin root add-key --role release), re-sign
the releases consumers may be pinned to with the new key, before the old key is
removed from the root: releases signed only by a removed key stop verifying.
Only signatures change: the manifest's bytes, and so its digest in the channel
indexes and in consumers' pin.lock, stay the same. The new key's signature
becomes the .sig file (cosign verify-blob --key new.pub); signatures by other
keys the root still lists for releases are kept in .sigs, those by keys it no
longer lists are dropped.

A release is re-signed only when a channel index lists it with its digest and
its signatures satisfy the release role of the current root or an earlier one
(without a root: --key or previousKeys in release.yaml). --all takes every
listed release that is not yanked; name a yanked one to re-sign it too.
Rerunning changes nothing.`,
		Example: `  pin release resign --all --key awskms:///alias/storage-service-release-2027
  pin release resign 1.4.2 1.5.0 --key release-2027.key`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReleaseResign(cmd.Context(), a, opts, args)
		},
	}
	opts.bind(cmd)
	cmd.Flags().BoolVar(&opts.All, "all", false, "re-sign every release the channels list and have not yanked")
	return cmd
}

func runReleaseResign(ctx context.Context, a *app, opts *releaseResignOptions, versions []string) error {
	if opts.All == (len(versions) > 0) {
		return exitcode.UsageError(errors.New("name the releases to re-sign, or pass --all"))
	}
	prod, err := opts.openProducer(ctx, a)
	if err != nil {
		return err
	}
	defer noteNewRecord(a, prod.Publisher)
	done, err := prod.Resign(ctx, versions)
	if err != nil {
		return err
	}
	if opts.Output == "json" {
		return writeJSON(a.Out, done)
	}
	for _, r := range done {
		what := "re-signed"
		if r.Unchanged {
			what = "already signed"
		}
		yanked := ""
		if r.Yanked {
			yanked = " (yanked)"
		}
		fmt.Fprintf(a.Out, "%s %s%s: %s by %s\n", what, r.Version, yanked, r.Digest, strings.Join(r.Signers, ", "))
	}
	if len(done) == 0 {
		fmt.Fprintln(a.Out, "no listed release to re-sign")
	}
	return nil
}
