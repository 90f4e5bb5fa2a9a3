package pin

import (
	"errors"
	"fmt"
)

// The errors below state what is wrong in the library's terms; cmd/pin adds
// what to do about it in its own (flags and commands), so that a program
// calling this package never reads advice about a command line it has not.
// An option set wrongly is an *opterr.Error naming the options field.

// ErrHoldNeedsReason: UpdateOptions.Hold without a HoldReason.
var ErrHoldNeedsReason = errors.New("a hold needs a reason: it is recorded in pin.lock for whoever wonders why the project is not updated")

// ErrHoldConflict: UpdateOptions.Hold and Unhold together.
var ErrHoldConflict = errors.New("holding and releasing a hold at once contradict each other")

// ErrNoTrustAnchor: InitOptions with both or neither of KeyFile and RootSHA256.
var ErrNoTrustAnchor = errors.New("give a key file or a root fingerprint (one of them)")

// ErrNoTrustedKey: a mirror with neither a consumer config nor a store and key.
var ErrNoTrustedKey = errors.New("no trusted key: give a consumer config, or a store with its public key")

// HeldError is an update refused because pin.lock holds a release: another
// version was asked for (To), or the channel no longer lists the held one
// (Unlisted, naming the Channel). Releasing or moving the hold is the way on.
type HeldError struct {
	Version, Reason string
	// To is the version asked for instead; "" when Unlisted.
	To string
	// Channel no longer lists Version when Unlisted.
	Channel  string
	Unlisted bool
}

func (e *HeldError) Error() string {
	if e.Unlisted {
		return fmt.Sprintf("pin.lock holds %s (%s), which %s no longer lists", e.Version, e.Reason, e.Channel)
	}
	return fmt.Sprintf("pin.lock holds %s (%s)", e.Version, e.Reason)
}

// DowngradeError is an update refused because the newest allowed release is
// below the one pin.lock pins. Allowing the downgrade, or asking for To by
// version, is the way on.
type DowngradeError struct {
	From, To string
	// Why explains From's state when it matters (" (1.2.0, pinned now, is yanked ...)").
	Why string
}

func (e *DowngradeError) Error() string {
	return fmt.Sprintf("the newest allowed release %s is below %s in pin.lock%s: refusing to downgrade", e.To, e.From, e.Why)
}

// ExistsError is Init refusing to overwrite a file without InitOptions.Force.
type ExistsError struct{ Path string }

func (e *ExistsError) Error() string { return e.Path + " already exists" }

// NoConfigError is LoadConfig finding no pin.yaml at Path (absolute).
type NoConfigError struct{ Path string }

func (e *NoConfigError) Error() string { return "no consumer config at " + e.Path }

// LockFileError is a pin.lock that cannot be read as one (an update never
// writes such a file): writing a new one is the way on.
type LockFileError struct {
	Path string
	Err  error
}

func (e *LockFileError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *LockFileError) Unwrap() error { return e.Err }

// LockTamperedError is a pin.lock whose manifest does not hash to the
// manifestDigest it records: the file was edited or corrupted.
type LockTamperedError struct {
	Path, Got, Want string
}

func (e *LockTamperedError) Error() string {
	return fmt.Sprintf("%s: the manifest it carries hashes to %s, not to the manifestDigest %s it records: pin.lock was edited or corrupted", e.Path, e.Got, e.Want)
}

// LockConfigError is a pin.lock that pin.yaml's product, channel or
// constraint could not have produced (Detail says which).
type LockConfigError struct {
	Path, Detail string
}

func (e *LockConfigError) Error() string {
	return fmt.Sprintf("%s: %s; an update would never have written this lock", e.Path, e.Detail)
}

// NoLockError is a check of a project that has no pin.lock yet.
type NoLockError struct{ Path string }

func (e *NoLockError) Error() string { return e.Path + " does not exist" }

// IncompleteError is an update cut short after its journal was written:
// State says what is done ("pin.lock is unchanged"); an update run again
// completes it from the journal.
type IncompleteError struct {
	Err   error
	State string
}

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("%v (%s: updating again completes it)", e.Err, e.State)
}
func (e *IncompleteError) Unwrap() error { return e.Err }
