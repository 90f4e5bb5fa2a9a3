// Package loopback decides whether a host is this machine, the one place
// where pin speaks plain HTTP (test registries, a demo store on 127.0.0.1).
package loopback

import (
	"net"
	"strings"
)

// Host reports whether host (a name or a literal address, without a port)
// is exactly "localhost" or a literal loopback address (127.0.0.0/8, ::1).
// A name that merely starts with "127." (127.0.0.1.attacker.example) is a
// remote host, and so is anything a resolver might map to loopback.
func Host(host string) bool {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// HostPort is Host for "host", "host:port" or "[v6]:port".
func HostPort(hostport string) bool {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return Host(h)
	}
	return Host(hostport)
}
