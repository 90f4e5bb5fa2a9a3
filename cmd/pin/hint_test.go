package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/channels"
)

// TestHint: the CLI words what to do about a typed error; the packages that
// return it name no command.
func TestHint(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("channel edge from ./store: %w", &channels.TrustError{Kind: channels.ErrExpired, Err: errors.New("expired")}), "pin channel refresh"},
		{&channels.TrustError{Kind: channels.ErrRollback, Err: errors.New("below")}, "never edit pin.lock"},
		{&channels.TrustError{Kind: channels.ErrFork, Err: errors.New("bytes")}, "never edit pin.lock"},
		{errors.New("network"), ""},
	} {
		got := hint(tt.err)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("hint(%v) = %q, want it to say %q", tt.err, got, tt.want)
		}
	}
}
