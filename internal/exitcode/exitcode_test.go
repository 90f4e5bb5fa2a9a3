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
