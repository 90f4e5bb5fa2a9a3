// Package opterr is the error of an option that a caller of a library package
// set wrongly. It names the option by its Go field (UpdateOptions.To is "To"),
// never by a command-line flag: library packages word no CLI, and cmd/pin
// renders the field as its own flag (--to) where it prints the error.
package opterr

import (
	"fmt"

	"github.com/wellcomecollection/pin/internal/exitcode"
)

// Error says what is wrong with one option. It is a usage error (exit 2).
type Error struct {
	// Option is the Go field of the options struct, e.g. "To", "FailOn".
	Option string
	// Err says what is wrong; its message follows the option's name
	// directly, so it starts with its own separator (" 1.2: ..." or ": ...").
	Err error
}

func (e *Error) Error() string { return e.Option + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ExitCode makes every option error a usage error.
func (e *Error) ExitCode() int { return exitcode.Usage }

// Errorf returns an *Error for option; format follows the option's name,
// separator included: Errorf("To", " %s is outside %q", v, c) reads
// `To 1.2.3 is outside "~1.0"`. %w wraps as in fmt.Errorf.
func Errorf(option, format string, args ...any) error {
	return &Error{Option: option, Err: fmt.Errorf(format, args...)}
}
