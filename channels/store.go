package channels

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wellcomecollection/pin/manifest"
)

// ErrNotFound is wrapped when a store has no such channel or release.
var ErrNotFound = errors.New("not found")

// ErrExists is wrapped when a release version is already published: releases are immutable.
var ErrExists = errors.New("already exists")

// ErrReadOnly is wrapped when a store that can only be read is opened for writing.
var ErrReadOnly = errors.New("store is read-only")

// Document is a signed document as a store holds it: the canonical bytes, the
// base64 signature over them (the content of a cosign .sig file) when a key
// signed it, and the Sigstore bundle (protobuf JSON) when a CI identity signed
// it keylessly. A document has at least one of the two.
type Document struct {
	Bytes     []byte
	Signature []byte
	Bundle    []byte
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

// BundleSuffix names the file beside a document that holds its Sigstore
// bundle, as `cosign sign-blob --bundle` names it by convention.
const BundleSuffix = ".sigstore.json"

// ReadStore is where releases and channel indexes are read from. Every store
// kind implements it: a directory, the same layout over https://, an OCI
// registry repository (and audit's cache in front of any of them). A store
// moves bytes; it verifies nothing: Trusted does.
type ReadStore interface {
	// GetChannel returns the channel index document; errors wrap ErrNotFound when absent.
	GetChannel(ctx context.Context, channel string) (Document, error)
	// GetRelease returns a release manifest; errors wrap ErrNotFound when absent.
	GetRelease(ctx context.Context, version string) (Document, error)
	// String names the store's location in messages.
	String() string
}

// Store is a store that can also be published to: a directory or an OCI
// repository. What else a store can do is an optional interface it may
// implement: PublishLocker (serialise publishers) and InRegistry (its
// documents are registry artifacts, with cosign signatures to copy).
type Store interface {
	ReadStore
	// PutChannel replaces the channel index document.
	PutChannel(ctx context.Context, channel string, doc Document) error
	// PutRelease publishes a release manifest; errors wrap ErrExists when the version is taken.
	PutRelease(ctx context.Context, version string, doc Document) error
}

// InRegistry is implemented by stores whose documents are artifacts in a
// registry repository (OCIStore): their tags carry cosign signatures too.
type InRegistry interface {
	Repository() name.Repository
}

// Writable returns st as a Store, or an error wrapping ErrReadOnly.
func Writable(st ReadStore) (Store, error) {
	if w, ok := st.(Store); ok {
		return w, nil
	}
	return nil, fmt.Errorf("%s: %w", st, ErrReadOnly)
}
