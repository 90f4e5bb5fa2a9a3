package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/opterr"
	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/producer"
	"github.com/wellcomecollection/pin/registry"
	"github.com/wellcomecollection/pin/signing/keyless"
)

// This file is the one place that words library errors in the CLI's terms
// (cliMessage rewords the message; hint adds a "pin: hint:" line).
// The packages state what is wrong, with the facts, and name no flag or
// command (internal/liblint's test keeps it so); here each typed error's text
// is replaced by the same sentence with the flag or command that helps.

// optionFlags maps an options field named by an *opterr.Error to its flag.
var optionFlags = map[string]string{
	"To":         "--to",
	"Constraint": "--constraint",
	"RootSHA256": "--root-sha256",
	"FailOn":     "--fail-on",
	"Base":       "--base",
	"Revision":   "--revision",
}

// cliMessage is err's message with every typed library error in its chain
// (errors.Join's branches included) worded for the command line.
func cliMessage(err error) string {
	msg := err.Error()
	done := map[string]bool{}
	eachError(err, func(e error) {
		lib := e.Error()
		if done[lib] {
			return
		}
		if cli, ok := cliWords(e); ok && cli != lib {
			done[lib] = true
			msg = strings.ReplaceAll(msg, lib, cli)
		}
	})
	return msg
}

// cliWords returns e's own message in the CLI's words, when e is one of the
// library errors this file knows (not what e wraps: eachError visits that).
func cliWords(e error) (string, bool) {
	switch e {
	case pin.ErrHoldNeedsReason:
		return "a hold needs --reason: it is recorded in pin.lock for whoever wonders why the project is not updated", true
	case pin.ErrHoldConflict:
		return "--hold and --unhold contradict each other", true
	case pin.ErrNoTrustAnchor:
		return "give --key-file or --root-sha256 (one of them)", true
	case pin.ErrNoTrustedKey:
		return "no trusted key: pass --config pin.yaml, or --source STORE with --key-file PUB", true
	case channels.ErrNothingPublished:
		return e.Error() + " (--base X.Y.Z)", true
	case releaseconfig.ErrNeedsRevision:
		return e.Error() + ": pass --revision", true
	case keyless.ErrNoIdentityToken:
		return strings.Replace(e.Error(), "give a token file", "pass --identity-token FILE", 1), true
	}
	if words, ok := consumerWords(e); ok {
		return words, true
	}
	return producerWords(e)
}

// consumerWords words the typed errors of the consumer's commands (update,
// check, init, hold) and of option values.
func consumerWords(e error) (string, bool) {
	switch e := e.(type) {
	case *opterr.Error:
		flag, ok := optionFlags[e.Option]
		if !ok {
			flag = "--" + strings.ToLower(e.Option)
		}
		return flag + e.Err.Error(), true
	case *pin.HeldError:
		if e.Unlisted {
			return e.Error() + ": pass --unhold to release the hold", true
		}
		return e.Error() + fmt.Sprintf(": pass --unhold to release the hold, or --hold --reason TEXT to hold at %s instead", e.To), true
	case *pin.DowngradeError:
		return e.Error() + fmt.Sprintf(" (pass --allow-downgrade or --to %s)", e.To), true
	case *pin.ExistsError:
		return e.Error() + ": pass --force to overwrite it", true
	case *pin.NoConfigError:
		return e.Error() + ": run pin there, pass --config, or run pin init to write one", true
	case *pin.LockFileError:
		return e.Error() + " (delete it and run pin update to write a new one)", true
	case *pin.LockTamperedError:
		return e.Error() + " (restore it, or run pin update to write it again)", true
	case *pin.LockConfigError:
		return fmt.Sprintf("%s: %s; pin update would never have written this lock (if pin.yaml changed on purpose, run pin update)", e.Path, e.Detail), true
	case *pin.NoLockError:
		return e.Error() + ": run pin update first", true
	case *pin.IncompleteError:
		return fmt.Sprintf("%v (%s: run pin update again to complete)", e.Err, e.State), true
	}
	return "", false
}

// producerWords words the typed errors of the producer's commands (release,
// channel, root).
func producerWords(e error) (string, bool) {
	switch e := e.(type) {
	case *channels.ReusedVersionError:
		return e.Error() + fmt.Sprintf(" (pin release next --channel %s)", e.Channel), true
	case *channels.NoIdentityError:
		return fmt.Sprintf("role %s in root version %d of %s lists no CI identity, so a keyless signature (--key sigstore) counts for nothing: add the pipeline's identity with pin root add-key --role %s --identity-issuer ISSUER --identity-subject SUBJECT", e.Role, e.RootVersion, e.Store, e.Role), true
	case *channels.KeyNotListedError:
		return e.Error() + fmt.Sprintf(", or add this key with pin root add-key --role %s", e.Role), true
	case *channels.ResignShortError:
		return e.Err.Error() + ": add --co-sign-key with another release key", true
	case *channels.ThresholdError:
		return e.Error() + ": add --co-sign-key", true
	case *channels.MissingIndexError:
		return e.Problem() + fmt.Sprintf(" (pass --new-channel to start it again, empty, after sequence %d)", e.Sequence), true
	case *channels.UnrecordedChannelError:
		return e.Error() + fmt.Sprintf(": check the channel (pin channel show %s), then run once with --adopt-store to record it, and commit %s with release.yaml", e.Channel, e.Record), true
	case *producer.MixedRevisionsError:
		what := e.Problem()
		if e.Given != "" {
			what = "--" + what // "revision X was given" names the flag
		}
		return what + "; release one commit's images or pass --allow-mixed-revisions", true
	}
	return "", false
}

// eachError calls visit for err and every error it wraps, depth first.
func eachError(err error, visit func(error)) {
	if err == nil {
		return
	}
	visit(err)
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		eachError(u.Unwrap(), visit)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			eachError(e, visit)
		}
	}
}

// hint says what to do about a typed error, in the CLI's own words: the
// packages that return the errors name no commands or flags.
func hint(err error) string {
	switch {
	case errors.Is(err, channels.ErrExpired):
		return "the publisher must run `pin channel refresh` (consumers refuse an expired index)"
	case errors.Is(err, channels.ErrRollback), errors.Is(err, channels.ErrFork):
		return "the store serves an older or different index than one already trusted: check the store or mirror, never edit pin.lock to accept it"
	}
	var plain *registry.PlainHTTPError
	if errors.As(err, &plain) {
		return fmt.Sprintf("give the registry TLS, or, if plain HTTP to it is what you want, set PIN_REGISTRY_PLAIN_HTTP=%s", plain.Host)
	}
	return ""
}
