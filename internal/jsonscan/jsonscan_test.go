package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	data := []byte("\xef\xbb\xbf{\n  \"a\": [1, \"x\\/y\", true, null],\n  \"b\": {\"c\": \"caf\\u00e9\"}, \"a\": -2.5e3\n}\n")
	v, err := Parse(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != Object || strings.Join(v.Keys, ",") != "a,b,a" || v.Start != 3 || v.End != len(data)-1 {
		t.Fatalf("root = %+v", v)
	}
	a := v.Get("a")
	if a.Kind != Array || len(a.Elems) != 4 {
		t.Fatalf("a = %+v", a)
	}
	for i, want := range []struct {
		kind    byte
		str, at string
	}{{Number, "1", "1"}, {String, "x/y", `"x\/y"`}, {Bool, "", "true"}, {Null, "", "null"}} {
		e := a.Elems[i]
		if e.Kind != want.kind || e.Str != want.str || string(data[e.Start:e.End]) != want.at {
			t.Errorf("a[%d] = kind %c %q at %q, want kind %c %q at %q", i, e.Kind, e.Str, data[e.Start:e.End], want.kind, want.str, want.at)
		}
	}
	if got := v.Get("b").StringOf("c"); got != "café" {
		t.Errorf("b.c = %q", got)
	}
	if n := v.Vals[2]; n.Str != "-2.5e3" || string(data[n.Start:n.End]) != "-2.5e3" {
		t.Errorf("second a = %+v", n)
	}
	if v.Get("zz") != nil || a.Get("a") != nil || v.StringOf("a") != "" {
		t.Error("Get of a missing key or on an array must be nil, StringOf of a non-string empty")
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		depth    int
		line     int
		want     string
	}{
		{"bad character", "{\n\"a\": [1,\n2,,]\n}", 0, 3, "invalid character ','"},
		{"truncated", "{\n\"a\": [1,\n", 0, 2, "unexpected end"},
		{"trailing data", "{}\n{}", 0, 2, "after top-level value"},
		{"too deep", "[[[[1]]]]", 3, 1, "nested deeper than 3 levels"},
		{"empty", "", 0, 1, "unexpected end"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in), tt.depth)
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line != tt.line || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("Parse(%q) = %v, want a *SyntaxError on line %d saying %q", tt.in, err, tt.line, tt.want)
			}
		})
	}
	if _, err := Parse([]byte("[[[1]]]"), 3); err != nil {
		t.Errorf("three levels under a limit of three: %v", err)
	}
}

// FuzzParse: Parse accepts exactly what encoding/json does, and every value
// it returns spans bytes that decode, on their own, to the same value.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a":[1,"b",{"c":null}],"d":true}`, `"x\u0041"`, "\xef\xbb\xbf[ 1 , 2 ]", `{"a":"\xff"}`, `[`, `{"a" 1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data, 0)
		body := data
		if len(body) >= 3 && string(body[:3]) == "\xef\xbb\xbf" {
			body = body[3:]
		}
		if (err == nil) != json.Valid(body) {
			t.Fatalf("Parse error %v, json.Valid %v: %q", err, json.Valid(body), data)
		}
		if err == nil {
			check(t, data, v)
		}
	})
}

func check(t *testing.T, data []byte, v *Value) {
	t.Helper()
	if v.Start < 0 || v.End > len(data) || v.Start >= v.End {
		t.Fatalf("value of kind %c at [%d,%d) of %d bytes", v.Kind, v.Start, v.End, len(data))
	}
	var want any
	dec := json.NewDecoder(bytes.NewReader(data[v.Start:v.End]))
	dec.UseNumber() // a number too large for a float64 is still JSON
	if err := dec.Decode(&want); err != nil || dec.More() {
		t.Fatalf("value of kind %c spans %q: %v", v.Kind, data[v.Start:v.End], err)
	}
	switch v.Kind {
	case String:
		if want != v.Str {
			t.Fatalf("string at %d = %q, its bytes decode to %q", v.Start, v.Str, want)
		}
	case Object:
		if len(v.Keys) != len(v.Vals) {
			t.Fatalf("object at %d: %d keys, %d values", v.Start, len(v.Keys), len(v.Vals))
		}
	}
	for _, c := range append(append([]*Value(nil), v.Vals...), v.Elems...) {
		check(t, data, c)
	}
}
