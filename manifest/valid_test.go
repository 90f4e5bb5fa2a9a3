package manifest

import (
	"regexp"
	"strings"
	"testing"
)

// TestValidNameAndDigest checks the hand-written checks against the regular
// expressions they replace, on edge cases and on every single-byte change of
// valid values.
func TestValidNameAndDigest(t *testing.T) {
	nameRE := regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)
	digestRE := regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	d := Digest([]byte("x"))
	names := []string{"", "a", "0", "storage-service", "bag_verifier", "a.b", "-a", ".a", "_a", "A", "a b", "é",
		strings.Repeat("a", 128), strings.Repeat("a", 129), "a\n"}
	digests := []string{"", d, strings.ToUpper(d), d + "0", d[:len(d)-1], "sha512:" + d[7:], "sha256:", " " + d}
	for _, base := range []string{"storage-service", d} {
		for i := range len(base) {
			for _, c := range []byte{0, '\n', ' ', '-', '.', '_', 'A', 'g', 'z', '0', '9', 0xff} {
				b := []byte(base)
				b[i] = c
				names = append(names, string(b))
				digests = append(digests, string(b))
			}
		}
	}
	for _, s := range names {
		if got, want := ValidName(s), nameRE.MatchString(s); got != want {
			t.Errorf("ValidName(%q) = %v, the regexp says %v", s, got, want)
		}
	}
	for _, s := range digests {
		if got, want := ValidDigest(s), digestRE.MatchString(s); got != want {
			t.Errorf("ValidDigest(%q) = %v, the regexp says %v", s, got, want)
		}
	}
}
