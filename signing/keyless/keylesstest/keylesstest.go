//go:build !nokeyless

// Package keylesstest runs a Sigstore in process for tests: a Fulcio that
// speaks the v2 signingCert API and issues certificates shaped as Fulcio issues
// them to GitHub Actions and Buildkite jobs (URI subject, Fulcio extensions
// OID 1.3.6.1.4.1.57264.1.x), and a Rekor that speaks the v1 entries API,
// backed by sigstore-go's VirtualSigstore log (its signed entry timestamps and
// checkpoints). Both listen on loopback. Identity tokens are unsigned JWTs:
// this Fulcio trusts their claims, as the real one does after checking the
// issuer's signature.
package keylesstest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // the entry kind pin's bundles use
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/wellcomecollection/pin/signing/keyless"
)

// Claims are the claims of an identity token.
type Claims map[string]any

// GitHubActions returns the claims of a GitHub Actions job token for the
// workflow file (".github/workflows/release.yml") of repo ("org/name") at
// ref ("refs/heads/main"), triggered by event ("push").
func GitHubActions(repo, workflow, ref, event string) Claims {
	return Claims{
		"iss":                 keyless.GitHubActionsIssuer,
		"aud":                 keyless.Audience,
		"sub":                 "repo:" + repo + ":ref:" + ref,
		"repository":          repo,
		"repository_owner":    strings.Split(repo, "/")[0],
		"ref":                 ref,
		"sha":                 "0123456789abcdef0123456789abcdef01234567",
		"event_name":          event,
		"job_workflow_ref":    repo + "/" + workflow + "@" + ref,
		"workflow_ref":        repo + "/" + workflow + "@" + ref,
		"runner_environment":  "github-hosted",
		"run_id":              "42",
		"run_attempt":         "1",
		"repository_id":       "1234",
		"repository_owner_id": "5678",
	}
}

// Buildkite returns the claims of a Buildkite job token for org's pipeline,
// started by source ("webhook", "ui", "api", "schedule", "trigger_job").
func Buildkite(org, pipeline, branch, source string) Claims {
	return Claims{
		"iss":                keyless.BuildkiteIssuer,
		"aud":                keyless.Audience,
		"sub":                "organization:" + org + ":pipeline:" + pipeline + ":ref:refs/heads/" + branch + ":commit:0123:step:release",
		"organization_slug":  org,
		"pipeline_slug":      pipeline,
		"build_number":       7,
		"build_branch":       branch,
		"build_commit":       "0123456789abcdef0123456789abcdef01234567",
		"build_source":       source,
		"job_id":             "0190-job",
		"runner_environment": "buildkite-hosted",
	}
}

// Token encodes claims as an unsigned JWT.
func Token(c Claims) string {
	head := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	body, _ := json.Marshal(c)
	return head + "." + base64.RawURLEncoding.EncodeToString(body) + ".c2ln"
}

// Sigstore is a running in-process Sigstore.
type Sigstore struct {
	Fulcio *httptest.Server
	Rekor  *httptest.Server

	vs        *ca.VirtualSigstore
	rootCert  *x509.Certificate
	interCert *x509.Certificate
	interKey  *ecdsa.PrivateKey
	trusted   *root.TrustedRoot

	mu sync.Mutex
	// IntegratedTime is the Rekor's clock; nil means now.
	IntegratedTime func() time.Time
	// FulcioRequests and RekorRequests count the API calls served.
	FulcioRequests, RekorRequests int
}

// New starts a Sigstore; it stops when the test ends.
func New(t testing.TB) *Sigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatalf("virtual sigstore: %v", err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatalf("fulcio root: %v", err)
	}
	interCert, interKey, err := ca.GenerateFulcioIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatalf("fulcio intermediate: %v", err)
	}
	s := &Sigstore{vs: vs, rootCert: rootCert, interCert: interCert, interKey: interKey}
	fulcioCA := &root.FulcioCertificateAuthority{
		Root:                rootCert,
		Intermediates:       []*x509.Certificate{interCert},
		ValidityPeriodStart: time.Now().Add(-5 * time.Hour),
		ValidityPeriodEnd:   time.Now().Add(5 * time.Hour),
		URI:                 "https://fulcio.localhost",
	}
	s.trusted, err = root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{fulcioCA}, rawLogIDs(t, vs.CTLogs()), vs.TimestampingAuthorities(), rawLogIDs(t, vs.RekorLogs()))
	if err != nil {
		t.Fatalf("trusted root: %v", err)
	}
	s.Fulcio = httptest.NewServer(http.HandlerFunc(s.serveFulcio))
	s.Rekor = httptest.NewServer(http.HandlerFunc(s.serveRekor))
	t.Cleanup(s.Fulcio.Close)
	t.Cleanup(s.Rekor.Close)
	return s
}

// rawLogIDs gives each log its id as bytes: VirtualSigstore keeps the hex
// text, which survives in memory but not a trusted_root.json round trip.
func rawLogIDs(t testing.TB, logs map[string]*root.TransparencyLog) map[string]*root.TransparencyLog {
	t.Helper()
	for id, l := range logs {
		raw, err := hex.DecodeString(id)
		if err != nil {
			t.Fatalf("log id %q: %v", id, err)
		}
		l.ID = raw
	}
	return logs
}

// TrustedRoot is the trusted material of this Sigstore: its Fulcio CA, the
// virtual Rekor log, CT log and timestamp authority.
func (s *Sigstore) TrustedRoot() *root.TrustedRoot { return s.trusted }

// WriteTrustedRoot writes the trusted root as trusted_root.json into dir and returns its path.
func (s *Sigstore) WriteTrustedRoot(t testing.TB, dir string) string {
	t.Helper()
	b, err := s.trusted.MarshalJSON()
	if err != nil {
		t.Fatalf("marshal trusted root: %v", err)
	}
	p := filepath.Join(dir, "trusted_root.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// SignerOptions points a keyless signer at this Sigstore with a token for claims.
func (s *Sigstore) SignerOptions(c Claims) keyless.SignerOptions {
	tok := Token(c)
	return keyless.SignerOptions{
		FulcioURL: s.Fulcio.URL,
		RekorURL:  s.Rekor.URL,
		Token:     keyless.TokenFunc{From: "test", Func: func(context.Context) (string, error) { return tok, nil }},
	}
}

// Fulcio's certificate extensions (docs/oid-info.md in sigstore/fulcio).
var (
	oidIssuerV1         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidGitHubTrigger    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 2}
	oidGitHubSHA        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 3}
	oidGitHubRepository = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 5}
	oidGitHubRef        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 6}
	oidIssuer           = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
	oidBuildSignerURI   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 9}
	oidRunnerEnv        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 11}
	oidSourceRepoURI    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 12}
	oidSourceRepoDigest = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 13}
	oidSourceRepoRef    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 14}
	oidBuildConfigURI   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 18}
	oidBuildTrigger     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 20}
	oidRunInvocationURI = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 21}
)

// identityOf maps a token's claims to the certificate's subject and
// extensions as Fulcio's config/identity/config.yaml does for each CI.
func identityOf(c Claims) (*url.URL, []pkix.Extension, error) {
	str := func(k string) string { v, _ := c[k].(string); return v }
	iss := str("iss")
	raw := func(oid asn1.ObjectIdentifier, v string) pkix.Extension {
		return pkix.Extension{Id: oid, Value: []byte(v)}
	}
	der := func(oid asn1.ObjectIdentifier, v string) pkix.Extension {
		b, _ := asn1.MarshalWithParams(v, "utf8")
		return pkix.Extension{Id: oid, Value: b}
	}
	switch iss {
	case keyless.GitHubActionsIssuer:
		subject, err := url.Parse("https://github.com/" + str("job_workflow_ref"))
		if err != nil {
			return nil, nil, err
		}
		return subject, []pkix.Extension{
			raw(oidIssuerV1, iss), der(oidIssuer, iss),
			raw(oidGitHubTrigger, str("event_name")), raw(oidGitHubSHA, str("sha")),
			raw(oidGitHubRepository, str("repository")), raw(oidGitHubRef, str("ref")),
			der(oidBuildSignerURI, "https://github.com/"+str("job_workflow_ref")),
			der(oidRunnerEnv, str("runner_environment")),
			der(oidSourceRepoURI, "https://github.com/"+str("repository")),
			der(oidSourceRepoDigest, str("sha")), der(oidSourceRepoRef, str("ref")),
			der(oidBuildConfigURI, "https://github.com/"+str("workflow_ref")),
			der(oidBuildTrigger, str("event_name")),
			der(oidRunInvocationURI, "https://github.com/"+str("repository")+"/actions/runs/"+str("run_id")+"/attempts/"+str("run_attempt")),
		}, nil
	case keyless.BuildkiteIssuer:
		base := "https://buildkite.com/" + str("organization_slug") + "/" + str("pipeline_slug")
		subject, err := url.Parse(base)
		if err != nil {
			return nil, nil, err
		}
		return subject, []pkix.Extension{
			raw(oidIssuerV1, iss), der(oidIssuer, iss),
			der(oidRunnerEnv, str("runner_environment")),
			der(oidSourceRepoDigest, str("build_commit")),
			der(oidBuildTrigger, str("build_source")),
			der(oidRunInvocationURI, fmt.Sprintf("%s/builds/%v#%s", base, c["build_number"], str("job_id"))),
		}, nil
	}
	return nil, nil, fmt.Errorf("issuer %q is not GitHub Actions or Buildkite", iss)
}

func (s *Sigstore) serveFulcio(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.FulcioRequests++
	s.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	claims, err := parseToken(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var req struct {
		PublicKeyRequest struct {
			PublicKey struct {
				Content string `json:"content"`
			} `json:"publicKey"`
			ProofOfPossession string `json:"proofOfPossession"`
		} `json:"publicKeyRequest"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey([]byte(req.PublicKeyRequest.PublicKey.Content))
	if err != nil {
		http.Error(w, "public key: "+err.Error(), http.StatusBadRequest)
		return
	}
	// Proof of possession: the key signed the token's subject, as Fulcio checks.
	sig, _ := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	sub, _ := claims["sub"].(string)
	sum := sha256.Sum256([]byte(sub))
	if k, ok := pub.(*ecdsa.PublicKey); !ok || !ecdsa.VerifyASN1(k, sum[:], sig) {
		http.Error(w, "proof of possession failed", http.StatusBadRequest)
		return
	}
	subject, exts, err := identityOf(claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	now := time.Now().Add(-10 * time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		URIs:            []*url.URL{subject},
		NotBefore:       now,
		NotAfter:        now.Add(10 * time.Minute),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: exts,
	}
	leaf, err := x509.CreateCertificate(rand.Reader, tmpl, s.interCert, pub, s.interKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	pemOf := func(der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{
			"certificates": []string{pemOf(leaf), pemOf(s.interCert.Raw), pemOf(s.rootCert.Raw)},
		}},
	})
}

func parseToken(tok string) (Claims, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("identity token is not a JWT")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("identity token: %w", err)
	}
	var c Claims
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("identity token: %w", err)
	}
	if c["aud"] != keyless.Audience {
		return nil, fmt.Errorf("identity token audience %v is not %s", c["aud"], keyless.Audience)
	}
	return c, nil
}

func (s *Sigstore) serveRekor(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.RekorRequests++
	clock := s.IntegratedTime
	s.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/log/entries" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	pe, err := models.UnmarshalProposedEntry(io.LimitReader(r.Body, 1<<20), runtime.JSONConsumer())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	entry, err := types.CreateVersionedEntry(pe)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body, err := types.CanonicalizeEntry(r.Context(), entry)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	logID, err := s.vs.RekorLogID()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	integrated := time.Now()
	if clock != nil {
		integrated = clock()
	}
	// Every entry is the single leaf of its own tree, as VirtualSigstore's
	// inclusion proofs are: index 0, tree size 1.
	var index int64
	b64 := base64.StdEncoding.EncodeToString(body)
	set, err := s.vs.RekorSignPayload(tlog.RekorPayload{Body: b64, IntegratedTime: integrated.Unix(), LogIndex: index, LogID: logID})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	proof, err := s.vs.GetInclusionProof(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	leaf := sha256.Sum256(append([]byte{0}, body...))
	uuid := hex.EncodeToString(leaf[:])
	anon := models.LogEntryAnon{
		Body:           b64,
		IntegratedTime: &[]int64{integrated.Unix()}[0],
		LogID:          &logID,
		LogIndex:       &index,
		Verification:   &models.LogEntryAnonVerification{SignedEntryTimestamp: strfmt.Base64(set), InclusionProof: proof},
	}
	out, err := json.Marshal(map[string]models.LogEntryAnon{uuid: anon})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", uuid)
	w.Header().Set("Location", "/api/v1/log/entries/"+uuid)
	w.WriteHeader(http.StatusCreated)
	_, _ = io.Copy(w, bytes.NewReader(out))
}
