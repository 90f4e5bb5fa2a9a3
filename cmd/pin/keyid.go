package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
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
key file, env://VAR or a KMS key); with neither, of the keys pin.yaml trusts:
for a root of trust, every key and CI identity of the newest root pin.yaml
and pin.lock lead to, with the roles that list it (an identity's id is the
one pin root remove-key --key-id takes).`,
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
	var keys []listedKey
	switch {
	case opts.Key != "" && len(files) > 0:
		return exitcode.UsageError(fmt.Errorf("give public key files or --key, not both"))
	case opts.Key != "":
		s, err := loadSigner(ctx, a, opts.Key)
		if err != nil {
			return err
		}
		keys = []listedKey{{ID: s.KeyID(), Source: opts.Key}}
	case len(files) > 0:
		for _, f := range files {
			v, err := signing.LoadVerifierFiles(a.path(f))
			if err != nil {
				return exitcode.UsageError(fmt.Errorf("%s: %w", f, err))
			}
			for _, k := range v.Keys() {
				keys = append(keys, listedKey{ID: k.ID, Source: f}) // the file as typed
			}
		}
	default:
		cfg, err := pin.LoadConfig(a.findConfig(opts.Config))
		if err != nil {
			return err
		}
		if keys, err = configKeys(ctx, cfg); err != nil {
			return err
		}
		if len(keys) == 0 {
			return exitcode.UsageError(fmt.Errorf("%s trusts no key or identity", cfg.Path))
		}
	}
	if opts.Output == outputJSON {
		return writeJSON(a.Out, keys)
	}
	tw := tabwriter.NewWriter(a.Out, 0, 4, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\n", k.ID, k.Source)
	}
	return tw.Flush()
}

// listedKey is one line of pin keys id: a key's id (or a CI identity's) and
// where it comes from; for a root's signers, the roles that list it.
type listedKey struct {
	ID       string             `json:"id"`
	Source   string             `json:"source"`
	Roles    []string           `json:"roles,omitempty"`
	Identity *manifest.Identity `json:"identity,omitempty"`
}

// configKeys lists what pin.yaml trusts: with a root, every key and CI
// identity of the newest root it and pin.lock lead to, with their roles
// (an identity's id is the one the root gives it, as pin root remove-key
// takes it); with a keys: list, its keys and identities.
func configKeys(ctx context.Context, cfg *pin.Config) ([]listedKey, error) {
	var keys []listedKey
	if cfg.Root == "" {
		v, err := cfg.Verifier()
		if err != nil {
			return nil, exitcode.UsageError(err)
		}
		for _, k := range v.Keys() {
			keys = append(keys, listedKey{ID: k.ID, Source: "pin.yaml " + k.Source})
		}
		for i, id := range cfg.Identities {
			mi := manifest.Identity(id)
			keys = append(keys, listedKey{ID: "-", Source: fmt.Sprintf("pin.yaml identities[%d]: %s", i, describeIdentity(mi)), Identity: &mi})
		}
		return keys, nil
	}
	root, err := pin.CurrentRoot(ctx, cfg)
	if err != nil {
		return nil, err
	}
	where := fmt.Sprintf("pin.yaml root version %d", root.Root.Version)
	if root.Signed.Bytes != nil && strings.TrimSpace(string(root.Signed.Bytes)) != strings.TrimSpace(cfg.Root) {
		where = fmt.Sprintf("root version %d (pin.lock)", root.Root.Version)
	}
	for _, s := range root.Signers() {
		k := listedKey{ID: s.ID[:min(16, len(s.ID))], Roles: s.Roles, Identity: s.Identity}
		k.Source = fmt.Sprintf("%s, %s", where, strings.Join(s.Roles, ", "))
		if s.Identity != nil {
			k.Source += ": CI identity " + describeIdentity(*s.Identity)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// describeIdentity names a CI identity by its issuer and subject (or
// subject pattern), as a certificate would show them.
func describeIdentity(id manifest.Identity) string {
	subject := id.Subject
	if subject == "" {
		subject = id.SubjectRegexp
	}
	s := id.Issuer + " " + subject
	if id.Name != "" {
		s = id.Name + " (" + s + ")"
	}
	return s
}
