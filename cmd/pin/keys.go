package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/signing"
)

func newKeysCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "keys",
		Short:   "Manage cosign-compatible signing keys",
		Example: "  COSIGN_PASSWORD=... pin keys generate --out release",
		Args:    cobra.NoArgs,
		RunE:    groupHelp,
	}
	cmd.AddCommand(newKeysGenerateCmd(a))
	return cmd
}

type keysGenerateOptions struct {
	Out   string
	Force bool
}

func newKeysGenerateCmd(a *app) *cobra.Command {
	opts := &keysGenerateOptions{}
	cmd := &cobra.Command{
		Use:   "generate --out PREFIX",
		Short: "Generate an encrypted ECDSA P-256 key pair in cosign's format",
		Long: `Writes PREFIX.key (encrypted with COSIGN_PASSWORD, or a password asked for on
the terminal; mode 0600) and PREFIX.pub. The files are the same format that
'cosign generate-key-pair' writes, so cosign can use them and pin can use cosign's.`,
		Example: "  COSIGN_PASSWORD=... pin keys generate --out release\n  pin keys generate --out keys/release   # prompts for a password",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runKeysGenerate(a, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "", "path prefix for PREFIX.key and PREFIX.pub (required)")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "overwrite existing key files")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func runKeysGenerate(a *app, opts *keysGenerateOptions) error {
	privPath, pubPath := opts.Out+".key", opts.Out+".pub"
	if !opts.Force {
		for _, p := range []string{privPath, pubPath} {
			if _, err := os.Stat(p); err == nil {
				return exitcode.UsageError(fmt.Errorf("%s already exists: pass --force to overwrite it", p))
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	pw, err := a.password(true)
	if err != nil {
		return err
	}
	if len(pw) == 0 {
		fmt.Fprintf(a.Err, "pin: warning: the private key is encrypted with an empty password\n")
	}
	priv, pub, err := signing.GenerateKeyPair(pw)
	if err != nil {
		return fmt.Errorf("generate key pair: %w", err)
	}
	if err := channels.WriteFileAtomic(privPath, priv, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", privPath, err)
	}
	if err := channels.WriteFileAtomic(pubPath, pub, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", pubPath, err)
	}
	fmt.Fprintf(a.Out, "Private key written to %s (encrypted, mode 0600): keep it secret.\nPublic key written to %s: give it to consumers (pin init --key-file).\n", privPath, pubPath)
	return nil
}

// loadSigner reads a private key file, asking for its password the cosign way.
func loadSigner(a *app, path string) (*signing.Signer, error) {
	if path == "" {
		return nil, exitcode.UsageError(errors.New("--key is required: the private key that signs releases"))
	}
	s, err := signing.LoadPrivateKeyFile(path, func() ([]byte, error) { return a.password(false) })
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	return s, nil
}
