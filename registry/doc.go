// Package registry is everything pin says to an OCI registry, built on
// go-containerregistry: resolving many image references to digests
// concurrently (Resolver), and pushing and pulling the small artifacts and
// cosign-style signatures that an OCI release store is made of (Client).
//
// Both share one authenticated transport per registry host (one token covers
// every repository of the host), bounded concurrency, retries with backoff on
// 408/429/5xx that honour Retry-After, a timeout per request and a request
// counter that tests and benchmarks assert on. Loopback registries
// (127.0.0.1:PORT, localhost) are spoken to over plain HTTP.
//
// Digests that end up in a signed document come from hashing the bytes that
// were fetched, never from a Docker-Content-Digest header alone: see
// WithVerifiedDigests.
package registry
