package opterr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wellcomecollection/pin/internal/exitcode"
)

func TestErrorf(t *testing.T) {
	base := errors.New("not X.Y.Z")
	for _, tt := range []struct {
		err  error
		want string
	}{
		{Errorf("To", ": %w", base), "To: not X.Y.Z"},
		{Errorf("Constraint", " %q: no release satisfies it", "~9"), `Constraint "~9": no release satisfies it`},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if exitcode.Of(fmt.Errorf("update: %w", tt.err)) != exitcode.Usage {
			t.Errorf("%v: not a usage error", tt.err)
		}
		var oe *Error
		if !errors.As(tt.err, &oe) || oe.Option == "" {
			t.Errorf("%v: errors.As finds no *Error", tt.err)
		}
	}
	if !errors.Is(Errorf("To", ": %w", base), base) {
		t.Error("the wrapped error must stay reachable")
	}
}
