// Package examples embeds the example deployment configurations so that
// `pin demo` can copy the Terraform one and pin it, exactly as a consumer
// would pin theirs.
package examples

import "embed"

// Terraform is the storage-service demo configuration under terraform/.
//
//go:embed terraform
var Terraform embed.FS
