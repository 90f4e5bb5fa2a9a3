package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/atomicfile"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/trustroot"
)

func newTrustRootCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "root",
		Short: "Make, sign and publish the root of trust: which keys sign what, and how many must",
		Long: `The root of trust (root.json) lists the keys of three roles, each with a threshold:
root (signs the next root; keep its keys offline), release (signs release
manifests) and index (signs channel indexes; the online key of scheduled
refreshes). A role index-<channel> gives one channel stricter keys. Consumers
trust one root (pin init --root-sha256) and follow every newer one by
themselves, so keys are rotated and revoked by the producer alone.

Editing a root that has signatures starts the next version. Signatures are
collected one key at a time (pin root sign), so no one needs to hold them all;
root.json.sigs holds them, each a cosign blob signature over root.json.`,
		Example: `  pin root init --product storage-service --root-key alice.pub --root-key bob.pub --root-threshold 2 \
      --release-key release.pub --index-key index.pub
  pin root sign root.json --key alice.key && pin root sign root.json --key bob.key
  pin root publish root.json --config release.yaml
  pin root add-key root.json --role index --key-file index2.pub
  pin root add-key root.json --role release --identity-issuer https://token.actions.githubusercontent.com \
      --identity-subject https://github.com/ORG/REPO/.github/workflows/release.yml@refs/heads/main
  pin root remove-key root.json --role index --key-id 3f2a9c01`,
		Args: cobra.NoArgs,
		RunE: groupHelp,
	}
	cmd.AddCommand(newRootInitCmd(a), newRootEditCmd(a, true), newRootEditCmd(a, false), newRootSignCmd(a), newRootPublishCmd(a))
	return cmd
}

// rootFile is a root draft on disk: root.json and root.json.sigs.
type rootFile struct {
	path string
	s    trustroot.Signed
	root *manifest.Root
}

func loadRootFile(path string) (*rootFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, exitcode.UsageError(fmt.Errorf("read root: %w", err))
	}
	t, err := trustroot.Parse(trustroot.Signed{Bytes: b}, "")
	if err != nil {
		return nil, exitcode.UsageError(fmt.Errorf("%s: %w", path, err))
	}
	rf := &rootFile{path: path, s: trustroot.Signed{Bytes: b}, root: t.Root}
	sb, err := os.ReadFile(path + ".sigs")
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, exitcode.UsageError(fmt.Errorf("read signatures: %w", err))
	default:
		if rf.s.Signatures, err = manifest.DecodeSignatures(sb); err != nil {
			return nil, exitcode.UsageError(fmt.Errorf("%s.sigs: %w", path, err))
		}
	}
	return rf, nil
}

// save writes root.json and its signatures (an empty set for a new draft).
func (rf *rootFile) save() error {
	sigs, err := manifest.EncodeSignatures(rf.s.Signatures)
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(rf.path, rf.s.Bytes, 0o644); err != nil {
		return err
	}
	return atomicfile.WriteFile(rf.path+".sigs", sigs, 0o644)
}

func (rf *rootFile) setRoot(r *manifest.Root) error {
	b, err := r.Encode()
	if err != nil {
		return exitcode.UsageError(err)
	}
	rf.root, rf.s = r, trustroot.Signed{Bytes: b}
	return nil
}

type rootInitOptions struct {
	Product          string
	RootKeys         []string
	RootThreshold    int
	ReleaseKeys      []string
	IndexKeys        []string
	Expires          time.Duration
	Out              string
	Force            bool
	StableIndexKeys  []string
	StableThreshold  int
	ReleaseThreshold int
	IndexThreshold   int
}

func newRootInitCmd(a *app) *cobra.Command {
	o := &rootInitOptions{}
	cmd := &cobra.Command{
		Use:   "init --product P --root-key PUB --release-key PUB --index-key PUB",
		Short: "Write version 1 of a root of trust (unsigned: pin root sign signs it)",
		Long: `Keys are PEM public key files (pin keys public --key awskms:///alias/NAME prints a
KMS key's). A key may serve several roles, but a root key that is also an online
key is as exposed as the online key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRootInit(a, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.Product, "product", "", "product the root is for (required)")
	f.StringArrayVar(&o.RootKeys, "root-key", nil, "public key of the root role (repeatable; keep these offline)")
	f.IntVar(&o.RootThreshold, "root-threshold", 1, "root keys that must sign the next root")
	f.StringArrayVar(&o.ReleaseKeys, "release-key", nil, "public key of the release role (repeatable)")
	f.IntVar(&o.ReleaseThreshold, "release-threshold", 1, "release keys that must sign a release")
	f.StringArrayVar(&o.IndexKeys, "index-key", nil, "public key of the index role (repeatable)")
	f.IntVar(&o.IndexThreshold, "index-threshold", 1, "index keys that must sign an index")
	f.StringArrayVar(&o.StableIndexKeys, "stable-index-key", nil, "public key of a stricter index-stable role (repeatable; optional)")
	f.IntVar(&o.StableThreshold, "stable-threshold", 1, "index-stable keys that must sign the stable index")
	f.DurationVar(&o.Expires, "expires", 365*24*time.Hour, "how long the root is valid")
	f.StringVar(&o.Out, "out", "root.json", "where to write the root")
	f.BoolVar(&o.Force, "force", false, "overwrite an existing root file")
	return cmd
}

func runRootInit(a *app, o *rootInitOptions) error {
	if !manifest.ValidName(o.Product) {
		return exitcode.UsageError(fmt.Errorf("--product %q is not a valid product name", o.Product))
	}
	if _, err := os.Stat(o.Out); err == nil && !o.Force {
		return exitcode.UsageError(fmt.Errorf("%s already exists: edit it with pin root add-key/remove-key, or pass --force", o.Out))
	}
	r := trustroot.NewRoot(o.Product, a.now().Add(o.Expires))
	roles := []struct {
		name      string
		files     []string
		threshold int
	}{
		{manifest.RoleRoot, a.paths(o.RootKeys), o.RootThreshold},
		{manifest.RoleRelease, a.paths(o.ReleaseKeys), o.ReleaseThreshold},
		{manifest.RoleIndex, a.paths(o.IndexKeys), o.IndexThreshold},
		{manifest.IndexRolePrefix + channels.Stable, a.paths(o.StableIndexKeys), o.StableThreshold},
	}
	for _, ro := range roles {
		if len(ro.files) == 0 {
			if ro.name == manifest.IndexRolePrefix+channels.Stable {
				continue
			}
			return exitcode.UsageError(fmt.Errorf("--%s-key is required: role %s needs at least one key", strings.TrimSuffix(strings.ReplaceAll(ro.name, "index-", "stable-index-"), "-"), ro.name))
		}
		for _, p := range ro.files {
			if err := addKeyFile(r, ro.name, p); err != nil {
				return err
			}
		}
		role := r.Roles[ro.name]
		role.Threshold = ro.threshold
		r.Roles[ro.name] = role
	}
	rf := &rootFile{path: o.Out}
	if err := rf.setRoot(r); err != nil {
		return err
	}
	if err := rf.save(); err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "Wrote %s: root version 1 of %s, unsigned. Next: pin root sign %s --key K (a threshold of root keys), then pin root publish.\n", o.Out, o.Product, o.Out)
	return nil
}

func addKeyFile(r *manifest.Root, role, path string) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return exitcode.UsageError(fmt.Errorf("read public key: %w", err))
	}
	id, err := trustroot.AddKey(r, role, pem)
	if err != nil {
		return exitcode.UsageError(fmt.Errorf("%s: %w", path, err))
	}
	_ = id
	return nil
}

type rootEditOptions struct {
	Role      string
	KeyFile   string
	Identity  manifest.Identity // a CI identity to add instead of a key file
	KeyID     string
	Threshold int
	Expires   time.Duration
}

// newRootEditCmd is add-key (add) or remove-key.
func newRootEditCmd(a *app, add bool) *cobra.Command {
	o := &rootEditOptions{}
	use, short := "remove-key ROOT --role R --key-id ID", "Take a key out of a role (revoking it for every consumer once published)"
	if add {
		use, short = "add-key ROOT --role R --key-file PUB", "Add a key to a role"
	}
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Long: `Edits the root draft. When the file carries signatures (it was signed or
published), the edit starts the next version: version+1, a new expiry, no
signatures; the previous root's root keys and the new root's must then sign it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRootEdit(a, a.path(args[0]), add, o, cmd.Flags().Changed("threshold"))
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Role, "role", "", "role: root, release, index or index-<channel> (required)")
	if add {
		f.StringVar(&o.KeyFile, "key-file", "", "PEM public key to add (this or --identity-issuer)")
		// A CI identity signs keylessly (--key sigstore): the same fields as pin.yaml's identities.
		f.StringVar(&o.Identity.Issuer, "identity-issuer", "", "add a CI identity instead of a key: its OIDC issuer (https://token.actions.githubusercontent.com, https://agent.buildkite.com)")
		f.StringVar(&o.Identity.Subject, "identity-subject", "", "the identity's certificate subject: the workflow or pipeline URL")
		f.StringVar(&o.Identity.SubjectRegexp, "identity-subject-regexp", "", "the identity's subject as a regular expression anchored with ^ and $ (instead of --identity-subject)")
		f.StringVar(&o.Identity.SourceRepository, "identity-source-repository", "", "the certificate's source repository URI the identity must carry")
		f.StringVar(&o.Identity.Ref, "identity-ref", "", "the certificate's source ref the identity must carry (refs/heads/main)")
		f.StringVar(&o.Identity.Trigger, "identity-trigger", "", "the certificate's build trigger the identity must carry (push, workflow_dispatch)")
		f.StringVar(&o.Identity.Name, "identity-name", "", "a name for the identity in messages")
	} else {
		f.StringVar(&o.KeyID, "key-id", "", "id of the key to remove (at least 8 hex digits; required)")
	}
	f.IntVar(&o.Threshold, "threshold", 0, "set the role's threshold after the edit")
	f.DurationVar(&o.Expires, "expires", 365*24*time.Hour, "validity of a new version, from now")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func runRootEdit(a *app, path string, add bool, o *rootEditOptions, setThreshold bool) error {
	rf, err := loadRootFile(path)
	if err != nil {
		return err
	}
	r := rf.root
	if len(rf.s.Signatures) > 0 {
		r = trustroot.NextDraft(rf.root, a.now().Add(o.Expires))
	}
	var what string
	switch {
	case add && o.Identity != (manifest.Identity{}):
		if o.KeyFile != "" {
			return exitcode.UsageError(errors.New("give --key-file or --identity-issuer, not both"))
		}
		id, err := trustroot.AddIdentity(r, o.Role, o.Identity)
		if err != nil {
			return exitcode.UsageError(fmt.Errorf("--identity-*: %w", err))
		}
		what = "added identity " + id[:16] + " to " + o.Role
	case add:
		if o.KeyFile == "" {
			return exitcode.UsageError(errors.New("--key-file (or --identity-issuer and --identity-subject) is required"))
		}
		if err := addKeyFile(r, o.Role, o.KeyFile); err != nil {
			return err
		}
		what = "added " + o.KeyFile + " to " + o.Role
	default:
		id, err := trustroot.RemoveKey(r, o.Role, o.KeyID)
		if err != nil {
			return exitcode.UsageError(err)
		}
		what = "removed " + id[:16] + " from " + o.Role
	}
	if setThreshold {
		role := r.Roles[o.Role]
		role.Threshold = o.Threshold
		r.Roles[o.Role] = role
	}
	if err := rf.setRoot(r); err != nil {
		return err
	}
	if err := rf.save(); err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "Root version %d: %s (unsigned: sign it with a threshold of the previous root's root keys and of its own).\n", r.Version, what)
	return nil
}

type rootSignOptions struct{ Key string }

func newRootSignCmd(a *app) *cobra.Command {
	o := &rootSignOptions{}
	cmd := &cobra.Command{
		Use:   "sign ROOT --key KEY",
		Short: "Add one key's signature to a root (collect them one person or KMS key at a time)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rf, err := loadRootFile(a.path(args[0]))
			if err != nil {
				return err
			}
			signer, err := loadSigner(cmd.Context(), a, o.Key)
			if err != nil {
				return err
			}
			id, err := trustroot.KeyID(signer.PublicKey())
			if err != nil {
				return err
			}
			if rf.s, err = trustroot.Sign(cmd.Context(), signer, rf.s); err != nil {
				return err
			}
			if err := rf.save(); err != nil {
				return err
			}
			fmt.Fprintf(a.Out, "Signed root version %d with %s (%d signatures).\n", rf.root.Version, id[:16], len(rf.s.Signatures))
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Key, "key", "", "key that signs: a cosign key file, env://VAR or awskms:///alias/NAME")
	return cmd
}

type rootPublishOptions struct {
	Config string
	Store  string
}

func newRootPublishCmd(a *app) *cobra.Command {
	o := &rootPublishOptions{}
	cmd := &cobra.Command{
		Use:   "publish ROOT [--config release.yaml | --store STORE]",
		Short: "Check a signed root against the store's current one and publish it",
		Long: `Version 1 must be signed by a threshold of its own root keys; version N+1 by a
threshold of version N's root keys and of its own, exactly as consumers check it.
Prints the root's fingerprint: consumers start with pin init --root-sha256 FINGERPRINT.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRootPublish(cmd.Context(), a, a.path(args[0]), o)
		},
	}
	bindConfig(cmd, &o.Config, producerConfig) // its store, unless --store
	cmd.Flags().StringVar(&o.Store, "store", "", "store to publish to (overrides --config)")
	return cmd
}

func runRootPublish(ctx context.Context, a *app, path string, o *rootPublishOptions) error {
	rf, err := loadRootFile(path)
	if err != nil {
		return err
	}
	loc := a.path(o.Store)
	if loc == "" {
		cfg, err := releaseconfig.Load(o.Config)
		if err != nil {
			return err
		}
		loc = cfg.Store
		if cfg.Product != rf.root.Product {
			return exitcode.UsageError(fmt.Errorf("%s is for product %q, %s publishes %q", path, rf.root.Product, cfg.Path, cfg.Product))
		}
	}
	st, err := channels.Open(loc, channels.OpenOptions{Registry: registryOptions(a)})
	if err != nil {
		return exitcode.UsageError(fmt.Errorf("store: %w", err))
	}
	rs, err := channels.WritableRoots(st)
	if err != nil {
		return exitcode.UsageError(err)
	}
	chain, err := trustroot.Latest(ctx, channels.RootFetcher(rs), rf.root.Product, time.Time{})
	if err != nil {
		return fmt.Errorf("current root of %s: %w", st, err)
	}
	if err := checkRootSuccessor(ctx, st, chain, rf); err != nil {
		return err
	}
	if err := rs.PutRoot(ctx, rf.root.Version, rf.s); err != nil {
		return err
	}
	fmt.Fprintf(a.Out, "Published root version %d to %s (sha256 %s).\n", rf.root.Version, st, strings.TrimPrefix(manifest.Digest(rf.s.Bytes), "sha256:"))
	return nil
}

// checkRootSuccessor checks rf as consumers will: version 1 signed by its
// own root keys, any other by the store's current root (chain) and itself;
// the current version again (with more signatures) as the successor of the
// one before it.
func checkRootSuccessor(ctx context.Context, st channels.ReadStore, chain *trustroot.Chain, rf *rootFile) error {
	var err error
	switch {
	case chain == nil && rf.root.Version != 1:
		return exitcode.UsageError(fmt.Errorf("%s has no root yet: publish version 1 first (this is version %d)", st, rf.root.Version))
	case chain == nil:
		_, err = trustroot.VerifySelf(ctx, rf.s, rf.root.Product)
	case chain.Newest().Root.Version == rf.root.Version && manifest.Digest(chain.Newest().Signed.Bytes) == manifest.Digest(rf.s.Bytes):
		// Republishing with more signatures: still a valid successor.
		prev := chain.Roots[0]
		if len(chain.Roots) > 1 {
			prev = chain.Roots[len(chain.Roots)-2]
		}
		if rf.root.Version == 1 {
			_, err = trustroot.VerifySelf(ctx, rf.s, rf.root.Product)
		} else {
			_, err = prev.Next(ctx, rf.s)
		}
	case chain.Newest().Root.Version+1 != rf.root.Version:
		return exitcode.UsageError(fmt.Errorf("%s is at root version %d: the next to publish is %d, not %d", st, chain.Newest().Root.Version, chain.Newest().Root.Version+1, rf.root.Version))
	default:
		_, err = chain.Newest().Next(ctx, rf.s)
	}
	return err
}
