package termsafe

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestClean(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "pin: ok\n\tnext line", "pin: ok\n\tnext line"},
		{"ESC", "reason \x1b[2J\x1b]0;title\x07", `reason \u001b[2J\u001b]0;title\u0007`},
		{"carriage return", "ok\rFAKE", `ok\u000dFAKE`},
		{"DEL and backspace", "a\x7f\x08b", `a\u007f\u0008b`},
		{"C1 CSI", "x\u009b31mred", `x\u009b31mred`},
		{"bidi override", "evil\u202etxt.exe", `evil\u202etxt.exe`},
		{"invalid UTF-8", "a\x9bb\xff", `a\x9bb\xff`},
		{"printable Unicode", "café – 東京", "café – 東京"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		n, err := NewWriter(&b).Write([]byte(tt.in))
		if err != nil || n != len(tt.in) || b.String() != tt.want {
			t.Errorf("%s: wrote %q (%d, %v), want %q", tt.name, b.String(), n, err, tt.want)
		}
	}
}

// TestCleanKeepsJSON: JSON output passed through the writer stays valid and
// decodes to the same values.
func TestCleanKeepsJSON(t *testing.T) {
	v := map[string]string{"reason": "x\x1b[2J\u009b\u202e\x7fy", "ok": "plain"}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(Clean(raw), &got); err != nil {
		t.Fatalf("cleaned JSON does not decode: %v\n%s", err, Clean(raw))
	}
	if got["reason"] != v["reason"] || got["ok"] != "plain" {
		t.Fatalf("decoded %q", got)
	}
	if bytes.ContainsAny(Clean(raw), "\x1b\u009b\u202e\x7f") {
		t.Fatalf("raw control characters left: %q", Clean(raw))
	}
}

func TestPrintable(t *testing.T) {
	for s, want := range map[string]bool{
		"fixes CVE-2024-1": true, "café": true, "": true,
		"a\x1b[31m": false, "two\nlines": false, "tab\there": false, "\u009b": false, "\u2066x": false, "\xff": false,
	} {
		if got := Printable(s); got != want {
			t.Errorf("Printable(%q) = %v, want %v", s, got, want)
		}
	}
}
