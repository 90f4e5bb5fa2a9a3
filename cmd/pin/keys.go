package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/internal/atomicfile"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/signing"
	"github.com/wellcomecollection/pin/signing/keyless"
)

func newKeysCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "keys",
		Short:   "Manage cosign-compatible signing keys",
		Example: "  COSIGN_PASSWORD=... pin keys generate --out release\n  pin keys public --key awskms:///alias/storage-service-releases --out release.pub",
		Args:    cobra.NoArgs,
		RunE:    groupHelp,
	}
	cmd.AddCommand(newKeysGenerateCmd(a), newKeysPublicCmd(a), newKeysIDCmd(a))
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
	if err := atomicfile.WriteFile(privPath, priv, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", privPath, err)
	}
	if err := atomicfile.WriteFile(pubPath, pub, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", pubPath, err)
	}
	fmt.Fprintf(a.Out, "Private key written to %s (encrypted, mode 0600): keep it secret.\nPublic key written to %s: give it to consumers (pin init --key-file).\n", privPath, pubPath)
	return nil
}

// loadSigner loads the signing key a --key reference names (a cosign key
// file, env://VAR or a KMS key), asking for a PEM key's password the cosign
// way. A KMS that cannot be reached or refuses is an operational failure
// (exit 1); everything else wrong with the reference is a usage error.
func loadSigner(ctx context.Context, a *app, ref string) (*signing.Signer, error) {
	if ref == "" {
		return nil, exitcode.UsageError(errors.New("--key is required: the private key that signs releases (a key file, env://VAR or " + strings.Join(signing.BuiltInKMSSchemes(), ", ") + "...)"))
	}
	if ref != keylessKeyRef {
		ref = a.path(ref) // a key file; a reference with a scheme stays
	}
	s, err := signing.LoadSigner(ctx, ref, signing.KeyRefOptions{
		Password:  func() ([]byte, error) { return a.password(false) },
		LookupEnv: a.lookupEnv,
	})
	if errors.Is(err, signing.ErrKMS) {
		return nil, err
	}
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	return s, nil
}

type keysPublicOptions struct {
	Key string
	Out string
}

func newKeysPublicCmd(a *app) *cobra.Command {
	opts := &keysPublicOptions{}
	cmd := &cobra.Command{
		Use:   "public --key REF",
		Short: "Print the public key of a signing key, to hand to consumers",
		Long: `Prints the PEM public key of the key that --key names: a cosign key file
(its password from COSIGN_PASSWORD or the terminal), env://VAR (the same PEM in
an environment variable) or a KMS key such as awskms:///alias/NAME (read from
the KMS; the private key never leaves it). Consumers trust releases with it
(pin init --key-file), and cosign verifies pin's signatures with it.`,
		Example: "  pin keys public --key awskms:///alias/pin-release --out release.pub\n  COSIGN_PASSWORD=... pin keys public --key release.key",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runKeysPublic(cmd.Context(), a, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Key, "key", "", "signing key: a cosign key file, env://VAR or a KMS reference (required)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "write the public key to this file instead of standard output")
	_ = cmd.MarkFlagRequired("key")
	return cmd
}

func runKeysPublic(ctx context.Context, a *app, opts *keysPublicOptions) error {
	s, err := loadSigner(ctx, a, opts.Key)
	if err != nil {
		return err
	}
	pub, err := s.PublicKeyPEM()
	if err != nil {
		return fmt.Errorf("%s: encode public key: %w", opts.Key, err)
	}
	if opts.Out == "" {
		_, err = a.Out.Write(pub)
		return err
	}
	if err := atomicfile.WriteFile(opts.Out, pub, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", opts.Out, err)
	}
	fmt.Fprintf(a.Out, "Public key of %s (key id %s) written to %s: give it to consumers (pin init --key-file).\n", opts.Key, s.KeyID(), opts.Out)
	return nil
}

// keylessKeyRef is the --key value that signs keylessly, as cosign's users
// know Sigstore's keyless signing.
const keylessKeyRef = "sigstore"

// keylessSigner makes the keyless signer: an ephemeral key certified by
// Fulcio (release.yaml's sigstore.fulcioURL, public-good by default) for the
// CI job's identity token (tokenFile, or found in the environment), each
// signature logged in Rekor (sigstore.rekorURL). release.yaml must name the
// pipeline's identity, so the index already published can be verified.
func keylessSigner(a *app, cfg *releaseconfig.Config, tokenFile string) (*signing.Signer, error) {
	if len(cfg.Identities) == 0 {
		return nil, exitcode.UsageError(fmt.Errorf("%s: --key %s needs identities: the pipeline's own identity (issuer, subject), to verify what is already published before re-signing it", cfg.Path, keylessKeyRef))
	}
	var tokens keyless.TokenSource
	if tokenFile != "" {
		tokens = keyless.TokenFile(tokenFile)
	} else {
		t, err := keyless.DetectToken(a.lookupEnv, nil)
		if err != nil {
			return nil, exitcode.UsageError(err)
		}
		tokens = t
	}
	s, err := keyless.NewSigner(keyless.SignerOptions{FulcioURL: cfg.Sigstore.FulcioURL, RekorURL: cfg.Sigstore.RekorURL, Token: tokens})
	if err != nil {
		return nil, exitcode.UsageError(err) // a build without keyless support (-tags nokeyless)
	}
	return signing.NewKeylessSigner(s), nil
}
