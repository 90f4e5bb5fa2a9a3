package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnvKeySignsReleases: a CI job that holds the key in an environment
// variable (env://VAR) signs exactly as with the file, and pin keys public
// gives the same public key from either.
func TestEnvKeySignsReleases(t *testing.T) {
	t.Parallel()
	dir, _ := producerSetup(t, dirStore)
	priv, err := os.ReadFile(filepath.Join(dir, "release.key"))
	if err != nil {
		t.Fatal(err)
	}
	wantPub, err := os.ReadFile(filepath.Join(dir, "release.pub"))
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "release.key")) // nothing on disk: the key lives in the environment
	e := env{"COSIGN_PASSWORD": pw["COSIGN_PASSWORD"], "PIN_SIGNING_KEY": string(priv)}

	r := runPin(t, dir, e, "keys", "public", "--key", "env://PIN_SIGNING_KEY").mustSucceed(t, "keys public")
	if r.out != string(wantPub) {
		t.Fatalf("keys public --key env://PIN_SIGNING_KEY printed\n%s\nwant\n%s", r.out, wantPub)
	}
	if strings.Contains(r.out+r.err, "PRIVATE KEY") || strings.Contains(r.out+r.err, pw["COSIGN_PASSWORD"]) {
		t.Fatalf("keys public printed a secret:\n%s%s", r.out, r.err)
	}
	runPin(t, dir, e, "keys", "public", "--key", "env://PIN_SIGNING_KEY", "--out", "env.pub").mustSucceed(t, "keys public --out")
	if b, _ := os.ReadFile(filepath.Join(dir, "env.pub")); string(b) != string(wantPub) {
		t.Fatalf("env.pub:\n%s\nwant\n%s", b, wantPub)
	}

	runPin(t, dir, e, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "env://PIN_SIGNING_KEY").mustSucceed(t, "create")
	runPin(t, dir, e, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "env://PIN_SIGNING_KEY").mustSucceed(t, "promote")
	show := runPin(t, dir, nil, "channel", "show", "stable", "--config", "release.yaml", "--key-file", "release.pub").mustSucceed(t, "channel show")
	if !strings.Contains(show.out, "1.0.0") {
		t.Fatalf("stable channel:\n%s", show.out)
	}

	// Without the password the encrypted key cannot be used, and pin says why.
	if r := runPin(t, dir, env{"PIN_SIGNING_KEY": string(priv)}, "keys", "public", "--key", "env://PIN_SIGNING_KEY"); r.code != 2 || !strings.Contains(r.err, "COSIGN_PASSWORD") {
		t.Fatalf("no password: exit %d, %s", r.code, r.err)
	}
	if r := runPin(t, dir, env{"PIN_SIGNING_KEY": string(priv), "COSIGN_PASSWORD": "wrong"}, "keys", "public", "--key", "env://PIN_SIGNING_KEY"); r.code != 2 || !strings.Contains(r.err, "wrong password") || strings.Contains(r.err, "PRIVATE KEY") {
		t.Fatalf("wrong password: exit %d, %s", r.code, r.err)
	}
}

// TestKeysPublicFromFile: the public key derived from a key file is the one
// pin keys generate wrote beside it.
func TestKeysPublicFromFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyKeys(t, dir)
	want, _ := os.ReadFile(filepath.Join(dir, "release.pub"))
	r := runPin(t, dir, pw, "keys", "public", "--key", "release.key", "--out", "copy.pub").mustSucceed(t, "keys public")
	if got, _ := os.ReadFile(filepath.Join(dir, "copy.pub")); string(got) != string(want) {
		t.Fatalf("copy.pub:\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(r.out, "copy.pub") {
		t.Fatalf("keys public --out says:\n%s", r.out)
	}
	if r := runPin(t, dir, pw, "keys", "public"); r.code != 2 || !strings.Contains(r.err, `"key" not set`) {
		t.Fatalf("keys public without --key: exit %d, %s", r.code, r.err)
	}
}

// TestBadKeyReferencesWriteNothing: a --key that cannot be used is a usage
// error (exit 2) that names the problem, and nothing is published.
func TestBadKeyReferencesWriteNothing(t *testing.T) {
	t.Parallel()
	dir, _ := producerSetup(t, dirStore)
	tests := []struct {
		key, want string
	}{
		{"env://PIN_SIGNING_KEY", "environment variable PIN_SIGNING_KEY is not set"},
		{"env://EMPTY_KEY", "environment variable EMPTY_KEY is empty"},
		{"gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k", "gcpkms:// keys are not built into pin"},
		{"azurekms://vault.example/key", "azurekms:// keys are not built into pin"},
		{"hashivault://release", "hashivault:// keys are not built into pin"},
		{"awskms://", "awskms://[ENDPOINT]/[ID/ALIAS/ARN]"},
		{"s3://bucket/release.key", `unknown key reference scheme "s3://"`},
		{"missing.key", "missing.key"},
	}
	e := env{"COSIGN_PASSWORD": pw["COSIGN_PASSWORD"], "EMPTY_KEY": ""}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			r := runPin(t, dir, e, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", tc.key)
			if r.code != 2 || !strings.Contains(r.err, tc.want) {
				t.Fatalf("exit %d, want 2 saying %q:\n%s", r.code, tc.want, r.err)
			}
			if _, err := os.Stat(filepath.Join(dir, "store")); !os.IsNotExist(err) {
				t.Fatalf("a refused key still wrote the store: %v", err)
			}
			if r := runPin(t, dir, e, "keys", "public", "--key", tc.key); r.code != 2 || !strings.Contains(r.err, tc.want) {
				t.Fatalf("keys public: exit %d, want 2 saying %q:\n%s", r.code, tc.want, r.err)
			}
		})
	}
}
