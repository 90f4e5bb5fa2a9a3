// Package termsafe keeps text that came from outside pin (yank reasons, a
// release's source fields, component tags and platforms, registry error
// bodies, file names and contents quoted in warnings) from controlling the
// terminal it is printed on: an escape sequence there could rewrite what the
// user sees (hide a warning, fake an OK) or, on some terminals, do worse.
//
// NewWriter wraps pin's stdout and stderr once, so every byte printed goes
// through it; Printable is the same rule for the producer, which refuses to
// sign such characters at all.
package termsafe

import (
	"fmt"
	"io"
	"unicode/utf8"
)

// unsafe reports whether r must not reach a terminal as it is: C0 controls
// other than newline and tab, DEL, C1 controls (0x80-0x9f: 0x9b is CSI on
// some terminals), and the Unicode bidirectional overrides and isolates
// that reorder what is displayed.
func unsafe(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Printable reports whether s is valid UTF-8 free of every character
// NewWriter would escape, newline and tab included (a signed field is one
// line).
func Printable(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r == '\n' || r == '\t' || unsafe(r) {
			return false
		}
	}
	return true
}

// Clean returns b with every unsafe character written as \u00XX (which
// JSON reads back as the same character, so JSON output stays valid and
// means the same) and every byte of invalid UTF-8 as \xNN.
func Clean(b []byte) []byte {
	if safeASCII(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n <= 1:
			out = fmt.Appendf(out, `\x%02x`, b[0])
		case unsafe(r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

// safeASCII is the fast path: printable ASCII, newlines and tabs.
func safeASCII(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// writer escapes what it is given before passing it on.
type writer struct{ w io.Writer }

// NewWriter returns a writer that passes everything to w through Clean.
// A character cut between two writes is escaped byte by byte; pin writes
// whole lines and whole documents, so this does not happen in practice.
func NewWriter(w io.Writer) io.Writer { return writer{w} }

func (t writer) Write(p []byte) (int, error) {
	if _, err := t.w.Write(Clean(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
