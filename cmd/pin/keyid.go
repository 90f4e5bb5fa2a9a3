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
	cmd.Flags().StringVar(&opts.Config, "config", "pin.yaml", "consumer configuration whose keys to list (without files or --key)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "text", "output format: text or json")
	return cmd
}

func runKeysID(ctx context.Context, a *app, opts *keysIDOptions, files []string) error {
	if err := checkOutput(opts.Output, "text", "json"); err != nil {
		return err
	}
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
			v, err := signing.LoadVerifierFiles(f)
			if err != nil {
				return exitcode.UsageError(fmt.Errorf("%s: %w", f, err))
			}
			keys = append(keys, v.Keys()...)
		}
	default:
		cfg, err := pin.LoadConfig(findConfig(opts.Config))
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
	if opts.Output == "json" {
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
