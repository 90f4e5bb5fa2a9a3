package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrUnreachable is wrapped when a registry host cannot be reached at all
// (DNS failure, connection refused, no answer within the timeout).
var ErrUnreachable = errors.New("registry unreachable")

// ErrNotFound is wrapped when a tag, manifest or repository does not exist.
var ErrNotFound = errors.New("not found")

// UnreachableError names the host that could not be reached.
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("registry %s is unreachable: %v", e.Host, e.Err)
}

// Unwrap returns the cause.
func (e *UnreachableError) Unwrap() error { return e.Err }

// Is reports ErrUnreachable.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// classifiedError keeps a registry error's message and adds a sentinel to
// what errors.Is finds.
type classifiedError struct {
	err      error
	sentinel error
}

func (e *classifiedError) Error() string   { return e.err.Error() }
func (e *classifiedError) Unwrap() []error { return []error{e.err, e.sentinel} }

// classify marks err as ErrUnreachable (naming host) or ErrNotFound where it is one.
func classify(ctx context.Context, host string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrUnreachable) || errors.Is(err, ErrNotFound) {
		return err
	}
	var terr *transport.Error
	if errors.As(err, &terr) {
		if terr.StatusCode == http.StatusNotFound {
			return &classifiedError{err: err, sentinel: ErrNotFound}
		}
		for _, d := range terr.Errors {
			if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode || d.Code == transport.BlobUnknownErrorCode {
				return &classifiedError{err: err, sentinel: ErrNotFound}
			}
		}
		return err
	}
	if ctx.Err() == nil && isUnreachable(err) {
		return &UnreachableError{Host: host, Err: err}
	}
	return err
}

func isUnreachable(err error) bool {
	var te *TimeoutError
	if errors.As(err, &te) {
		return false // the host answered, too slowly: the error names it already
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// RequestStats counts HTTP requests by kind; every attempt counts, retries included.
type RequestStats struct {
	Total     int64 // every request
	Pings     int64 // GET /v2/
	Manifests int64 // /v2/<repo>/manifests/<ref>
	Blobs     int64 // /v2/<repo>/blobs/...
	Tags      int64 // /v2/<repo>/tags/list
	Tokens    int64 // anything outside /v2/: token endpoints
}

type counters struct {
	total, pings, manifests, blobs, tags, tokens atomic.Int64
}

func (c *counters) stats() RequestStats {
	return RequestStats{
		Total: c.total.Load(), Pings: c.pings.Load(), Manifests: c.manifests.Load(),
		Blobs: c.blobs.Load(), Tags: c.tags.Load(), Tokens: c.tokens.Load(),
	}
}

type countingTransport struct {
	next http.RoundTripper
	c    *counters
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.c.total.Add(1)
	p := req.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		t.c.pings.Add(1)
	case !strings.HasPrefix(p, "/v2/"):
		t.c.tokens.Add(1)
	case strings.Contains(p, "/manifests/"):
		t.c.manifests.Add(1)
	case strings.Contains(p, "/blobs/"):
		t.c.blobs.Add(1)
	case strings.HasSuffix(p, "/tags/list"):
		t.c.tags.Add(1)
	}
	return t.next.RoundTrip(req)
}

// redactTransport keeps the credentials a request carried out of the body
// of an error answer: a registry or token server that echoes the
// Authorization header back would otherwise put a password or token into
// go-containerregistry's error message, and from there into pin's stderr
// and --output json.
type redactTransport struct {
	next http.RoundTripper
}

// maxErrorBody bounds how much of an error answer is kept (go-containerregistry
// reads it whole into its error).
const maxErrorBody = 64 << 10

func (t *redactTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	secrets := credentials(req.Header.Get("Authorization"))
	if len(secrets) == 0 {
		return resp, nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	for _, s := range secrets {
		b = bytes.ReplaceAll(b, []byte(s), []byte("[REDACTED]"))
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// credentials returns the secret parts of an Authorization header value:
// the credential itself and, for Basic, the decoded user:password and the
// password alone. Longest first, so that no part is left half-replaced.
func credentials(h string) []string {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(h), " ")
	cred = strings.TrimSpace(cred)
	if !ok || cred == "" {
		return nil
	}
	out := []string{cred}
	if strings.EqualFold(scheme, "Basic") {
		if dec, err := base64.StdEncoding.DecodeString(cred); err == nil {
			out = append(out, string(dec))
			if _, pw, ok := strings.Cut(string(dec), ":"); ok && len(pw) >= 4 {
				out = append(out, pw)
			}
		}
	}
	return out
}

// timeoutTransport bounds one attempt, body included: the deadline is
// released when the body is closed. An attempt that runs out of time fails
// with a *TimeoutError naming the host, whether the headers or the body were
// late.
type timeoutTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

// TimeoutError is an attempt that got no complete answer from Host within
// the per-request timeout (WithTimeout).
type TimeoutError struct {
	Host  string
	Limit time.Duration
	Err   error
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("no complete answer from %s within %s (the per-request timeout)", e.Host, e.Limit)
}

// Unwrap returns the cause (a context deadline or a network timeout).
func (e *TimeoutError) Unwrap() error { return e.Err }

// Timeout reports true, as a net.Error would.
func (e *TimeoutError) Timeout() bool { return true }

// attemptTimedOut turns err into a *TimeoutError when the attempt's own
// deadline (not the caller's context) expired; a dial that timed out stays a
// dial error, so the host is reported unreachable.
func (t *timeoutTransport) attemptTimedOut(req *http.Request, attempt context.Context, err error) error {
	if err == nil || req.Context().Err() != nil || !errors.Is(attempt.Err(), context.DeadlineExceeded) {
		return err
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return err
	}
	return &TimeoutError{Host: req.URL.Host, Limit: t.timeout, Err: err}
}

func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.timeout <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, t.attemptTimedOut(req, ctx, err)
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel, wrap: func(err error) error { return t.attemptTimedOut(req, ctx, err) }}
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
	wrap   func(error) error
}

func (b *cancelBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = b.wrap(err)
	}
	return n, err
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// retryTransport retries 408, 429 and 5xx answers with exponential backoff,
// honouring Retry-After (seconds or an HTTP date, capped at maxWait). GET and
// HEAD requests are also retried when the connection is reset, the body is
// cut short, an attempt times out or a manifest's bytes do not hash to its
// Docker-Content-Digest header: their bodies are read ahead (see readAhead)
// so that such faults surface here, where a retry can still help. Other
// requests are retried on a reset connection only when their body can be
// replayed.
type retryTransport struct {
	next        http.RoundTripper
	backoff     time.Duration
	maxAttempts int
	maxWait     time.Duration
	notify      func(Retry)
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableErr reports whether a new attempt may get past err: a reset, a
// cut or corrupted body or a timeout may not happen again; a refused cap or
// a bad URL would. Only GET and HEAD (idempotent) are retried after the
// request may have reached the server.
func retryableErr(err error, idempotent bool) bool {
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	if !idempotent {
		return false
	}
	var te *TimeoutError
	var de *DigestMismatchError
	return errors.As(err, &te) || errors.As(err, &de) || errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE)
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	idempotent := req.Method == http.MethodGet || req.Method == http.MethodHead
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	wait := t.backoff
	for attempt := 1; ; attempt++ {
		r := req
		if attempt > 1 && req.Body != nil && req.Body != http.NoBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("replay %s %s: %w", req.Method, req.URL.Redacted(), err)
			}
			r = req.Clone(req.Context())
			r.Body = body
		}
		resp, err := t.next.RoundTrip(r)
		if err == nil && idempotent && resp.StatusCode == http.StatusOK {
			resp, err = readAhead(req, resp)
		}
		again := false
		if err != nil {
			again = retryableErr(err, idempotent)
		} else {
			again = retryableStatus(resp.StatusCode)
		}
		if !again || !replayable || attempt >= t.maxAttempts || req.Context().Err() != nil {
			if err != nil && again && attempt > 1 {
				err = fmt.Errorf("%w (%d attempts)", err, attempt)
			}
			return resp, err
		}
		d := wait
		if resp != nil {
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				d = ra
			}
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		d = min(d, t.maxWait)
		if t.notify != nil {
			cause := ""
			if err != nil {
				cause = err.Error()
			} else {
				cause = resp.Status
			}
			t.notify(Retry{Host: req.URL.Host, Attempt: attempt, MaxAttempts: t.maxAttempts, Wait: d, Cause: cause})
		}
		wait *= 2
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-req.Context().Done():
			timer.Stop()
			return nil, req.Context().Err()
		}
	}
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func defaultTransport() http.RoundTripper {
	if t, ok := remote.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
	return remote.DefaultTransport
}

// ecrHost matches private ECR registries: ACCOUNT.dkr.ecr[-fips].REGION.amazonaws.com[.cn].
var ecrHost = regexp.MustCompile(`^[0-9]{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$`)

// ecrKeychain asks ECR (ecrHelper: in-process, no helper binary) for
// private ECR hosts only, so that other hosts never touch AWS configuration.
type ecrKeychain struct {
	once sync.Once
	kc   authn.Keychain
}

func (k *ecrKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if !ecrHost.MatchString(r.RegistryStr()) {
		return authn.Anonymous, nil
	}
	k.once.Do(func() { k.kc = authn.NewKeychainFromHelper(ecrHelper{}) })
	return k.kc.Resolve(r)
}

// DefaultKeychain is the Docker config keychain, then the ECR helper for
// hosts matching *.dkr.ecr.*.amazonaws.com.
func DefaultKeychain() authn.Keychain {
	return authn.NewMultiKeychain(authn.DefaultKeychain, &ecrKeychain{})
}

// hub holds what a Resolver or Client shares: options, counters, the base
// transport stack and one authenticated transport per key (a host, or a
// host and scope).
type hub struct {
	o     options
	c     *counters
	base  http.RoundTripper
	mu    sync.Mutex
	cache map[string]*hostEntry
	// challenges remembers each registry's auth challenge (WithChallengeCache).
	challenges *challengeCache
}

type hostEntry struct {
	once sync.Once
	rt   http.RoundTripper
	err  error
}

func newHub(opts []Option) *hub {
	o := makeOptions(opts)
	c := &counters{}
	var rt http.RoundTripper = &countingTransport{next: o.transport, c: c}
	rt = &redactTransport{next: rt}
	rt = &timeoutTransport{next: rt, timeout: o.timeout}
	rt = &retryTransport{next: rt, backoff: o.backoff, maxAttempts: o.maxAttempts, maxWait: o.maxWait, notify: o.notify}
	rt = transport.NewUserAgent(rt, o.userAgent)
	rt = &plainHTTPGuard{next: rt, allow: o.plainHTTP}
	return &hub{o: o, c: c, base: rt, cache: map[string]*hostEntry{}, challenges: newChallengeCache(o.challengePath)}
}

// Transport returns the HTTP transport stack a Resolver or Client is built
// on, without registry authentication: bounded retries with backoff and
// Retry-After, a timeout per attempt, GET bodies read ahead so that resets,
// cut bodies and timeouts are retried, credentials kept out of error bodies.
// Other HTTP clients of pin (an https:// release store) use it, with the
// same options (WithTimeout, WithRetry, WithMaxRetryWait, WithTransport,
// WithUserAgent).
func Transport(opts ...Option) http.RoundTripper {
	return newHub(opts).base
}

// transport returns the authenticated transport cached under key, pinging
// reg and fetching a token for scopes the first time. A failed setup is not
// cached, so a later call tries again.
func (h *hub) transport(ctx context.Context, key string, reg name.Registry, scopes []string) (http.RoundTripper, error) {
	h.mu.Lock()
	e, ok := h.cache[key]
	if !ok {
		e = &hostEntry{}
		h.cache[key] = e
	}
	h.mu.Unlock()
	e.once.Do(func() {
		auth, err := authn.Resolve(ctx, h.o.keychain, reg)
		if err != nil {
			e.err = fmt.Errorf("credentials for %s: %w", reg.RegistryStr(), err)
			return
		}
		rt, err := h.authenticate(ctx, reg, auth, scopes)
		if err != nil {
			err = classify(ctx, reg.RegistryStr(), err)
			if !errors.Is(err, ErrUnreachable) {
				err = fmt.Errorf("authenticate to %s: %w", reg.RegistryStr(), err)
			}
			e.err = err
			return
		}
		e.rt = rt
	})
	if e.err != nil {
		h.mu.Lock()
		if h.cache[key] == e {
			delete(h.cache, key)
		}
		h.mu.Unlock()
	}
	return e.rt, e.err
}

// authenticate returns a transport for reg with a token for scopes. With a
// remembered challenge it asks the token endpoint straight away (token,
// then requests: two round trips); otherwise, or when that fails, it pings
// /v2/ first, as transport.NewWithContext does, and remembers the answer.
func (h *hub) authenticate(ctx context.Context, reg name.Registry, auth authn.Authenticator, scopes []string) (http.RoundTripper, error) {
	if ch, ok := h.challenges.get(reg); ok {
		inner := &forgetOn401{next: h.base, reg: reg, cache: h.challenges}
		if rt, err := h.fromChallenge(ctx, reg, auth, inner, scopes, ch); err == nil || ctx.Err() != nil {
			return rt, err
		}
		// The challenge is stale (the token endpoint moved or refused us):
		// ping as if nothing were remembered.
	}
	ch, err := transport.Ping(ctx, reg, h.base)
	if err != nil {
		return nil, err
	}
	h.challenges.put(reg, ch)
	if ch.Insecure != (reg.Scheme() == "http") {
		// The registry answered on the other scheme than its name implies:
		// only NewWithContext's scheme rewriting (unexported) handles that.
		return transport.NewWithContext(ctx, reg, auth, h.base, scopes)
	}
	return h.fromChallenge(ctx, reg, auth, h.base, scopes, ch)
}

// fromChallenge is what transport.NewWithContext does after its ping: a
// bearer challenge gets a token for scopes (later 401s refresh it); any
// other sends auth's credentials, if any, with every request.
func (h *hub) fromChallenge(ctx context.Context, reg name.Registry, auth authn.Authenticator, t http.RoundTripper, scopes []string, ch *transport.Challenge) (http.RoundTripper, error) {
	tok := &transport.Token{}
	if strings.EqualFold(ch.Scheme, "bearer") {
		cfg, err := authn.Authorization(ctx, auth)
		if err != nil {
			return nil, err
		}
		if cfg.RegistryToken != "" {
			// As NewWithContext: a registry token is used as it is.
			tok.Token = cfg.RegistryToken
			return transport.FromToken(reg, auth, t, ch, tok)
		}
		if tok, err = transport.Exchange(ctx, reg, auth, t, scopes, ch); err != nil {
			return nil, err
		}
		if tok.Token == "" {
			tok.Token = tok.AccessToken // some token servers only set access_token
		}
	}
	return transport.FromToken(reg, auth, t, ch, tok)
}

func remoteOptions(ctx context.Context, rt http.RoundTripper) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(rt)}
}
