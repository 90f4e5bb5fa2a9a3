// Package producer is the producer's workflow: what `pin release create`,
// `promote`, `yank` and `pin channel refresh` decide, apart from the commands
// that bind their flags and render their results.
//
// A release is built (Create, Build) in one order: the version and the
// revision are checked and release.yaml's {revision} images filled before
// anything is fetched or a key is loaded; then every image is resolved to a
// digest computed from the bytes fetched, the images' revision labels are
// read and checked against one commit, every tag is confirmed not to have
// moved, and only then is the manifest signed and published by a
// channels.Publisher, which Open puts under the store's root of trust, the
// publish record and release.yaml's earlier keys and identities.
//
// The package reads release.yaml through internal/releaseconfig (a parser
// only), resolves through registry and publishes through channels; it never
// prints or exits, and reports warnings through CreateOptions.Warn.
package producer
