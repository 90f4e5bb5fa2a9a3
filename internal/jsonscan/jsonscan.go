// Package jsonscan parses JSON into a tree that keeps where each value is
// written: pin audit reports the line of a reference in Terraform state or
// kubectl output, and rewrite splices a new reference between a string's
// quotes without re-printing the file. encoding/json validates the input
// first (so the two agree on what JSON is); a small byte scanner then builds
// the tree, which is all it has to do on valid input.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Kinds of Value, the byte each starts with where one does.
const (
	Object byte = '{'
	Array  byte = '['
	String byte = 's'
	Number byte = 'n'
	Bool   byte = 'b'
	Null   byte = 'z'
)

// Value is one parsed JSON value and where it is written.
type Value struct {
	Kind  byte     // Object, Array, String, Number, Bool or Null
	Keys  []string // an object's keys (decoded), in order, repeats kept
	Vals  []*Value // an object's values, parallel to Keys
	Elems []*Value // an array's elements
	// Str is a string's decoded value (escapes resolved, invalid UTF-8 as
	// U+FFFD, as encoding/json decodes it), or the literal of a number.
	Str string
	// Start and End are byte offsets into the parsed data: data[Start:End]
	// is the value as written, a string's quotes included.
	Start, End int
}

// Get returns the value of key in an object (the first, if repeated), or nil.
func (v *Value) Get(key string) *Value {
	if v == nil || v.Kind != Object {
		return nil
	}
	for i, k := range v.Keys {
		if k == key {
			return v.Vals[i]
		}
	}
	return nil
}

// StringOf returns the string value of key in an object, or "".
func (v *Value) StringOf(key string) string {
	if s := v.Get(key); s != nil && s.Kind == String {
		return s.Str
	}
	return ""
}

// SyntaxError is input that is not JSON, or nested deeper than allowed.
type SyntaxError struct {
	Line int   // 1-based line of the offending byte
	Err  error // what encoding/json says, or the nesting limit
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: invalid JSON: %v", e.Line, e.Err) }
func (e *SyntaxError) Unwrap() error { return e.Err }

var bom = []byte("\xef\xbb\xbf")

// Parse parses one JSON document; a leading UTF-8 byte order mark is
// skipped, and offsets count from the start of data all the same. maxDepth
// bounds the nesting: a value more than maxDepth arrays or objects deep is
// refused (0: only encoding/json's own limit).
// Invalid JSON is a *SyntaxError naming the line.
func Parse(data []byte, maxDepth int) (*Value, error) {
	start := 0
	if bytes.HasPrefix(data, bom) {
		start = len(bom)
	}
	if !json.Valid(data[start:]) {
		return nil, syntaxError(data, start)
	}
	p := &parser{data: data, maxDepth: maxDepth}
	v, err := p.value(p.skip(start), 0)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// syntaxError explains why data[start:] is not JSON, with the line.
func syntaxError(data []byte, start int) *SyntaxError {
	var v any
	err := json.Unmarshal(data[start:], &v)
	if err == nil {
		err = errors.New("not JSON")
	}
	off := start
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = start + int(se.Offset)
		if off > len(data) {
			off = len(data)
		}
		if off > start && off == len(data) {
			off-- // "unexpected end": the last line, not one past it
		}
	}
	return &SyntaxError{Line: lineOf(data, max(off, 0)), Err: err}
}

func lineOf(data []byte, off int) int { return 1 + bytes.Count(data[:off], []byte("\n")) }

type parser struct {
	data     []byte
	maxDepth int
}

// skip returns the offset of the first byte at or after i that is not
// whitespace.
func (p *parser) skip(i int) int {
	for i < len(p.data) {
		switch p.data[i] {
		case ' ', '\t', '\r', '\n':
			i++
			continue
		}
		break
	}
	return i
}

// value parses the value that starts at i. The input is valid JSON, so
// only where things end has to be found.
func (p *parser) value(i, depth int) (*Value, error) {
	d := p.data
	if p.maxDepth > 0 && depth > p.maxDepth {
		return nil, &SyntaxError{Line: lineOf(d, i), Err: fmt.Errorf("nested deeper than %d levels", p.maxDepth)}
	}
	v := &Value{Start: i}
	switch c := d[i]; c {
	case '{', '[':
		v.Kind = c
		close := byte('}')
		if c == '[' {
			close = ']'
		}
		i = p.skip(i + 1)
		for d[i] != close {
			if c == '{' {
				k, err := p.value(i, depth+1)
				if err != nil {
					return nil, err
				}
				v.Keys = append(v.Keys, k.Str)
				i = p.skip(p.skip(k.End) + 1) // past the colon
			}
			e, err := p.value(i, depth+1)
			if err != nil {
				return nil, err
			}
			if c == '{' {
				v.Vals = append(v.Vals, e)
			} else {
				v.Elems = append(v.Elems, e)
			}
			i = p.skip(e.End)
			if d[i] == ',' {
				i = p.skip(i + 1)
			}
		}
		v.End = i + 1
	case '"':
		end := stringEnd(d, i)
		v.Kind, v.End = String, end+1
		raw := d[i+1 : end]
		if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
			v.Str = string(raw)
		} else if err := json.Unmarshal(d[i:end+1], &v.Str); err != nil {
			return nil, &SyntaxError{Line: lineOf(d, i), Err: err}
		}
	default:
		j := i
		for j < len(d) && !delimiter(d[j]) {
			j++
		}
		v.End = j
		switch c {
		case 't', 'f':
			v.Kind = Bool
		case 'n':
			v.Kind = Null
		default:
			v.Kind, v.Str = Number, string(d[i:j])
		}
	}
	return v, nil
}

// stringEnd returns the offset of the closing quote of the string whose
// opening quote is at open.
func stringEnd(d []byte, open int) int {
	for j := open + 1; j < len(d); j++ {
		switch d[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return len(d) - 1
}

func delimiter(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\r', '\n':
		return true
	}
	return false
}
