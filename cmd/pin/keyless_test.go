//go:build !nokeyless

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/signing/keyless"
	"github.com/wellcomecollection/pin/signing/keyless/keylesstest"
)

const (
	keylessRepo     = "wellcomecollection/storage-service"
	keylessWorkflow = ".github/workflows/release.yml"
	keylessSubject  = "https://github.com/" + keylessRepo + "/" + keylessWorkflow + "@refs/heads/main"
)

// identityYAML is an identities: list trusting the release workflow of repo
// on main, pushed, with the given issuer.
func identityYAML(issuer, repo string) string {
	return "identities:\n" +
		"  - issuer: " + issuer + "\n" +
		"    subject: https://github.com/" + repo + "/" + keylessWorkflow + "@refs/heads/main\n" +
		"    sourceRepository: https://github.com/" + repo + "\n" +
		"    ref: refs/heads/main\n" +
		"    trigger: push\n"
}

// keylessProducer sets up a release.yaml that signs keylessly with the
// in-process Sigstore ss, and a token file for the release workflow.
func keylessProducer(t *testing.T, store func(host, dir string) string) (dir, host string, ss *keylesstest.Sigstore) {
	t.Helper()
	host = memRegistry(t)
	seed(t, host, services)
	dir = t.TempDir()
	writeReleaseConfig(t, dir, host, store(host, dir))
	ss = keylesstest.New(t)
	ss.WriteTrustedRoot(t, dir)
	f, err := os.OpenFile(filepath.Join(dir, "release.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(identityYAML(keyless.GitHubActionsIssuer, keylessRepo))
	f.WriteString("sigstore:\n  fulcioURL: " + ss.Fulcio.URL + "\n  rekorURL: " + ss.Rekor.URL + "\n  trustedRoot: trusted_root.json\n")
	f.Close()
	tok := keylesstest.Token(keylesstest.GitHubActions(keylessRepo, keylessWorkflow, "refs/heads/main", "push"))
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, host, ss
}

// TestKeylessReleaseFlow publishes with no key at all (create, promote, yank,
// refresh signed by the CI identity through Fulcio and Rekor), and a consumer
// that trusts only the pipeline's identity updates, then checks offline from
// pin.lock's bundle; consumers trusting another identity are refused (exit 3)
// and nothing is written.
func TestKeylessReleaseFlow(t *testing.T) {
	t.Parallel()
	for name, store := range map[string]func(string, string) string{"directory": dirStore, "oci": ociStore} {
		t.Run(name, func(t *testing.T) {
			dir, host, ss := keylessProducer(t, store)
			tokEnv := env{"SIGSTORE_ID_TOKEN": keylesstest.Token(keylesstest.GitHubActions(keylessRepo, keylessWorkflow, "refs/heads/main", "push"))}
			runPin(t, dir, nil, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "sigstore", "--identity-token", "token").mustSucceed(t, "keyless create")
			runPin(t, dir, tokEnv, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "sigstore").mustSucceed(t, "keyless promote")
			runPin(t, dir, tokEnv, "channel", "refresh", "--channel", "stable", "--key", "sigstore").mustSucceed(t, "keyless refresh")
			if ss.RekorRequests == 0 || ss.FulcioRequests == 0 {
				t.Fatalf("Fulcio asked %d times, Rekor %d times", ss.FulcioRequests, ss.RekorRequests)
			}
			if name == "directory" {
				for _, f := range []string{"releases/1.0.0.json", "channels/stable.json"} {
					p := filepath.Join(dir, "store", f)
					if _, err := os.Stat(p + ".sigstore.json"); err != nil {
						t.Errorf("no bundle beside %s: %v", f, err)
					}
					if _, err := os.Stat(p + ".sig"); !os.IsNotExist(err) {
						t.Errorf("%s.sig exists after keyless signing: %v", f, err)
					}
				}
			}
			// Keyless signing refuses to start without a token.
			if r := runPin(t, dir, nil, "channel", "refresh", "--channel", "stable", "--key", "sigstore"); r.code != 2 || !strings.Contains(r.err, "no identity token") {
				t.Fatalf("keyless refresh without a token: exit %d, %s", r.code, r.err)
			}

			source := store(host, dir)
			if name == "directory" {
				source = filepath.Join(dir, "store")
			}
			tests := []struct {
				name     string
				identity string
				sigstore string
				wantCode int
				wantErr  string
			}{
				{name: "wrong repository", identity: identityYAML(keyless.GitHubActionsIssuer, "evil/storage-service"), wantCode: 3, wantErr: "expected SAN value"},
				{name: "wrong issuer", identity: identityYAML(keyless.BuildkiteIssuer, keylessRepo), wantCode: 3, wantErr: "expected issuer value"},
				// A TUF repository that cannot be reached leaves the bundle unchecked: operational, not a refusal.
				{name: "trusted root unreachable", identity: identityYAML(keyless.GitHubActionsIssuer, keylessRepo), sigstore: "sigstore:\n  tufMirror: http://127.0.0.1:1\n", wantCode: 1, wantErr: "fetch Sigstore trusted root"},
				// Last: it removes the directory store to show pin check is offline.
				{name: "release workflow", identity: identityYAML(keyless.GitHubActionsIssuer, keylessRepo)},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					project := t.TempDir()
					ss.WriteTrustedRoot(t, project)
					tf := "locals {\n  bags = \"" + serviceRepo(host, "bags_api") + ":latest\"\n}\n"
					os.WriteFile(filepath.Join(project, "main.tf"), []byte(tf), 0o644)
					if tt.sigstore == "" {
						tt.sigstore = "sigstore:\n  trustedRoot: trusted_root.json\n"
					}
					yml := "source: " + source + "\nproduct: storage-service\nchannel: stable\nkeys: []\n" + tt.identity + tt.sigstore
					os.WriteFile(filepath.Join(project, "pin.yaml"), []byte(yml), 0o644)
					before := snapshotDir(t, project)
					r := runPin(t, project, nil, "update")
					if r.code != tt.wantCode || !strings.Contains(r.err, tt.wantErr) {
						t.Fatalf("update: exit %d, want %d with %q\n%s%s", r.code, tt.wantCode, tt.wantErr, r.out, r.err)
					}
					if tt.wantCode != 0 {
						if after := snapshotDir(t, project); len(after) != len(before) || after[filepath.Join(project, "main.tf")] != before[filepath.Join(project, "main.tf")] {
							t.Fatalf("a refused update wrote files: %d before, %d after", len(before), len(after))
						}
						return
					}
					lock, err := os.ReadFile(filepath.Join(project, "pin.lock"))
					if err != nil || !strings.Contains(string(lock), `"bundle"`) {
						t.Fatalf("pin.lock keeps no bundle: %v\n%s", err, lock)
					}
					// pin check verifies pin.lock's bundle offline: the store is gone.
					if name == "directory" {
						os.RemoveAll(filepath.Join(dir, "store"))
					}
					runPin(t, project, nil, "check").mustSucceed(t, "check from pin.lock")
					// A bundle in pin.lock over other bytes is refused.
					tampered := strings.Replace(string(lock), `\"version\":\"1.0.0\"`, `\"version\":\"1.0.1\"`, 1)
					if tampered == string(lock) {
						t.Fatal("test could not tamper with pin.lock")
					}
					os.WriteFile(filepath.Join(project, "pin.lock"), []byte(tampered), 0o644)
					if r := runPin(t, project, nil, "check"); r.code != 3 {
						t.Fatalf("check with a tampered lock: exit %d, want 3\n%s", r.code, r.err)
					}
				})
			}
		})
	}
}

// Stock cosign verifies a keylessly signed OCI release by the pipeline's
// identity, as it verifies cosign's own keyless signatures.
func TestCosignVerifiesKeylessOCIRelease(t *testing.T) {
	t.Parallel()
	testenv.Cosign(t)
	dir, host, _ := keylessProducer(t, ociStore)
	runPin(t, dir, nil, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "sigstore", "--identity-token", "token").mustSucceed(t, "keyless create")
	ref := host + "/storage-service-releases:1.0.0-edge.1"
	for _, tt := range []struct {
		identity string
		wantOK   bool
	}{{keylessSubject, true}, {"https://github.com/evil/storage-service/" + keylessWorkflow + "@refs/heads/main", false}} {
		stdout, stderr, err := testenv.RunCosign(t, "verify", "--allow-http-registry", "--trusted-root", filepath.Join(dir, "trusted_root.json"), "--insecure-ignore-sct",
			"--certificate-identity", tt.identity, "--certificate-oidc-issuer", keyless.GitHubActionsIssuer, ref)
		if ok := err == nil; ok != tt.wantOK {
			t.Fatalf("cosign verify %s as %s: ok=%v, want %v\n%s%s", ref, tt.identity, ok, tt.wantOK, stdout, stderr)
		}
	}
}
