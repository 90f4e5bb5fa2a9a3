// Command pin turns mutable image tags into signed, digest-pinned releases,
// publishes them on channels, and pins deployments to them.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/internal/exitcode"
)

// Set by the linker (see Makefile and .goreleaser.yaml).
var (
	version = "dev"
	commit  = "none"
	date    = "unknown"
)

// Exit statuses of a run ended by a signal: 128 + the signal's number, as
// a shell reports a process the signal killed.
const (
	exitInterrupted = 130 // SIGINT (Ctrl-C)
	exitTerminated  = 143 // SIGTERM
)

// interruptGrace is how long a signalled run may take to unwind (its
// context cancelled: waits and requests end, staged files are removed)
// before pin exits anyway. A second signal exits at once. Exiting releases
// the project lock (the kernel drops it), and an update cut short is left
// as a crash leaves it: every file old or new, completed by the next run.
const interruptGrace = 2 * time.Second

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan int, 1)
	go func() { done <- run(ctx, newSystemApp(), os.Args[1:]) }()
	select {
	case code := <-done:
		os.Exit(code)
	case sig := <-sigs:
		cancel()
		code := exitInterrupted
		if sig == syscall.SIGTERM {
			code = exitTerminated
		}
		select {
		case <-done:
		case <-sigs:
		case <-time.After(interruptGrace):
			fmt.Fprintf(os.Stderr, "pin: %v: stopped without waiting for the run to unwind\n", sig)
		}
		os.Exit(code)
	}
}

// run executes one pin invocation and returns its exit code. Errors are
// printed once, here, prefixed with "pin: ".
func run(ctx context.Context, a *app, args []string) int {
	a = a.termSafe()
	root := newRootCmd(a)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := resolvePaths(cmd, a); err != nil {
			return err
		}
		return registryEnv(a)
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitcode.OK
	}
	if interrupted(ctx, err) {
		fmt.Fprintln(a.Err, "pin: interrupted")
		return exitInterrupted
	}
	code := exitcode.Of(err)
	if isFlagError(err) {
		code = exitcode.Usage
	}
	var silent *silentError
	if !errors.As(err, &silent) {
		msg := cliText(cliMessage(err))
		fmt.Fprintf(a.Err, "pin: %s\n", msg)
		if h := hint(err); h != "" {
			fmt.Fprintf(a.Err, "pin: hint: %s\n", h)
		}
		// A CI job that asked for JSON parses stdout: give it the failure too.
		if wantsJSON(cmd) {
			_ = writeJSON(a.Out, map[string]any{"error": msg, "exitCode": code})
		}
	}
	return code
}

// wantsJSON reports whether the command that ran was asked for JSON output
// (its parsed --output or -o, or audit's --format).
func wantsJSON(cmd *cobra.Command) bool {
	if cmd == nil {
		return false
	}
	for _, name := range []string{"output", "format"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Value.String() == "json" {
			return true
		}
	}
	return false
}

// silentError carries an exit code for an outcome the command has already
// reported in full (drift, findings), so main prints nothing more.
type silentError struct{ err error }

func (s *silentError) Error() string { return s.err.Error() }
func (s *silentError) Unwrap() error { return s.err }

func silent(err error) error { return &silentError{err: err} }
