package channels

import (
	"fmt"
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

// Open returns the store at location: oci://host/repo, https://host/path
// (read-only), file:///dir or a directory path.
func Open(location string, o OpenOptions) (Store, error) {
	switch {
	case location == "":
		return nil, fmt.Errorf("no store given: pass --source (oci://host/repo, https://..., or a directory)")
	case strings.HasPrefix(location, "oci://"):
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
		return NewDirStore(location), nil
	}
}
