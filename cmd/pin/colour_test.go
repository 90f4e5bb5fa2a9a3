package main

import (
	"strings"
	"testing"
)

func TestDiffColour(t *testing.T) {
	t.Parallel()
	diff := "--- a/main.tf\n+++ b/main.tf\n@@ -1,1 +1,1 @@\n-x = \"a:latest\"\n+x = \"a@sha256:1\"\n same\n"
	tests := []struct {
		name   string
		tty    bool
		env    map[string]string
		colour bool
	}{
		{"terminal", true, nil, true},
		{"pipe", false, nil, false},
		{"NO_COLOR", true, map[string]string{"NO_COLOR": "1"}, false},
		{"empty NO_COLOR", true, map[string]string{"NO_COLOR": ""}, true},
		{"dumb terminal", true, map[string]string{"TERM": "dumb"}, false},
	}
	for _, tt := range tests {
		a := &app{OutTTY: tt.tty, LookupEnv: func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }}
		if got := a.colour(); got != tt.colour {
			t.Errorf("%s: colour() = %v, want %v", tt.name, got, tt.colour)
		}
	}
	got := colourDiff(diff)
	for _, want := range []string{ansiRed + "-x = \"a:latest\"" + ansiReset + "\n", ansiGreen + "+x = \"a@sha256:1\"" + ansiReset + "\n", ansiCyan + "@@ -1,1 +1,1 @@", ansiBold + "+++ b/main.tf", "\n same\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("coloured diff lacks %q:\n%q", want, got)
		}
	}
	stripped := strings.NewReplacer(ansiReset, "", ansiBold, "", ansiRed, "", ansiGreen, "", ansiCyan, "").Replace(got)
	if stripped != diff {
		t.Errorf("colouring changed the diff's text:\n%q\nwant\n%q", stripped, diff)
	}
}
