// Package fuzzseed builds the seed corpora of pin's fuzz tests from the
// repository's real examples and test inputs, and keeps a committed copy of
// them under each package's testdata/fuzz/<FuzzName>/ in Go's corpus format
// ("go test fuzz v1"), so that `go test -fuzz` starts from them even when the
// files they came from change.
//
// Seeds are always added with f.Add, so plain `go test` runs every current
// example through the fuzz property. The committed copy is refreshed with
//
//	PIN_FUZZ_SEEDS=write go test -run '^Fuzz' ./...
//
// (`make fuzz-seeds`). It is test-only: nothing in the pin binary imports it.
package fuzzseed

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// EnvWrite names the variable that, set to "write", makes Add write the
// committed corpus files.
const EnvWrite = "PIN_FUZZ_SEEDS"

// Add adds each input to f's seed corpus, and writes it under
// testdata/fuzz/<f.Name()>/ when PIN_FUZZ_SEEDS=write.
func Add(f *testing.F, inputs ...[]byte) {
	f.Helper()
	for _, in := range inputs {
		f.Add(in)
	}
	if os.Getenv(EnvWrite) != "write" {
		return
	}
	dir := filepath.Join("testdata", "fuzz", f.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	for _, in := range inputs {
		b := Marshal(in)
		sum := sha256.Sum256(b)
		p := filepath.Join(dir, "seed-"+hex.EncodeToString(sum[:8]))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			f.Fatal(err)
		}
	}
}

// Marshal encodes one []byte value the way `go test` stores a corpus entry.
func Marshal(in []byte) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	fmt.Fprintf(&b, "[]byte(%q)\n", in)
	return b.Bytes()
}

// Files reads every regular file under root (relative to the package
// directory) whose slash-separated path relative to root satisfies keep,
// in lexical order. A missing root is a test failure: the seeds must not
// silently shrink to nothing.
func Files(tb testing.TB, root string, keep func(rel string) bool) [][]byte {
	tb.Helper()
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != root {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if keep(filepath.ToSlash(rel)) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("seed files under %s: %v", root, err)
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		tb.Fatalf("no seed files under %s", root)
	}
	out := make([][]byte, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// Suffix keeps paths ending in any of the suffixes (case-insensitive).
func Suffix(suffixes ...string) func(string) bool {
	return func(rel string) bool {
		l := strings.ToLower(rel)
		for _, s := range suffixes {
			if strings.HasSuffix(l, strings.ToLower(s)) {
				return true
			}
		}
		return false
	}
}
