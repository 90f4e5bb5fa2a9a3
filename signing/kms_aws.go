package signing

import (
	// Registers the awskms:// provider with sigstore's kms package.
	"github.com/sigstore/sigstore/pkg/signature/kms/aws"
)

// awsProvider signs with AWS KMS keys (awskms://). The SDK it brings is the one
// the ECR credential helper already links, so it costs little (see docs/producer.md).
var awsProvider = kmsProvider{scheme: aws.ReferenceScheme, validate: aws.ValidReference}
