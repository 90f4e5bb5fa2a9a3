package pin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
)

// TestCheckLockFitsConfig: a pin.lock pin update could not have written from
// pin.yaml is a trust error; one it could have written passes.
func TestCheckLockFitsConfig(t *testing.T) {
	cases := []struct {
		name                 string
		cfgChannel, cons     string
		lockChannel, relChan string
		version              string
		want                 string // "" passes
	}{
		{"stable release on stable", "stable", "", "stable", "stable", "1.5.0", ""},
		{"stable release seen from edge", "edge", "", "edge", "stable", "1.5.0", ""},
		{"edge release on edge", "edge", "~1.5", "edge", "edge", "1.5.1-edge.2", ""},
		{"prerelease on stable", "stable", "", "stable", "edge", "1.6.0-edge.1", "does not see"},
		{"prerelease relabelled stable", "stable", "", "stable", "stable", "1.6.0-edge.1", "may not be listed on stable"},
		{"lock for another channel", "stable", "", "edge", "stable", "1.5.0", `it follows channel "edge"`},
		{"outside the constraint", "stable", "~1.5", "stable", "stable", "1.4.0", "outside pin.yaml's constraint"},
		{"edge outside the constraint by X.Y.Z", "edge", "~1.5", "edge", "edge", "1.6.0-edge.1", "outside pin.yaml's constraint"},
		{"edge number that would order as a string", "edge", "", "edge", "edge", "1.5.0-edge.18446744073709551616", "too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{Path: "/p/pin.yaml", Product: "storage-service", Channel: tc.cfgChannel, Constraint: tc.cons}
			lock := &Lock{Product: "storage-service", Channel: tc.lockChannel, ReleaseChannel: tc.relChan, Version: tc.version}
			err := CheckLockFitsConfig(cfg, lock)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if exitcode.Of(err) != exitcode.Trust || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "pin.lock") {
				t.Fatalf("got %v (exit %d), want a trust error naming pin.lock with %q", err, exitcode.Of(err), tc.want)
			}
		})
	}
}

// TestLoadLockRefusesDuplicateKeys: Go reads the last of two keys (matched
// case-insensitively), a reviewer the first; such a lock is refused.
func TestLoadLockRefusesDuplicateKeys(t *testing.T) {
	l := &Lock{SchemaVersion: LockSchemaVersion, Product: "storage-service", Channel: "stable", Version: "1.5.0", ManifestDigest: manifest.Digest([]byte("m"))}
	good, err := l.Encode()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pin.lock")
	for _, tc := range []struct{ name, lock, key string }{
		{"case variant", strings.Replace(string(good), `"version": "1.5.0"`, `"version": "1.5.0", "Version": "1.4.0"`, 1), "Version"},
		{"exact duplicate", strings.Replace(string(good), `"channel": "stable"`, `"channel": "stable", "channel": "edge"`, 1), "channel"},
	} {
		os.WriteFile(path, []byte(tc.lock), 0o644)
		_, err := LoadLock(path)
		if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), `key "`+tc.key+`" appears twice`) {
			t.Errorf("%s: %v (exit %d)", tc.name, err, exitcode.Of(err))
		}
	}
	os.WriteFile(path, good, 0o644)
	if _, err := LoadLock(path); err != nil {
		t.Fatalf("the lock as pin writes it: %v", err)
	}
}
