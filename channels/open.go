package channels

import (
	"errors"
	"net/http"
	"strings"

	"github.com/wellcomecollection/pin/registry"
	"github.com/wellcomecollection/pin/signing"
)

// OpenOptions configures the store Open returns.
type OpenOptions struct {
	// Signer, when set, signs OCI artifacts cosign-style as they are pushed.
	Signer *signing.Signer
	// Registry options for oci:// stores (transport, keychain, retries).
	Registry []registry.Option
	// HTTPClient for https:// stores; by default one on registry.Transport
	// (with the Registry options), so static hosts get the same retries.
	HTTPClient *http.Client
}

// Open returns the store at location for reading: oci://host/repo,
// https://host/path, file:///dir or a directory path. A caller that writes
// asks Writable (or calls OpenWritable).
func Open(location string, o OpenOptions) (ReadStore, error) {
	switch {
	case location == "":
		return nil, errors.New("no store given (oci://host/repo, https://..., or a directory)")
	case strings.HasPrefix(location, ociScheme):
		opts := []OCIOption{WithRegistryOptions(o.Registry...)}
		if o.Signer != nil {
			opts = append(opts, WithImageSigner(o.Signer))
		}
		return NewOCIStore(location, opts...)
	case strings.HasPrefix(location, "https://"), strings.HasPrefix(location, "http://"):
		c := o.HTTPClient
		if c == nil {
			// The registry transport's retries, timeouts and read-ahead.
			c = &http.Client{Transport: registry.Transport(o.Registry...)}
		}
		return NewHTTPStore(location, c)
	default:
		dir, _ := LocalDir(location)
		return NewDirStore(dir), nil
	}
}

const ociScheme = "oci://"

// LocalDir returns the directory a location names (a path or file:///dir),
// and false for a remote store (oci://, https://, http://). It is the one
// place that tells store locations apart by their form.
func LocalDir(location string) (string, bool) {
	for _, remote := range []string{ociScheme, "https://", "http://"} {
		if strings.HasPrefix(location, remote) {
			return "", false
		}
	}
	return strings.TrimPrefix(location, "file://"), true
}

// OpenWritable opens location for publishing: errors wrap ErrReadOnly for a
// store that can only be read (https://).
func OpenWritable(location string, o OpenOptions) (Store, error) {
	st, err := Open(location, o)
	if err != nil {
		return nil, err
	}
	return Writable(st)
}
