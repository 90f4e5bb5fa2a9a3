package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/opterr"
	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/producer"
	"github.com/wellcomecollection/pin/signing/keyless"
)

// TestCLIMessage: each typed library error, wrapped as the packages and the
// commands wrap it, prints as the CLI worded it before the packages stopped
// naming flags and commands (the want column is the old message, verbatim).
func TestCLIMessage(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"option with %w", exitcode.UsageError(opterr.Errorf("To", ": %w", errors.New(`"x" is not X.Y.Z`))), `--to: "x" is not X.Y.Z`},
		{"option wrapped", fmt.Errorf("update: %w", opterr.Errorf("Constraint", " %q: no release on %s satisfies it (releases not yanked: %s)", "~9", "stable", "none")),
			`update: --constraint "~9": no release on stable satisfies it (releases not yanked: none)`},
		{"root fingerprint", opterr.Errorf("RootSHA256", " %q is not 64 hex digits", "ab"), `--root-sha256 "ab" is not 64 hex digits`},
		{"fail-on", opterr.Errorf("FailOn", ": %q is not one of %s", "x", "a, b"), `--fail-on: "x" is not one of a, b`},
		{"base", opterr.Errorf("Base", " %q: want X.Y.Z", "1"), `--base "1": want X.Y.Z`},
		{"hold reason", exitcode.UsageError(pin.ErrHoldNeedsReason), "a hold needs --reason: it is recorded in pin.lock for whoever wonders why the project is not updated"},
		{"hold conflict", pin.ErrHoldConflict, "--hold and --unhold contradict each other"},
		{"held, other version", &pin.HeldError{Version: "1.0.0", Reason: "freeze", To: "1.1.0"},
			"pin.lock holds 1.0.0 (freeze): pass --unhold to release the hold, or --hold --reason TEXT to hold at 1.1.0 instead"},
		{"held, unlisted", &pin.HeldError{Version: "1.0.0", Reason: "freeze", Channel: "stable", Unlisted: true},
			"pin.lock holds 1.0.0 (freeze), which stable no longer lists: pass --unhold to release the hold"},
		{"downgrade", exitcode.TrustError(&pin.DowngradeError{From: "1.2.0", To: "1.1.0", Why: " (why)"}),
			"the newest allowed release 1.1.0 is below 1.2.0 in pin.lock (why): refusing to downgrade (pass --allow-downgrade or --to 1.1.0)"},
		{"exists", &pin.ExistsError{Path: "pin.yaml"}, "pin.yaml already exists: pass --force to overwrite it"},
		{"no config", &pin.NoConfigError{Path: "/p/pin.yaml"}, "no consumer config at /p/pin.yaml: run pin there, pass --config, or run pin init to write one"},
		{"no anchor", pin.ErrNoTrustAnchor, "give --key-file or --root-sha256 (one of them)"},
		{"no trusted key", pin.ErrNoTrustedKey, "no trusted key: pass --config pin.yaml, or --source STORE with --key-file PUB"},
		{"nothing published", channels.ErrNothingPublished, "no release is published yet: give the first version (--base X.Y.Z)"},
		{"reused version", &channels.ReusedVersionError{Version: "1.0.0", Channel: "edge", Store: "./s", Diff: "digest"},
			"release 1.0.0 already exists in ./s with different content (digest): releases are immutable; pick the next version (pin release next --channel edge)"},
		{"yanked version", &channels.ReusedVersionError{Version: "1.0.0", Channel: "edge", Store: "./s", Yanked: true, Reason: "bad"},
			"release 1.0.0 is yanked on edge (bad): pick the next version (pin release next --channel edge)"},
		{"no identity", &channels.NoIdentityError{Role: "release", RootVersion: 2, Store: "./s"},
			"role release in root version 2 of ./s lists no CI identity, so a keyless signature (--key sigstore) counts for nothing: add the pipeline's identity with pin root add-key --role release --identity-issuer ISSUER --identity-subject SUBJECT"},
		{"key not listed", &channels.KeyNotListedError{KeyID: "0123456789abcdef", Role: "index", RootVersion: 1, Store: "./s", Listed: []string{"a", "b"}},
			"key 0123456789abcdef is not listed for role index in root version 1 of ./s: sign with one of its keys (a, b), or add this key with pin root add-key --role index"},
		{"threshold", &channels.ThresholdError{Role: "index", RootVersion: 1, Need: 2, Given: 1, Channel: "stable"},
			"role index of root version 1 needs 2 distinct keys (an identity counts as one) to sign channel stable, 1 given: add --co-sign-key"},
		{"resign short of the threshold", exitcode.UsageError(&channels.ResignShortError{Err: fmt.Errorf("release role: %w", errors.New("1 of 2 signatures"))}),
			"release role: 1 of 2 signatures: add --co-sign-key with another release key"},
		{"missing index, mid-sentence", fmt.Errorf("channel stable in ./s: %w; nothing was signed", &channels.MissingIndexError{Record: "r.json", Sequence: 4, Digest: "sha256:x"}),
			"channel stable in ./s: the index is missing, but r.json records it published at sequence 4 (sha256:x); restarting it would forget every release and yank (pass --new-channel to start it again, empty, after sequence 4); nothing was signed"},
		{"unrecorded channel", &channels.UnrecordedChannelError{Channel: "edge", Store: "./s", Sequence: 3, Record: "r.json"},
			"channel edge in ./s is at sequence 3, but r.json has no record of it to check it against: check the channel (pin channel show edge), then run once with --adopt-store to record it, and commit r.json with release.yaml"},
		{"mixed revisions", &producer.MixedRevisionsError{Given: "abc", Groups: "a (x), b (y)"},
			"--revision abc was given, but components come from different revisions: a (x), b (y); release one commit's images or pass --allow-mixed-revisions"},
		{"needs revision, joined twice", errors.Join(fmt.Errorf("r.yaml:1: image a %w", releaseconfig.ErrNeedsRevision), fmt.Errorf("r.yaml:2: image b %w", releaseconfig.ErrNeedsRevision)),
			"r.yaml:1: image a needs a revision: pass --revision\nr.yaml:2: image b needs a revision: pass --revision"},
		{"identity token", keyless.ErrNoIdentityToken,
			"no identity token: set SIGSTORE_ID_TOKEN, run in GitHub Actions with `permissions: id-token: write`, or in a Buildkite job, or pass --identity-token FILE"},
		{"lock file", exitcode.UsageError(&pin.LockFileError{Path: "pin.lock", Err: errors.New("invalid character 'x'")}),
			"pin.lock: invalid character 'x' (delete it and run pin update to write a new one)"},
		{"lock tampered", &pin.LockTamperedError{Path: "pin.lock", Got: "sha256:a", Want: "sha256:b"},
			"pin.lock: the manifest it carries hashes to sha256:a, not to the manifestDigest sha256:b it records: pin.lock was edited or corrupted (restore it, or run pin update to write it again)"},
		{"lock outside config", &pin.LockConfigError{Path: "pin.lock", Detail: "product is x, pin.yaml says y"},
			"pin.lock: product is x, pin.yaml says y; pin update would never have written this lock (if pin.yaml changed on purpose, run pin update)"},
		{"no lock", &pin.NoLockError{Path: "/p/pin.lock"}, "/p/pin.lock does not exist: run pin update first"},
		{"incomplete update", fmt.Errorf("apply: %w", &pin.IncompleteError{Err: errors.New("replace main.tf: EIO"), State: "1 of 2 files were already replaced; pin.lock is unchanged"}),
			"apply: replace main.tf: EIO (1 of 2 files were already replaced; pin.lock is unchanged: run pin update again to complete)"},
		{"other errors as they are", errors.New("network down"), "network down"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := cliMessage(tt.err); got != tt.want {
				t.Errorf("cliMessage =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestOptionFlagsExist: every flag an option error may be worded as is a
// flag of some pin command.
func TestOptionFlagsExist(t *testing.T) {
	t.Parallel()
	have := map[string]bool{}
	stack := []*cobra.Command{newRootCmd(&app{})}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		c.Flags().VisitAll(func(f *pflag.Flag) { have["--"+f.Name] = true })
		stack = append(stack, c.Commands()...)
	}
	for opt, flag := range optionFlags {
		if !have[flag] {
			t.Errorf("option %s is worded as %s, which no command has", opt, flag)
		}
	}
}

// TestHint: the CLI words what to do about a typed error; the packages that
// return it name no command.
func TestHint(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("channel edge from ./store: %w", &channels.TrustError{Kind: channels.ErrExpired, Err: errors.New("expired")}), "pin channel refresh"},
		{&channels.TrustError{Kind: channels.ErrRollback, Err: errors.New("below")}, "never edit pin.lock"},
		{&channels.TrustError{Kind: channels.ErrFork, Err: errors.New("bytes")}, "never edit pin.lock"},
		{errors.New("network"), ""},
	} {
		got := hint(tt.err)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("hint(%v) = %q, want it to say %q", tt.err, got, tt.want)
		}
	}
}
