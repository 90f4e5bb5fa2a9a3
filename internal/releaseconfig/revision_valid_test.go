package releaseconfig

import (
	"strings"
	"testing"
)

func TestValidRevision(t *testing.T) {
	for rev, want := range map[string]bool{
		"0123456789abcdef0123456789abcdef01234567": true,
		"abc1234":                true,
		"v1.2.3-rc_1":            true,
		"_x":                     true,
		"":                       false,
		".abc":                   false,
		"-abc":                   false,
		"abc/def":                false,
		"abc def":                false,
		"abc:def":                false,
		"é":                      false,
		strings.Repeat("a", 128): true,
		strings.Repeat("a", 129): false,
	} {
		if got := validRevision(rev); got != want {
			t.Errorf("validRevision(%q) = %v, want %v", rev, got, want)
		}
	}
}
