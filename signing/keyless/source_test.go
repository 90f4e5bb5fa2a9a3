//go:build !nokeyless

package keyless_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/wellcomecollection/pin/signing/keyless"
	"github.com/wellcomecollection/pin/signing/keyless/keylesstest"
)

// TestSourceLoadsOnce: one Source serves every verifier of a run, so the
// trusted root is read once however many bundles are checked; a failed load
// is not remembered.
func TestSourceLoadsOnce(t *testing.T) {
	ss := keylesstest.New(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "trusted_root.json")
	src := keyless.TrustConfig{TrustedRoot: path}.Source()
	ctx := context.Background()

	if _, err := src(ctx); err == nil {
		t.Fatal("loaded a trusted root that does not exist yet")
	}
	written := ss.WriteTrustedRoot(t, dir)
	if written != path {
		t.Fatalf("trusted root written to %s, want %s", written, path)
	}
	first, err := src(ctx)
	if err != nil {
		t.Fatalf("a failed load was remembered: %v", err)
	}
	// The file goes away: a second document's check must not need it.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	second, err := src(ctx)
	if err != nil {
		t.Fatalf("the trusted root was read again: %v", err)
	}
	if first != second {
		t.Fatal("a second, different trusted root was loaded")
	}
	// A new Source reads again (and so fails now): the memory is per Source.
	if _, err := (keyless.TrustConfig{TrustedRoot: path}).Source()(ctx); err == nil {
		t.Fatal("a fresh Source shared another's memory")
	}
}
