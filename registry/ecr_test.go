package registry

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// fakeECR answers ECR's GetAuthorizationToken (AWS JSON 1.1) with token,
// after checking the request is signed and names account.
func fakeECR(t *testing.T, account, token string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("X-Amz-Target"); got != "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken" {
			t.Errorf("X-Amz-Target %q", got)
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDBENCH/") {
			t.Errorf("request not signed with the environment's key: %q", r.Header.Get("Authorization"))
		}
		b, _ := io.ReadAll(r.Body)
		var in struct{ RegistryIds []string }
		if err := json.Unmarshal(b, &in); err != nil || len(in.RegistryIds) != 1 || in.RegistryIds[0] != account {
			t.Errorf("request body %s, want registryIds [%s]", b, account)
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if token == "" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"AccessDeniedException","message":"not allowed"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"authorizationData": []map[string]any{{
			"authorizationToken": token, "expiresAt": 1.9e9, "proxyEndpoint": "https://" + account + ".dkr.ecr.eu-west-2.amazonaws.com",
		}}})
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": srv.URL, "AWS_ACCESS_KEY_ID": "AKIDBENCH", "AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "", "AWS_REGION": "", "AWS_ENDPOINT_URL_ECR": "",
	} {
		t.Setenv(k, v)
	}
	return srv
}

// TestECRHelper checks that a private ECR host gets the Basic credentials
// ECR's GetAuthorizationToken returns for its account, through the default
// keychain, and that ECR's refusal is an error naming the host.
func TestECRHelper(t *testing.T) {
	const account = "123456789012"
	host := account + ".dkr.ecr.eu-west-2.amazonaws.com"
	reg, err := name.NewRegistry(host)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir())

	fakeECR(t, account, "QVdTOnNlY3JldC1wYXNzd29yZA==") // AWS:secret-password
	auth, err := DefaultKeychain().Resolve(reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := authn.Authorization(t.Context(), auth)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Username != "AWS" || cfg.Password != "secret-password" {
		t.Errorf("credentials %q/%q, want AWS/secret-password", cfg.Username, cfg.Password)
	}

	fakeECR(t, account, "")
	if _, _, err := (ecrHelper{}).Get(host); err == nil || !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("refused token: error %v, want one naming %s and ECR's message", err, host)
	}
	if _, _, err := (ecrHelper{}).Get("public.ecr.aws"); err == nil {
		t.Error("a public registry was sent to ECR")
	}
}
