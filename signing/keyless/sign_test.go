//go:build !nokeyless

package keyless_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/signing/keyless"
	"github.com/wellcomecollection/pin/signing/keyless/keylesstest"
)

// A release and its channel index are signed under one certificate: Fulcio is
// asked once, Rekor once per document, and the bundles verify.
func TestSignerReusesCertificate(t *testing.T) {
	ss := keylesstest.New(t)
	o := ss.SignerOptions(keylesstest.GitHubActions(repo, workflow, main, "push"))
	o.Trusted = ss.TrustedRoot()
	s, err := keyless.NewSigner(o)
	if err != nil {
		t.Fatal(err)
	}
	v, err := keyless.NewVerifier(ss.TrustedRoot(), []keyless.Identity{releaseWorkflow})
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{`{"kind":"Release"}`, `{"kind":"Channel"}`} {
		b, err := s.SignBundle(context.Background(), []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.VerifyBundle(context.Background(), []byte(doc), b); err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
	}
	if ss.FulcioRequests != 1 || ss.RekorRequests != 2 {
		t.Fatalf("Fulcio asked %d times, Rekor %d times; want 1 and 2", ss.FulcioRequests, ss.RekorRequests)
	}
}

func TestSignerServiceFailures(t *testing.T) {
	ss := keylesstest.New(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer down.Close()
	tests := []struct {
		name   string
		edit   func(*keyless.SignerOptions)
		claims keylesstest.Claims
		want   string
	}{
		{name: "Fulcio refuses", edit: func(o *keyless.SignerOptions) { o.FulcioURL = down.URL }, want: "certificate from Fulcio " + down.URL},
		{name: "Rekor refuses", edit: func(o *keyless.SignerOptions) { o.RekorURL = down.URL }, want: "Rekor " + down.URL},
		{name: "token for another audience", claims: keylesstest.Claims{"iss": keyless.GitHubActionsIssuer, "aud": "other", "sub": "x"}, want: "audience"},
		{name: "bundle the trusted root refuses", edit: func(o *keyless.SignerOptions) { o.Trusted = keylesstest.New(t).TrustedRoot() }, want: "keyless signing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.claims
			if c == nil {
				c = keylesstest.GitHubActions(repo, workflow, main, "push")
			}
			o := ss.SignerOptions(c)
			if tt.edit != nil {
				tt.edit(&o)
			}
			s, err := keyless.NewSigner(o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.SignBundle(context.Background(), []byte("doc"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDetectToken(t *testing.T) {
	actions := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer runtime-token" || r.URL.Query().Get("audience") != keyless.Audience {
			http.Error(w, "bad request", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"value":"gh.jwt.sig"}`))
	}))
	defer actions.Close()
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr string
	}{
		{name: "SIGSTORE_ID_TOKEN first", env: map[string]string{"SIGSTORE_ID_TOKEN": " a.b.c\n", "ACTIONS_ID_TOKEN_REQUEST_URL": actions.URL}, want: "a.b.c"},
		{name: "GitHub Actions", env: map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": actions.URL + "/token?api-version=2.0", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runtime-token"}, want: "gh.jwt.sig"},
		{name: "GitHub Actions refuses", env: map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": actions.URL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "stale"}, wantErr: "401"},
		{name: "nothing", env: map[string]string{}, wantErr: "no identity token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := keyless.DetectToken(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }, actions.Client())
			var tok string
			if err == nil {
				tok, err = src.Token(context.Background())
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || tok != tt.want {
				t.Fatalf("token %q, %v; want %q", tok, err, tt.want)
			}
		})
	}
}

func TestIdentityValidate(t *testing.T) {
	tests := []struct {
		id   keyless.Identity
		want string
	}{
		{keyless.Identity{Subject: "s"}, "needs an issuer"},
		{keyless.Identity{Issuer: "i"}, "needs a subject"},
		{keyless.Identity{Issuer: "i", Subject: "s", SubjectRegexp: "^s$"}, "not both"},
		{keyless.Identity{Issuer: "i", SubjectRegexp: "wellcomecollection/storage-service"}, "must be anchored"},
		{keyless.Identity{Issuer: "i", SubjectRegexp: "^(a$"}, "subjectRegexp"},
		{keyless.Identity{Issuer: "i", SubjectRegexp: "^a$"}, ""},
	}
	for _, tt := range tests {
		err := tt.id.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: error %v, want %q", tt.id, err, tt.want)
		}
	}
}
