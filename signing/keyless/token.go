package keyless

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
)

// Audience is the audience Fulcio requires of identity tokens.
const Audience = "sigstore"

// maxTokenSize caps an identity token read from a file, a command or a response.
const maxTokenSize = 64 << 10

// TokenSource returns an OIDC identity token for Fulcio.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	// String says where the token comes from, for messages.
	String() string
}

// TokenFunc adapts a function (and a description) to a TokenSource.
type TokenFunc struct {
	From string
	Func func(ctx context.Context) (string, error)
}

func (t TokenFunc) Token(ctx context.Context) (string, error) { return t.Func(ctx) }
func (t TokenFunc) String() string                            { return t.From }

// TokenFile reads the token from a file (cosign's --identity-token takes the same).
func TokenFile(path string) TokenSource {
	return TokenFunc{From: path, Func: func(context.Context) (string, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read identity token: %w", err)
		}
		return nonEmpty(path, b)
	}}
}

// DetectToken finds the CI job's identity token in the environment, in this
// order: SIGSTORE_ID_TOKEN (a token already fetched, as cosign reads it);
// GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN, set when the job
// has `permissions: id-token: write`); Buildkite (BUILDKITE_AGENT_ACCESS_TOKEN:
// `buildkite-agent oidc request-token --audience sigstore`). lookupEnv nil
// means os.LookupEnv; client nil means http.DefaultClient.
func DetectToken(lookupEnv func(string) (string, bool), client *http.Client) (TokenSource, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	if client == nil {
		client = http.DefaultClient
	}
	if t, ok := lookupEnv("SIGSTORE_ID_TOKEN"); ok && strings.TrimSpace(t) != "" {
		return TokenFunc{From: "SIGSTORE_ID_TOKEN", Func: func(context.Context) (string, error) { return strings.TrimSpace(t), nil }}, nil
	}
	reqURL, okURL := lookupEnv("ACTIONS_ID_TOKEN_REQUEST_URL")
	reqTok, okTok := lookupEnv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if okURL && okTok && reqURL != "" && reqTok != "" {
		return TokenFunc{From: "GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL)", Func: func(ctx context.Context) (string, error) {
			return gitHubActionsToken(ctx, client, reqURL, reqTok)
		}}, nil
	}
	if _, ok := lookupEnv("BUILDKITE_AGENT_ACCESS_TOKEN"); ok {
		return TokenFunc{From: "buildkite-agent oidc request-token", Func: buildkiteToken}, nil
	}
	return nil, ErrNoIdentityToken
}

// gitHubActionsToken asks the Actions runtime for a token with Fulcio's audience.
func gitHubActionsToken(ctx context.Context, client *http.Client, reqURL, reqTok string) (string, error) {
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", fmt.Errorf("ACTIONS_ID_TOKEN_REQUEST_URL: %w", err)
	}
	q := u.Query()
	q.Set("audience", Audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+reqTok)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("GitHub Actions identity token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenSize))
	if err != nil {
		return "", fmt.Errorf("GitHub Actions identity token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GitHub Actions identity token: %s from %s", resp.Status, u.Host)
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", fmt.Errorf("GitHub Actions identity token: response from %s has no value", u.Host)
	}
	return v.Value, nil
}

func buildkiteToken(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "buildkite-agent", "oidc", "request-token", "--audience", Audience)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("buildkite-agent oidc request-token: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nonEmpty("buildkite-agent oidc request-token", out)
}

func nonEmpty(source string, b []byte) (string, error) {
	if len(b) > maxTokenSize {
		return "", fmt.Errorf("identity token from %s is over %d bytes", source, maxTokenSize)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("identity token from %s is empty", source)
	}
	return t, nil
}

// ErrNoIdentityToken is keyless signing where no identity token can be had:
// none in SIGSTORE_ID_TOKEN, and not in a CI that issues one.
var ErrNoIdentityToken = errors.New("no identity token: set SIGSTORE_ID_TOKEN, run in GitHub Actions with `permissions: id-token: write`, or in a Buildkite job, or give a token file")
