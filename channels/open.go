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
	// HTTPClient for https:// stores.
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
		return NewHTTPStore(location, o.HTTPClient)
	default:
		return NewDirStore(location), nil
	}
}
