package signing

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
	"github.com/sigstore/sigstore/pkg/signature"
	// Registers the awskms:// provider with sigstore's kms package.
	"github.com/sigstore/sigstore/pkg/signature/kms/aws"
)

// awsProvider signs with AWS KMS keys (awskms://). The SDK it brings is the one
// the ECR credential helper already links, so it costs little (see docs/producer.md).
var awsProvider = kmsProvider{scheme: aws.ReferenceScheme, validate: aws.ValidReference, load: loadAWSKey}

// arnRegion returns the region of a key or alias ARN in ref, or "".
func arnRegion(ref string) string {
	_, arn, ok := strings.Cut(ref, "arn:")
	if !ok {
		return ""
	}
	// arn:PARTITION:kms:REGION:ACCOUNT:key/ID
	parts := strings.SplitN(arn, ":", 4)
	if len(parts) < 4 || parts[1] != "kms" {
		return ""
	}
	return parts[2]
}

// loadAWSKey opens an AWS KMS key with the SDK's own logging off (its
// warnings would interleave with pin's output; pin reports failures itself)
// and a region settled first: without one, the SDK's error is "endpoint
// rule error", which names no cause. A key ARN's region is used when the
// environment and profile name none.
func loadAWSKey(ctx context.Context, ref string) (signature.SignerVerifier, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithLogger(logging.Nop{}),
		config.WithClientLogMode(0),
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w %s: load AWS configuration: %w", ErrKMS, ref, err)
	}
	if cfg.Region == "" {
		region := arnRegion(ref)
		if region == "" {
			return nil, refErrorf("%s: no AWS region is configured: set AWS_REGION (or a region in the AWS profile), or name the key by its ARN", ref)
		}
		opts = append(opts, config.WithRegion(region))
	}
	return aws.LoadSignerVerifier(ctx, ref, opts...)
}
