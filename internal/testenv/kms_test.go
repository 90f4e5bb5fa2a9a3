package testenv

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLocalKMSSeparateAndStopped: each LocalKMS is its own empty KMS on
// loopback, a key made in one is not in another, and it is gone once its
// test ends.
func TestLocalKMSSeparateAndStopped(t *testing.T) {
	var first string
	t.Run("first", func(t *testing.T) {
		first = LocalKMS(t)
		if !strings.HasPrefix(first, "http://127.0.0.1:") {
			t.Fatalf("LocalKMS() = %q, want http://127.0.0.1:PORT", first)
		}
		SetAWSEnv(t, first)
		ref := CreateKMSKey(t, "alias/testenv", "ECC_NIST_P256")
		if ref != "awskms:///alias/testenv" {
			t.Fatalf("CreateKMSKey returned %q", ref)
		}
		if n := countKeys(t, first); n != 1 {
			t.Fatalf("%s lists %d keys after one CreateKey, want 1", first, n)
		}
		second := LocalKMS(t)
		if second == first {
			t.Fatalf("two calls share %s", first)
		}
		if n := countKeys(t, second); n != 0 {
			t.Fatalf("a fresh local-kms lists %d keys", n)
		}
	})
	client := &http.Client{Timeout: time.Second}
	if _, err := listKeys(context.Background(), client, first); err == nil {
		t.Errorf("local-kms %s still answers after its test ended", first)
	}
}

// countKeys counts the KeyId entries of a ListKeys answer.
func countKeys(t *testing.T, endpoint string) int {
	t.Helper()
	body, err := listKeys(context.Background(), http.DefaultClient, endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(body), `"KeyId"`)
}

// TestLocalKMSVersionMatchesInstallScript keeps the version the tests name
// and the one make test installs in step.
func TestLocalKMSVersionMatchesInstallScript(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "scripts", "install-test-deps.sh"))
	if err != nil {
		t.Fatal(err)
	}
	want := `LOCAL_KMS_VERSION="${LOCAL_KMS_VERSION:-` + LocalKMSVersion + `}"`
	if !strings.Contains(string(b), want) {
		t.Fatalf("scripts/install-test-deps.sh does not pin local-kms %s (want the line %s)", LocalKMSVersion, want)
	}
}
