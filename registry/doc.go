// Package registry is everything pin says to an OCI registry, built on
// go-containerregistry: resolving many image references to digests
// concurrently (Resolver), and pushing and pulling the small artifacts and
// cosign-style signatures that an OCI release store is made of (Client).
//
// Both share one authenticated transport per registry host (one token covers
// every repository of the host), bounded concurrency, a timeout per request
// (body included) and a request counter that tests and benchmarks assert on.
// Retries are bounded (WithRetry, default 4 attempts, backoff from 500ms
// doubling) and honour Retry-After as seconds or an HTTP date, capped
// (WithMaxRetryWait). 408/429/5xx answers are retried; so, for GET and HEAD,
// are a reset connection, a body cut short, an attempt that timed out and a
// manifest whose bytes do not hash to its Docker-Content-Digest header: GET
// bodies are read ahead inside the retry loop for that. Manifests are cut
// off at MaxManifestSize (64 KiB for a release store's artifacts), and the
// credentials a request carried are blanked out of error bodies. Loopback
// registries (127.0.0.1:PORT, localhost) are spoken to over plain HTTP, and
// no other host is (PlainHTTPError), unless WithPlainHTTP names it: not an
// RFC 1918 address as go-containerregistry would, nor a token realm or a
// redirect that points at http://.
//
// Digests that end up in a signed document come from hashing the bytes that
// were fetched, never from a Docker-Content-Digest header alone (and a header
// that disagrees is an error): see WithVerifiedDigests. A manifest asked for
// by digest must hash to that digest.
package registry
