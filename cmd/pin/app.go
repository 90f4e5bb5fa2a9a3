package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

	// Dir is the working directory: relative paths the user typed (in
	// flags and arguments) are relative to it (app.path), pin looks for the
	// project's pin.yaml there and above, and locations are shown relative
	// to it. Tests give each run its own; none changes the process's.
	Dir string
	// CacheDir is pin's cache ($XDG_CACHE_HOME/pin or the OS user cache
	// directory's pin): registries' auth challenges, audit's verified
	// documents. Empty: no cache.
	CacheDir string

	LookupEnv func(string) (string, bool)
	Now       func() time.Time
	// ReadPassword reads a secret from the terminal without echo.
	ReadPassword func(prompt string) ([]byte, error)

	// registry holds the PIN_REGISTRY_* settings, read once per run (registryEnv).
	registry []registry.Option
	// rawErr is stderr before termSafe, for pin's own progress redraws.
	rawErr io.Writer
	// osDir is the process's working directory, against which the OS
	// resolves relative paths. When Dir is it (every run of the pin
	// binary), paths are used as typed, so messages name files exactly as
	// the user did.
	osDir string
	// extraRegistry are registry options a test adds to every client the
	// run makes (a counting transport), after those of registryEnv.
	extraRegistry []registry.Option
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
	wd, _ := os.Getwd() // on error "": paths as typed, no walk up to a parent's pin.yaml
	return &app{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		OutTTY: isTTY(os.Stdout), ErrTTY: isTTY(os.Stderr), InTTY: isTTY(os.Stdin),
		Dir: wd, osDir: wd, CacheDir: userCacheDir(os.LookupEnv),
		LookupEnv: os.LookupEnv,
		Now:       time.Now,
		ReadPassword: func(prompt string) ([]byte, error) {
			fmt.Fprint(os.Stderr, prompt)
			defer fmt.Fprintln(os.Stderr)
			return term.ReadPassword(int(os.Stdin.Fd()))
		},
	}
}

// userCacheDir is $XDG_CACHE_HOME/pin, or the OS user cache directory's
// pin, or "" when there is neither.
func userCacheDir(lookupEnv func(string) (string, bool)) string {
	if d, _ := lookupEnv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "pin")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "pin")
	}
	return ""
}

// path is the file or directory p the user typed, as pin opens it:
// relative to a.Dir. "-" (standard input) and references with a scheme
// (env://, oci://, https://, KMS keys) are not paths and stay as they are.
func (a *app) path(p string) string {
	if p == "" || p == "-" || strings.Contains(p, "://") || filepath.IsAbs(p) || a.Dir == a.osDir {
		return p
	}
	return filepath.Join(a.Dir, p)
}

// paths is path of each of ps.
func (a *app) paths(ps []string) []string {
	if ps == nil {
		return nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = a.path(p)
	}
	return out
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
