package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/termsafe"
	"github.com/wellcomecollection/pin/registry"
)

// app is the one place commands reach the outside world: streams, whether
// they are terminals, the environment, the clock and the password prompt.
// Tests build one over buffers; no test needs a terminal.
type app struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	OutTTY bool // stdout is a terminal: tables and colour
	ErrTTY bool // stderr is a terminal: progress lines
	InTTY  bool // stdin is a terminal: password prompts
	// Quiet (--quiet) turns progress and retry lines off even on a terminal.
	Quiet bool

	LookupEnv func(string) (string, bool)
	Now       func() time.Time
	// ReadPassword reads a secret from the terminal without echo.
	ReadPassword func(prompt string) ([]byte, error)

	// registry holds the PIN_REGISTRY_* settings, read once per run (registryEnv).
	registry []registry.Option
	// rawErr is stderr before termSafe, for pin's own progress redraws.
	rawErr io.Writer
}

// termSafe returns a copy of a whose stdout and stderr escape every control
// character (internal/termsafe). run applies it once, so everything any
// command prints, text or JSON, passes through it: text from a signed
// release, a store, a registry or a user's file cannot drive the terminal.
func (a *app) termSafe() *app {
	c := *a
	c.rawErr = a.Err
	c.Out, c.Err = termsafe.NewWriter(a.Out), termsafe.NewWriter(a.Err)
	return &c
}

func newSystemApp() *app {
	isTTY := func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
	return &app{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		OutTTY: isTTY(os.Stdout), ErrTTY: isTTY(os.Stderr), InTTY: isTTY(os.Stdin),
		LookupEnv: os.LookupEnv,
		Now:       time.Now,
		ReadPassword: func(prompt string) ([]byte, error) {
			fmt.Fprint(os.Stderr, prompt)
			defer fmt.Fprintln(os.Stderr)
			return term.ReadPassword(int(os.Stdin.Fd()))
		},
	}
}

func (a *app) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}

func (a *app) lookupEnv(k string) (string, bool) {
	if a.LookupEnv == nil {
		return "", false
	}
	return a.LookupEnv(k)
}

// password returns the key password: COSIGN_PASSWORD when set (cosign's
// convention, even when empty), else a prompt on a terminal.
func (a *app) password(confirm bool) ([]byte, error) {
	if pw, ok := a.lookupEnv("COSIGN_PASSWORD"); ok {
		return []byte(pw), nil
	}
	if !a.InTTY || a.ReadPassword == nil {
		return nil, exitcode.UsageError(errors.New("COSIGN_PASSWORD is not set and there is no terminal to ask for the key password"))
	}
	pw, err := a.ReadPassword("Enter password for private key: ")
	if err != nil {
		return nil, err
	}
	if confirm {
		again, err := a.ReadPassword("Enter password for private key again: ")
		if err != nil {
			return nil, err
		}
		if string(again) != string(pw) {
			return nil, exitcode.UsageError(errors.New("passwords do not match"))
		}
	}
	return pw, nil
}

// writeJSON prints v as indented JSON with a final newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// checkOutput validates an --output flag value.
func checkOutput(got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return exitcode.UsageError(fmt.Errorf("--output %q: use one of %s", got, strings.Join(allowed, ", ")))
}
