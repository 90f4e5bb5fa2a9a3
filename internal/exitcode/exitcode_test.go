package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, OK},
		{"plain", base, Operational},
		{"usage", UsageError(base), Usage},
		{"trust wrapped", fmt.Errorf("fetch channel: %w", TrustError(base)), Trust},
		{"findings", FindingsError(base), Findings},
		{"outermost wins", UsageError(TrustError(base)), Usage},
		{"operational", OperationalError(base), Operational},
		{"typed error that knows its class", fmt.Errorf("channel edge: %w", typed{}), Trust},
		{"classified around a typed error", UsageError(typed{}), Usage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Fatalf("Of(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
	if !errors.Is(TrustError(base), base) {
		t.Fatal("classification must keep the wrapped error reachable")
	}
	if UsageError(nil) != nil {
		t.Fatal("classifying nil must stay nil")
	}
}

// typed is an error type of another package that knows its class.
type typed struct{}

func (typed) Error() string { return "typed" }
func (typed) ExitCode() int { return Trust }
