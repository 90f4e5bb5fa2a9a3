package testenv

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Fault answers one request instead of (or around) the registry behind a
// FaultProxy; next serves it from that registry.
type Fault func(w http.ResponseWriter, r *http.Request, next http.Handler)

// FaultProxy is an HTTP proxy on 127.0.0.1 in front of a registry that
// injects faults into the requests that match its rules: error statuses,
// Retry-After, reset connections, truncated, slow or endless bodies, lying
// headers, substituted manifests. Requests no rule takes are passed through.
type FaultProxy struct {
	// Host is the proxy's host:port; use it in references instead of the registry's.
	Host string

	mu    sync.Mutex
	rules []*faultRule
	// Requests counts every request the proxy received.
	Requests atomic.Int64
	// Injected counts the faults injected.
	Injected atomic.Int64
}

type faultRule struct {
	match func(*http.Request) bool
	left  int // faults still to inject; < 0 is for ever
	fault Fault
}

// NewFaultProxy starts a FaultProxy in front of the registry at target
// (host:port, plain HTTP), stopped when the test ends.
func NewFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	p := &FaultProxy{}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: target})
	rp.ErrorLog = log.New(io.Discard, "", 0) // clients hanging up on endless or slow bodies are the point
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Requests.Add(1)
		if f := p.take(r); f != nil {
			p.Injected.Add(1)
			f(w, r, rp)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.Host = strings.TrimPrefix(srv.URL, "http://")
	return p
}

// Inject adds a rule: the first times requests matching match get fault
// (times < 0: every one). Rules are tried in the order they were added.
func (p *FaultProxy) Inject(match func(*http.Request) bool, times int, fault Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, &faultRule{match: match, left: times, fault: fault})
}

// Clear removes every rule.
func (p *FaultProxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

func (p *FaultProxy) take(r *http.Request) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rule := range p.rules {
		if rule.left != 0 && rule.match(r) {
			if rule.left > 0 {
				rule.left--
			}
			return rule.fault
		}
	}
	return nil
}

// Manifests matches manifest requests with the given method ("" for any)
// whose path contains substr ("" for any).
func Manifests(method, substr string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return strings.Contains(r.URL.Path, "/manifests/") && (method == "" || r.Method == method) && strings.Contains(r.URL.Path, substr)
	}
}

// Paths matches requests with the given method ("" for any) whose path
// contains substr.
func Paths(method, substr string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return (method == "" || r.Method == method) && strings.Contains(r.URL.Path, substr)
	}
}

// Blobs matches blob GETs.
func Blobs() func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
	}
}

// Status answers with code and the given headers (e.g. Retry-After).
func Status(code int, header ...string) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"errors":[{"code":"UNAVAILABLE","message":"injected %d"}]}`, code)
	}
}

// TooManyRequestsUntil answers 429 with a Retry-After HTTP date d after the
// moment of the request.
func TooManyRequestsUntil(d time.Duration) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		Status(http.StatusTooManyRequests, "Retry-After", time.Now().Add(d).UTC().Format(http.TimeFormat))(w, r, next)
	}
}

// upstream records what the registry answers to r.
func upstream(r *http.Request, next http.Handler) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	return rec
}

// hijacked writes the registry's status line and headers (with the full
// Content-Length) and the first half of its body on the raw connection, then
// closes it: with reset, abortively (the client sees ECONNRESET), otherwise
// cleanly (the client sees a body cut short).
func hijacked(reset bool) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := upstream(r, next)
		body := rec.Body.Bytes()
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer conn.Close()
		writeHead(buf, rec, len(body))
		if r.Method != http.MethodHead {
			buf.Write(body[:len(body)/2])
		}
		buf.Flush()
		if tc, ok := conn.(*net.TCPConn); ok && reset {
			tc.SetLinger(0)
		}
	}
}

func writeHead(buf *bufio.ReadWriter, rec *httptest.ResponseRecorder, n int) {
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	h := rec.Header().Clone()
	h.Set("Content-Length", strconv.Itoa(n))
	h.Set("Connection", "close")
	h.Write(buf)
	buf.WriteString("\r\n")
}

// ResetMidBody sends half the body, then resets the connection.
func ResetMidBody() Fault { return hijacked(true) }

// TruncateBody sends half the body under a Content-Length for all of it, then closes.
func TruncateBody() Fault { return hijacked(false) }

// SlowBody sends the headers and one byte, then waits d (or until the client
// gives up) before the rest.
func SlowBody(d time.Duration) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := upstream(r, next)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		if r.Method == http.MethodHead || len(body) == 0 {
			return
		}
		w.Write(body[:1])
		http.NewResponseController(w).Flush()
		select {
		case <-time.After(d):
			w.Write(body[1:])
		case <-r.Context().Done():
		}
	}
}

// Rewrite serves the registry's answer with its headers and body passed
// through edit first (the Content-Length follows the new body).
func Rewrite(edit func(h http.Header, body []byte) []byte) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := upstream(r, next)
		h := rec.Header().Clone()
		body := edit(h, rec.Body.Bytes())
		for k, v := range h {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		if r.Method != http.MethodHead {
			w.Write(body)
		}
	}
}

// DigestHeader replaces the Docker-Content-Digest header (the body is the registry's).
func DigestHeader(digest string) Fault {
	return Rewrite(func(h http.Header, body []byte) []byte {
		h.Set("Docker-Content-Digest", digest)
		return body
	})
}

// Endless answers 200 with the registry's headers, no Content-Length and a
// body that never ends; Sent reports how many body bytes went out.
func Endless(sent *atomic.Int64) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := upstream(r, next)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat("{", 32<<10))
		for r.Context().Err() == nil {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}
}

// ServeInstead answers a manifest request with what the registry serves for
// ref (another tag or digest of the same repository), headers included: a
// manifest other than the one asked for, from a registry that lies
// consistently.
func ServeInstead(ref string) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		r2 := r.Clone(r.Context())
		i := strings.LastIndex(r.URL.Path, "/manifests/")
		r2.URL.Path = r.URL.Path[:i] + "/manifests/" + ref
		r2.URL.RawPath = ""
		rec := upstream(r2, next)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		if r.Method != http.MethodHead {
			w.Write(rec.Body.Bytes())
		}
	}
}
