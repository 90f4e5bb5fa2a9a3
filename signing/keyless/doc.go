// Package keyless signs and verifies pin's documents the Sigstore way, with no
// long-lived key: the producer makes an ephemeral key, gets a Fulcio certificate
// binding it to its CI job's OIDC identity, records the signature in the Rekor
// transparency log, and stores a Sigstore bundle (protobuf JSON, the format of
// `cosign sign-blob --bundle` with the new bundle format) beside the document. A
// consumer trusts identities (an issuer, a subject, the certificate extensions
// naming the source repository, ref and trigger) instead of keys, and accepts a
// bundle only with its transparency-log entry and a trusted time, against
// Sigstore's trusted root (from its TUF repository, cached, or a
// trusted_root.json file).
//
// All certificate, log and timestamp checks are sigstore-go's (pkg/verify);
// this package only chooses the policy and carries the bytes.
package keyless
