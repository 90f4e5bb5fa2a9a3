//go:build !nokeyless

package keyless_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/signing/keyless"
	"github.com/wellcomecollection/pin/signing/keyless/keylesstest"
)

// Stock cosign accepts a bundle pin made, against the in-process Sigstore's
// trusted root exported as trusted_root.json, for the right identity only.
// --insecure-ignore-sct: the in-process Fulcio embeds no certificate
// transparency SCT (pin does not require one either; docs/security.md).
func TestCosignVerifiesKeylessBundle(t *testing.T) {
	testenv.Cosign(t)
	ss := keylesstest.New(t)
	dir := t.TempDir()
	trustedRoot := ss.WriteTrustedRoot(t, dir)
	doc := []byte(`{"kind":"Release","version":"1.5.0"}`)
	b := signWith(t, ss, keylesstest.GitHubActions(repo, workflow, main, "push"), doc)
	docPath := filepath.Join(dir, "1.5.0.json")
	bundlePath := docPath + ".sigstore.json"
	if err := os.WriteFile(docPath, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bundlePath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// pin itself accepts the file it wrote, through the same trusted_root.json.
	tr, err := keyless.LoadTrustedRoot(trustedRoot)
	if err != nil {
		t.Fatal(err)
	}
	v, err := keyless.NewVerifier(tr, []keyless.Identity{releaseWorkflow})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.VerifyBundle(context.Background(), doc, b); err != nil {
		t.Fatalf("pin refuses its bundle through trusted_root.json: %v", err)
	}
	tests := []struct {
		name   string
		args   []string
		wantOK bool
	}{
		{name: "release workflow", wantOK: true, args: []string{
			"--certificate-identity", releaseWorkflow.Subject,
			"--certificate-oidc-issuer", keyless.GitHubActionsIssuer,
			"--certificate-github-workflow-repository", repo,
			"--certificate-github-workflow-ref", main,
			"--certificate-github-workflow-trigger", "push",
		}},
		{name: "other repository", args: []string{
			"--certificate-identity", "https://github.com/evil/storage-service/" + workflow + "@" + main,
			"--certificate-oidc-issuer", keyless.GitHubActionsIssuer,
		}},
		{name: "other issuer", args: []string{
			"--certificate-identity", releaseWorkflow.Subject,
			"--certificate-oidc-issuer", keyless.BuildkiteIssuer,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"verify-blob", "--bundle", bundlePath, "--trusted-root", trustedRoot, "--insecure-ignore-sct"}, tt.args...)
			stdout, stderr, err := testenv.RunCosign(t, append(args, docPath)...)
			ok := err == nil && strings.Contains(stdout+stderr, "Verified OK")
			if ok != tt.wantOK {
				t.Fatalf("cosign verified=%v, want %v:\n%s%s", ok, tt.wantOK, stdout, stderr)
			}
		})
	}
}
