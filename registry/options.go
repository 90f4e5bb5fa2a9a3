package registry

import (
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Defaults for the options below.
const (
	// DefaultJobs is 50: 20 references go out at once, 2,000 take 40
	// round trips, and go-containerregistry's transport keeps 50 idle
	// connections per host, so an HTTP/1.1 registry's connections are reused.
	DefaultJobs        = 50
	DefaultTimeout     = 30 * time.Second
	DefaultBackoff     = 500 * time.Millisecond
	DefaultMaxAttempts = 4
	// MaxRetryWait caps any single wait between attempts, whatever a
	// Retry-After header asks for.
	MaxRetryWait = 30 * time.Second
	// DefaultUserAgent is sent when WithUserAgent is not given.
	DefaultUserAgent = "pin"
)

// Option configures a Resolver or a Client.
type Option func(*options)

type options struct {
	jobs        int
	platform    *v1.Platform
	keychain    authn.Keychain
	transport   http.RoundTripper
	timeout     time.Duration
	backoff     time.Duration
	maxAttempts int
	maxWait     time.Duration
	userAgent   string
	verified    bool
	// challengePath is the file of WithChallengeCache ("" for none).
	challengePath string
	// notify, when set, is told about each retry (WithRetryNotify).
	notify func(Retry)
	// plainHTTP lists the non-loopback hosts allowed without TLS (WithPlainHTTP).
	plainHTTP []string
}

func makeOptions(opts []Option) options {
	o := options{
		jobs:        DefaultJobs,
		timeout:     DefaultTimeout,
		backoff:     DefaultBackoff,
		maxAttempts: DefaultMaxAttempts,
		maxWait:     MaxRetryWait,
		userAgent:   DefaultUserAgent,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.jobs < 1 {
		o.jobs = 1
	}
	if o.maxAttempts < 1 {
		o.maxAttempts = 1
	}
	if o.keychain == nil {
		o.keychain = DefaultKeychain()
	}
	if o.transport == nil {
		o.transport = defaultTransport()
	}
	return o
}

// WithJobs bounds how many requests run at once (default DefaultJobs, 50).
func WithJobs(n int) Option { return func(o *options) { o.jobs = n } }

// WithPlatform makes the Resolver also report the digest of p's child when a
// tag is an image index (Result.PlatformDigest).
func WithPlatform(p *v1.Platform) Option { return func(o *options) { o.platform = p } }

// WithKeychain replaces the default keychain (Docker config, then ECR for
// *.dkr.ecr.*.amazonaws.com hosts).
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.keychain = k } }

// WithTransport replaces the underlying HTTP transport (tests). Retries,
// timeouts, counting and auth are layered on top of it.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithTimeout bounds each HTTP request, body included (default 30s; 0 means none).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithRetry sets the first backoff (doubled on each retry) and the maximum
// number of attempts per request, the first included (default 500ms, 4).
// A Retry-After header overrides the backoff; no wait exceeds MaxRetryWait.
func WithRetry(backoff time.Duration, maxAttempts int) Option {
	return func(o *options) {
		o.backoff = backoff
		o.maxAttempts = maxAttempts
	}
}

// WithMaxRetryWait caps any single wait between attempts, a Retry-After
// header's included (default MaxRetryWait).
func WithMaxRetryWait(d time.Duration) Option { return func(o *options) { o.maxWait = d } }

// Retry describes a request about to be retried: for progress output, so a
// long run of retries against a dead registry is not silent.
type Retry struct {
	Host        string
	Attempt     int // the attempt that failed, from 1
	MaxAttempts int
	Wait        time.Duration // before the next attempt
	Cause       string        // the status or error that failed
}

// WithRetryNotify calls notify before each retry's wait. It may be called
// from many goroutines at once.
func WithRetryNotify(notify func(Retry)) Option { return func(o *options) { o.notify = notify } }

// WithUserAgent sets the User-Agent sent to registries (default "pin").
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// WithVerifiedDigests makes the Resolver take every digest from hashing the
// bytes of a manifest GET, never from a Docker-Content-Digest header. Use it
// whenever the digest goes into something that is signed.
func WithVerifiedDigests(v bool) Option { return func(o *options) { o.verified = v } }
