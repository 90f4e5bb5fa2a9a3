package channels

import (
	"errors"
	"fmt"
	"strings"

	"github.com/wellcomecollection/pin/manifest"
)

// The errors below state why a publish or a version pick is refused, with
// the facts a caller needs to act; cmd/pin words what to do in its own terms
// (flags and commands), so this package names no command line.

// ErrNothingPublished is NextVersion with no base and no release to follow.
var ErrNothingPublished = errors.New("no release is published yet: give the first version")

// ReusedVersionError is a release version that cannot be published again: it
// exists with other content, or it is yanked. The next version is the way on.
type ReusedVersionError struct {
	Version, Channel string
	Store            string
	// Diff says how the existing release differs; "" when Yanked.
	Diff   string
	Yanked bool
	Reason string // the yank's reason
}

func (e *ReusedVersionError) Error() string {
	if e.Yanked {
		return fmt.Sprintf("release %s is yanked on %s (%s): pick the next version", e.Version, e.Channel, e.Reason)
	}
	return fmt.Sprintf("release %s already exists in %s with different content (%s): releases are immutable; pick the next version", e.Version, e.Store, e.Diff)
}

// NoIdentityError is a keyless signature for a role whose root lists no CI
// identity: it would count for nothing.
type NoIdentityError struct {
	Role        string
	RootVersion int64
	Store       string
}

func (e *NoIdentityError) Error() string {
	return fmt.Sprintf("role %s in root version %d of %s lists no CI identity, so a keyless signature counts for nothing: add the pipeline's identity to the role", e.Role, e.RootVersion, e.Store)
}

// KeyNotListedError is a signing key the root does not list for Role.
type KeyNotListedError struct {
	KeyID, Role string // KeyID shortened to 16 hex digits
	RootVersion int64
	Store       string
	Listed      []string // the role's key ids
}

func (e *KeyNotListedError) Error() string {
	return fmt.Sprintf("key %s is not listed for role %s in root version %d of %s: sign with one of its keys (%s)", e.KeyID, e.Role, e.RootVersion, e.Store, strings.Join(e.Listed, ", "))
}

// ThresholdError is a publish signed by fewer distinct keys than Role needs.
type ThresholdError struct {
	Role        string
	RootVersion int64
	Need, Given int
	Channel     string
}

func (e *ThresholdError) Error() string {
	what := "channel " + e.Channel
	if e.Role == manifest.RoleRelease {
		what = "a release for channel " + e.Channel
	}
	return fmt.Sprintf("role %s of root version %d needs %d distinct keys (an identity counts as one) to sign %s, %d given", e.Role, e.RootVersion, e.Need, what, e.Given)
}

// MissingIndexError is a channel the store lost that the publish record
// holds: starting it afresh would forget every release and yank, so only an
// explicit restart (after Sequence) may.
type MissingIndexError struct {
	Record   string
	Sequence int64
	Digest   string
}

func (e *MissingIndexError) Error() string {
	return e.Problem() + fmt.Sprintf(" (restart it explicitly to start it again, empty, after sequence %d)", e.Sequence)
}

// Problem is the refusal without the way on.
func (e *MissingIndexError) Problem() string {
	return fmt.Sprintf("the index is missing, but %s records it published at sequence %d (%s); restarting it would forget every release and yank", e.Record, e.Sequence, e.Digest)
}

// UnrecordedChannelError is a channel in the store that the publish record
// has never seen: taking it on trust must be asked for, once.
type UnrecordedChannelError struct {
	Channel, Store string
	Sequence       int64
	// Record is the publish record's path; NoRecord when the file does not exist.
	Record   string
	NoRecord bool
}

func (e *UnrecordedChannelError) Error() string {
	what := e.Record + " has no record of it"
	if e.NoRecord {
		what = "there is no publish record at " + e.Record
	}
	return fmt.Sprintf("channel %s in %s is at sequence %d, but %s to check it against", e.Channel, e.Store, e.Sequence, what)
}

// ResignShortError is a re-signing whose keys fall short of the release
// role's threshold in the current root: another release key must sign too.
type ResignShortError struct{ Err error }

func (e *ResignShortError) Error() string {
	return e.Err.Error() + ": sign with another release key too"
}
func (e *ResignShortError) Unwrap() error { return e.Err }
