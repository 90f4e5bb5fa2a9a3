// Package exitcode classifies errors into the process exit codes that every pin
// command shares (see docs/design.md): 1 operational, 2 usage or configuration,
// 3 trust, 4 findings. Packages wrap an error once, where its class is known;
// only cmd/pin turns the class into an exit status.
package exitcode

import "errors"

// Exit codes shared by all commands.
const (
	OK          = 0
	Operational = 1
	Usage       = 2
	Trust       = 3
	Findings    = 4
)

// classified carries an exit code alongside the error it wraps.
type classified struct {
	code int
	err  error
}

func (c *classified) Error() string { return c.err.Error() }
func (c *classified) Unwrap() error { return c.err }

// ExitCode reports the exit code the error was classified with.
func (c *classified) ExitCode() int { return c.code }

// Coder is implemented by errors that know their class: typed errors of the
// packages that decide it (channels.TrustError is exit 3), and every error
// this package wraps.
type Coder interface{ ExitCode() int }

func wrap(code int, err error) error {
	if err == nil {
		return nil
	}
	return &classified{code: code, err: err}
}

// UsageError marks err as a usage or configuration error (exit 2).
func UsageError(err error) error { return wrap(Usage, err) }

// TrustError marks err as a trust failure (exit 3): a bad signature, an expired
// or rolled-back channel, a digest mismatch, a document for another product or channel.
func TrustError(err error) error { return wrap(Trust, err) }

// FindingsError marks err as findings (exit 4): drift, audit findings, an available update.
func FindingsError(err error) error { return wrap(Findings, err) }

// OperationalError marks err explicitly as operational (exit 1). Unclassified errors are operational too.
func OperationalError(err error) error { return wrap(Operational, err) }

// Of returns the exit code for err: 0 for nil, the outermost classification
// (a Coder) found in its chain, or 1 (operational) when it was never classified.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var c Coder
	if errors.As(err, &c) {
		return c.ExitCode()
	}
	return Operational
}
