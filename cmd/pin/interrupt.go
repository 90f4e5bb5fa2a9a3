package main

import (
	"context"
	"errors"
)

// interrupted reports whether err is the run's context being cancelled (Ctrl-C
// or SIGTERM) rather than a failure of its own: the cause is then one line,
// "interrupted", not the chain of operations that were cut short.
func interrupted(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, ctx.Err()))
}
