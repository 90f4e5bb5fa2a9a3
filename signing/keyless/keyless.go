package keyless

import (
	"errors"
	"fmt"

	"github.com/wellcomecollection/pin/signing"
)

// ErrVerify is wrapped by every bundle verification failure; it wraps
// signing.ErrSignature, so callers treat it as any bad signature.
var ErrVerify = fmt.Errorf("sigstore bundle: %w", signing.ErrSignature)

// MaxBundleSize caps a bundle: a certificate chain, a signature and one log
// entry with its inclusion proof come to a few kilobytes.
const MaxBundleSize = 256 << 10

// Public-good Sigstore's services, the defaults of a Signer.
const (
	PublicFulcioURL = "https://fulcio.sigstore.dev"
	PublicRekorURL  = "https://rekor.sigstore.dev"
)

// ErrSign is wrapped by failures to make a bundle: no identity token, Fulcio
// or Rekor refused or unreachable.
var ErrSign = errors.New("keyless signing")
