package registry

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/loopback"
)

// PlainHTTPError is a request pin refused to send without TLS.
//
// go-containerregistry speaks plain HTTP not only to loopback registries but
// to any host whose name is an RFC 1918 address (10.x, 172.16-31.x,
// 192.168.x), pinging https and http at once and taking whichever answers
// first; and it follows a token realm or a blob redirect to an http:// URL on
// any host. On such a path anyone between pin and the registry reads the
// credentials pin sends and chooses what it receives. Digests and signatures
// still hold, but credentials do not, so pin allows plain HTTP only to
// loopback and to the hosts named with WithPlainHTTP.
type PlainHTTPError struct {
	URL  string // the refused request's URL, without query
	Host string // its host:port
}

// ExitCode makes a refused plain-HTTP request a configuration error (exit
// 2): the registry needs TLS, or the user must name it as allowed.
func (e *PlainHTTPError) ExitCode() int { return exitcode.Usage }

func (e *PlainHTTPError) Error() string {
	return fmt.Sprintf("refusing plain HTTP to %s (%s): only loopback registries are reached without TLS", e.Host, e.URL)
}

// WithPlainHTTP names registry hosts ("host" or "host:port", as written in
// image references) that may be reached over plain HTTP although they are
// not loopback: an internal registry without TLS, by the user's explicit
// choice. Loopback hosts never need it.
func WithPlainHTTP(hosts ...string) Option {
	return func(o *options) {
		for _, h := range hosts {
			if h = strings.TrimSpace(h); h != "" {
				o.plainHTTP = append(o.plainHTTP, strings.ToLower(h))
			}
		}
	}
}

// plainHTTPGuard refuses any http:// request (a ping, a token realm, a
// redirect) to a host that is neither loopback nor allowed by WithPlainHTTP.
// It sits at the top of the transport stack, so no retry, dial or
// credential header ever happens for such a request.
type plainHTTPGuard struct {
	next  http.RoundTripper
	allow []string
}

func (g *plainHTTPGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.allowed(req.URL.Host) {
		if req.Body != nil {
			req.Body.Close()
		}
		u := *req.URL
		u.RawQuery, u.User = "", nil
		return nil, &PlainHTTPError{URL: u.String(), Host: req.URL.Host}
	}
	return g.next.RoundTrip(req)
}

func (g *plainHTTPGuard) allowed(hostport string) bool {
	if loopback.HostPort(hostport) {
		return true
	}
	hostport = strings.ToLower(hostport)
	for _, a := range g.allow {
		if a == hostport || strings.TrimSuffix(hostport, ":80") == a {
			return true
		}
	}
	return false
}
