package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRetryProgress: retries are shown on stderr when it is a terminal, and
// not when it is piped or --quiet is given; stdout is the same either way.
func TestRetryProgress(t *testing.T) {
	t.Parallel()
	host := memRegistry(t)
	seed(t, host, []string{"bags_api"})
	target, _ := url.Parse("http://" + host)
	var hits atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") && hits.Add(1)%2 == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/y1p3h6z3/bags_api:latest"
	e := env{"PIN_REGISTRY_BACKOFF": "1ms", "PIN_NO_CHALLENGE_CACHE": "1"}
	tests := []struct {
		name  string
		tty   bool
		args  []string
		shown bool
	}{
		{"terminal", true, nil, true},
		{"terminal --quiet", true, []string{"--quiet"}, false},
		{"pipe", false, nil, false},
	}
	var outs []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			a := &app{In: strings.NewReader(""), Out: &out, Err: &errb, ErrTTY: tt.tty, Now: time.Now,
				LookupEnv: func(k string) (string, bool) { v, ok := e[k]; return v, ok }}
			code := run(context.Background(), a, append([]string{"resolve", ref}, tt.args...))
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			got := strings.Contains(errb.String(), "503 Service Unavailable; retrying in 1ms (attempt 2 of 4)")
			if got != tt.shown {
				t.Fatalf("retry line shown = %v, want %v; stderr %q", got, tt.shown, errb.String())
			}
			outs = append(outs, out.String())
		})
	}
	if len(outs) == 3 && (outs[0] != outs[1] || outs[1] != outs[2]) {
		t.Fatalf("stdout differs with progress: %q", outs)
	}
}
