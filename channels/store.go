package channels

import (
	"context"
	"errors"

	"github.com/wellcomecollection/pin/manifest"
)

// ErrNotFound is wrapped when a store has no such channel or release.
var ErrNotFound = errors.New("not found")

// ErrExists is wrapped when a release version is already published: releases are immutable.
var ErrExists = errors.New("already exists")

// Document is a signed document as a store holds it: the canonical bytes and
// the base64 signature over them (the content of a cosign .sig file).
type Document struct {
	Bytes     []byte
	Signature []byte
	// More holds further base64 signatures over Bytes, for a role whose
	// threshold is over one (a directory store's <name>.json.sigs, an OCI
	// artifact's signatures annotation). Signature stays the first one, so
	// `cosign verify-blob` and older readers keep working.
	More []manifest.Signature
}

// Signatures lists every signature the document carries.
func (d Document) Signatures() [][]byte {
	out := [][]byte{d.Signature}
	for _, s := range d.More {
		out = append(out, []byte(s.Sig))
	}
	return out
}

// Store is where releases and channel indexes are published. Implementations:
// a directory (read over https:// too) and an OCI registry repository.
// A Store moves bytes; it verifies nothing: verification is the caller's job.
type Store interface {
	// GetChannel returns the channel index document; errors wrap ErrNotFound when absent.
	GetChannel(ctx context.Context, channel string) (Document, error)
	// PutChannel replaces the channel index document.
	PutChannel(ctx context.Context, channel string, doc Document) error
	// GetRelease returns a release manifest; errors wrap ErrNotFound when absent.
	GetRelease(ctx context.Context, version string) (Document, error)
	// PutRelease publishes a release manifest; errors wrap ErrExists when the version is taken.
	PutRelease(ctx context.Context, version string, doc Document) error
	// String names the store's location in messages.
	String() string
}
