//go:build tools

// Package tools pins dependencies that packages in progress will import, so go.mod stays stable while they land.
package tools

import (
	_ "github.com/Masterminds/semver/v3"
	_ "github.com/awslabs/amazon-ecr-credential-helper/ecr-login"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/random"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/hashicorp/hcl/v2/hclsyntax"
	_ "github.com/sigstore/sigstore/pkg/cryptoutils"
	_ "github.com/sigstore/sigstore/pkg/signature"
	_ "github.com/sigstore/sigstore/pkg/signature/payload"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/term"
	_ "gopkg.in/yaml.v3"
)
