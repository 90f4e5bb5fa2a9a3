//go:build !nokeyless

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/signing/keyless"
)

// TestRootIdentitySigners runs issue 16's "identities are signers a role
// can list" through the CLI: a root whose release and index roles list the
// release workflow's CI identity (pin root add-key --identity-*), a keyless
// `release create` that the publisher checks against the role before
// publishing, and a consumer that trusts the root by fingerprint and
// updates and checks. A workflow of another repository is refused (exit 3,
// nothing written), and a threshold-2 index role is met by the identity and
// one key together but not by the identity alone.
func TestRootIdentitySigners(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		repo       string // the repository whose release workflow the root lists
		threshold2 bool   // the index role lists the identity and the ci key, threshold 2
		coSign     bool   // the ci key co-signs the index
		wantCode   int
		wantErr    string
	}{
		{name: "release workflow", repo: keylessRepo},
		{name: "wrong repository", repo: "evil/storage-service", wantCode: 3, wantErr: "does not carry an identity"},
		{name: "identity and key meet threshold 2", repo: keylessRepo, threshold2: true, coSign: true},
		{name: "identity alone under threshold 2", repo: keylessRepo, threshold2: true, wantCode: 2, wantErr: "needs 2 distinct keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, host, ss := keylessProducer(t, dirStore)
			e := env{}
			rootKeys(t, dir, e, "alice", "rel", "ci")
			runPin(t, dir, e, "root", "init", "--product", "storage-service", "--root-key", "alice.pub",
				"--release-key", "rel.pub", "--index-key", "ci.pub").mustSucceed(t, "root init")
			identity := []string{"--identity-issuer", keyless.GitHubActionsIssuer,
				"--identity-subject", "https://github.com/" + tt.repo + "/" + keylessWorkflow + "@refs/heads/main",
				"--identity-source-repository", "https://github.com/" + tt.repo, "--identity-ref", "refs/heads/main", "--identity-trigger", "push"}
			runPin(t, dir, e, append([]string{"root", "add-key", "root.json", "--role", "release"}, identity...)...).mustSucceed(t, "add identity to release")
			runPin(t, dir, e, "root", "remove-key", "root.json", "--role", "release", "--key-id", keyIDOf(t, filepath.Join(dir, "rel.pub"))[:12]).mustSucceed(t, "remove rel")
			indexArgs := append([]string{"root", "add-key", "root.json", "--role", "index"}, identity...)
			if tt.threshold2 {
				indexArgs = append(indexArgs, "--threshold", "2")
			}
			runPin(t, dir, e, indexArgs...).mustSucceed(t, "add identity to index")
			if !tt.threshold2 {
				runPin(t, dir, e, "root", "remove-key", "root.json", "--role", "index", "--key-id", keyIDOf(t, filepath.Join(dir, "ci.pub"))[:12]).mustSucceed(t, "remove ci")
			}
			root, _ := os.ReadFile(filepath.Join(dir, "root.json"))
			if !strings.Contains(string(root), `"type":"sigstore-identity"`) {
				t.Fatalf("root.json lists no identity: %s", root)
			}
			runPin(t, dir, e, "root", "sign", "root.json", "--key", "env://PIN_KEY_ALICE").mustSucceed(t, "sign")
			pub := runPin(t, dir, e, "root", "publish", "root.json").mustSucceed(t, "publish")
			m := fingerprintRE.FindStringSubmatch(pub.out)
			if m == nil {
				t.Fatalf("publish printed no fingerprint: %s", pub.out)
			}

			store := filepath.Join(dir, "store")
			before := snapshotDir(t, store)
			args := []string{"release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "sigstore", "--identity-token", "token"}
			if tt.coSign {
				args = append(args, "--co-sign-key", "env://PIN_KEY_CI")
			}
			r := runPin(t, dir, e, args...)
			if r.code != tt.wantCode || !strings.Contains(r.err, tt.wantErr) {
				t.Fatalf("keyless create: exit %d, want %d with %q\n%s%s", r.code, tt.wantCode, tt.wantErr, r.out, r.err)
			}
			if tt.wantCode != 0 {
				if !equalSnapshots(before, snapshotDir(t, store)) {
					t.Fatal("a refused create wrote to the store")
				}
				return
			}
			if _, err := os.Stat(filepath.Join(store, "releases", "1.0.0-edge.1.json.sigstore.json")); err != nil {
				t.Fatalf("no bundle beside the release: %v", err)
			}

			consumer := t.TempDir()
			tf := "locals {\n  bags = \"" + serviceRepo(host, "bags_api") + ":latest\"\n}\n"
			if err := os.WriteFile(filepath.Join(consumer, "main.tf"), []byte(tf), 0o644); err != nil {
				t.Fatal(err)
			}
			trusted := ss.WriteTrustedRoot(t, consumer)
			runPin(t, consumer, nil, "init", "--source", store, "--channel", "edge", "--root-sha256", m[1], "--sigstore-trusted-root", trusted).mustSucceed(t, "init --root-sha256")
			if yml, _ := os.ReadFile(filepath.Join(consumer, "pin.yaml")); !strings.Contains(string(yml), "trustedRoot: trusted_root.json") {
				t.Fatalf("pin.yaml does not name the trusted root:\n%s", yml)
			}
			runPin(t, consumer, nil, "update").mustSucceed(t, "update")
			main, _ := os.ReadFile(filepath.Join(consumer, "main.tf"))
			if !strings.Contains(string(main), "@sha256:") {
				t.Fatalf("update pinned nothing:\n%s", main)
			}
			runPin(t, consumer, nil, "check").mustSucceed(t, "check")

			// pin keys id lists the root's signers, the identity-only release role included.
			ids := runPin(t, consumer, nil, "keys", "id").mustSucceed(t, "keys id, identity-only release role")
			aliceID := keyIDOf(t, filepath.Join(dir, "alice.pub"))[:16]
			if !strings.Contains(ids.out, aliceID+"  pin.yaml root version 1, root\n") ||
				!strings.Contains(ids.out, "release: CI identity "+keyless.GitHubActionsIssuer+" https://github.com/"+tt.repo+"/"+keylessWorkflow) {
				t.Fatalf("keys id:\n%s", ids.out)
			}
			if js := runPin(t, consumer, nil, "keys", "id", "-o", "json").mustSucceed(t, "keys id -o json"); !strings.Contains(js.out, `"subject": "https://github.com/`+tt.repo) {
				t.Fatalf("keys id -o json names no identity:\n%s", js.out)
			}
			// pin channel show verifies the keyless index with pin.yaml's root and Sigstore trusted root.
			if r := runPin(t, consumer, nil, "channel", "show", "edge").mustSucceed(t, "channel show with pin.yaml's root"); !strings.Contains(r.err, "verifying with root of trust version 1") {
				t.Fatalf("channel show did not verify with the root:\n%s", r.err)
			}
		})
	}
}
