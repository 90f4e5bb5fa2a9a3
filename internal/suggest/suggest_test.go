package suggest

import (
	"reflect"
	"testing"
)

func TestClosest(t *testing.T) {
	for _, tt := range []struct {
		word       string
		candidates []string
		want       []string
	}{
		{"chanel", []string{"channel", "source", "constraint"}, []string{"channel"}},
		{"dryrun", []string{"dry-run", "output", "to"}, []string{"dry-run"}},
		{"updte", []string{"update", "init", "check"}, []string{"update"}},
		{"rel", []string{"release", "resolve"}, []string{"release"}},
		{"zzzzzz", []string{"update", "check"}, []string{}},
		{"Channel", []string{"channel"}, []string{"channel"}},
	} {
		if got := Closest(tt.word, tt.candidates); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Closest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
	if got := Hint("dryrun", "--", []string{"dry-run"}); got != "did you mean --dry-run?" {
		t.Errorf("Hint = %q", got)
	}
	if got := Hint("zzzzzz", "--", []string{"dry-run"}); got != "" {
		t.Errorf("Hint with nothing close = %q", got)
	}
}
