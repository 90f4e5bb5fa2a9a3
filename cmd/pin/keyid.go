package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/signing"
)

type keysIDOptions struct {
	Key    string
	Config string
	Output string
}

func newKeysIDCmd(a *app) *cobra.Command {
	opts := &keysIDOptions{}
	cmd := &cobra.Command{
		Use:   "id [PUBLIC-KEY-FILE...]",
		Short: "Print the id of public keys, as signature errors name them",
		Long: `Prints each key's id: the first 8 bytes of the SHA-256 of its DER public key,
in hex, which "no trusted key (ID) made this signature" and pin keys public
name. With files, of those PEM public keys; with --key, of a signing key (a
key file, env://VAR or a KMS key); with neither, of the keys pin.yaml trusts.`,
		Example: "  pin keys id release.pub\n  pin keys id                       # the keys in pin.yaml\n  pin keys id --key awskms:///alias/pin-release",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeysID(cmd.Context(), a, opts, args)
		},
	}
	cmd.Flags().StringVar(&opts.Key, "key", "", "signing key: a cosign key file, env://VAR or a KMS reference")
	bindConfig(cmd, &opts.Config, consumerConfig) // its keys, without files or --key
	bindOutput(cmd, &opts.Output, textOrJSON...)
	return cmd
}

func runKeysID(ctx context.Context, a *app, opts *keysIDOptions, files []string) error {
	var keys []signing.TrustedKey
	switch {
	case opts.Key != "" && len(files) > 0:
		return exitcode.UsageError(fmt.Errorf("give public key files or --key, not both"))
	case opts.Key != "":
		s, err := loadSigner(ctx, a, opts.Key)
		if err != nil {
			return err
		}
		keys = []signing.TrustedKey{{ID: s.KeyID(), Source: opts.Key}}
	case len(files) > 0:
		for _, f := range files {
			v, err := signing.LoadVerifierFiles(a.path(f))
			if err != nil {
				return exitcode.UsageError(fmt.Errorf("%s: %w", f, err))
			}
			for _, k := range v.Keys() {
				k.Source = f // as typed
				keys = append(keys, k)
			}
		}
	default:
		cfg, err := pin.LoadConfig(a.findConfig(opts.Config))
		if err != nil {
			return err
		}
		v, err := cfg.Verifier()
		if err != nil {
			return exitcode.UsageError(err)
		}
		for _, k := range v.Keys() {
			k.Source = "pin.yaml " + k.Source
			keys = append(keys, k)
		}
	}
	if opts.Output == outputJSON {
		out := make([]map[string]string, len(keys))
		for i, k := range keys {
			out[i] = map[string]string{"id": k.ID, "source": k.Source}
		}
		return writeJSON(a.Out, out)
	}
	tw := tabwriter.NewWriter(a.Out, 0, 4, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\n", k.ID, k.Source)
	}
	return tw.Flush()
}
