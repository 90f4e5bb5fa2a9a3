package rewrite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

const (
	hintJSONEscapes = "write the reference without escape sequences (no \\/ or \\u) so pin can rewrite it in place"
	hintJSONEncoded = "keep the containers as JSON values (a plain list in the file, or jsonencode() in Terraform) instead of a JSON document encoded in a string"
)

// ScanJSON finds references in JSON (.json, .tf.json, ECS task
// definitions). The file is validated with encoding/json first; a small
// scanner then walks its tokens and reports every string value (never an
// object key) that is a whole managed reference, with the span between its
// quotes. A leading UTF-8 byte order mark is skipped.
//
// Values pin sees but will not rewrite become Warnings: strings written with
// escapes (\/, \u0062), Terraform interpolations in .tf.json ("${var.x}/
// bags_api:latest"), other strings that mention a managed repository, and
// JSON documents encoded inside a string (container_definitions) that hold
// one. JSON has no comments, so there are no markers. Invalid JSON is a
// *ParseError naming the file and line.
func ScanJSON(path string, data []byte, m Matcher) (*Result, error) {
	start := 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		start = 3
	}
	if !json.Valid(data[start:]) {
		return nil, jsonParseError(path, data, start)
	}
	s := &jsonScanner{data: data, lines: &lineIndex{data: data}, m: m, res: &Result{}}
	s.scan(start)
	sort.SliceStable(s.res.Refs, func(i, j int) bool { return s.res.Refs[i].Start < s.res.Refs[j].Start })
	sort.SliceStable(s.res.Warnings, func(i, j int) bool { return s.res.Warnings[i].Line < s.res.Warnings[j].Line })
	return s.res, nil
}

// jsonParseError explains why data[start:] is not JSON, with the line.
func jsonParseError(path string, data []byte, start int) *ParseError {
	var v any
	err := json.Unmarshal(data[start:], &v)
	pe := &ParseError{File: path, Msg: "invalid JSON"}
	if err == nil {
		return pe
	}
	pe.Msg = err.Error()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off := start + int(se.Offset)
		if off > len(data) {
			off = len(data)
		}
		if off > start && off == len(data) {
			off-- // "unexpected end": the last line, not one past it
		}
		pe.Line, _ = lineCol(data, max(off, 0))
		pe.Msg = "invalid JSON: " + se.Error()
	}
	return pe
}

// jsonScanner walks the tokens of valid JSON.
type jsonScanner struct {
	data  []byte
	lines *lineIndex
	m     Matcher
	res   *Result
}

// scan walks data from start. The input is valid JSON, so the scanner only
// has to tell keys from values and find where each string ends.
func (s *jsonScanner) scan(start int) {
	// inObject[i] is whether the i-th open container is an object;
	// expectKey is whether the next string in an object is a key.
	// key is the last key read; listKey[i] is, for an open array, the key
	// it is the value of, so that the items of "images": [...] are at an
	// image's place too.
	var inObject []bool
	var listKey []string
	expectKey := false
	key := ""
	d := s.data
	for i := start; i < len(d); i++ {
		switch d[i] {
		case '{':
			inObject = append(inObject, true)
			listKey = append(listKey, "")
			expectKey = true
		case '[':
			lk := key
			if n := len(inObject); n > 0 && !inObject[n-1] {
				lk = listKey[n-1]
			}
			inObject = append(inObject, false)
			listKey = append(listKey, lk)
			expectKey = false
		case '}', ']':
			inObject = inObject[:len(inObject)-1]
			listKey = listKey[:len(listKey)-1]
			expectKey = false
		case ',':
			expectKey = len(inObject) > 0 && inObject[len(inObject)-1]
		case ':':
			expectKey = false
		case '"':
			end := jsonStringEnd(d, i)
			switch n := len(inObject); {
			case expectKey:
				key = string(d[i+1 : end])
			case n > 0 && !inObject[n-1]:
				s.value(i, end, ImageKey(listKey[n-1]))
			default:
				s.value(i, end, n > 0 && ImageKey(key))
			}
			i = end
		}
	}
}

// jsonStringEnd returns the offset of the closing quote of the string
// whose opening quote is at open.
func jsonStringEnd(d []byte, open int) int {
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

// value handles the string value whose quotes are at open and close.
func (s *jsonScanner) value(open, close int, imagePlace bool) {
	raw := string(s.data[open+1 : close])
	v := raw
	if strings.IndexByte(raw, '\\') >= 0 || !utf8.ValidString(raw) {
		if err := json.Unmarshal(s.data[open:close+1], &v); err != nil {
			return
		}
	}
	line, col := s.lines.lineCol(open + 1)
	comp, ok := matchAt(s.m, v, imagePlace)
	switch {
	case ok && raw != v:
		s.warn(line, comp, raw, "written with escapes", hintJSONEscapes)
	case ok:
		s.res.Refs = append(s.res.Refs, Ref{Start: open + 1, End: close, Line: line, Column: col,
			Value: v, Component: comp, Field: FieldRef})
	case jsonDocument(v):
		s.encoded(line, v)
	default:
		comp, ok := s.m.Mentions(v)
		switch {
		case !ok:
		case strings.Contains(v, "${"):
			s.warn(line, comp, raw, "managed repository inside an interpolation", hintHCLInterpolation)
		default:
			s.warn(line, comp, raw, "mentions a managed repository but is not a whole image reference", hintNotWhole)
		}
	}
}

// jsonDocument reports whether v is itself a JSON object or array.
func jsonDocument(v string) bool {
	t := strings.TrimSpace(v)
	return (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t))
}

// encoded warns once for each managed repository inside a JSON document
// that is encoded in a string on line.
func (s *jsonScanner) encoded(line int, v string) {
	inner := &jsonScanner{data: []byte(v), m: s.m, res: &Result{}}
	inner.lines = &lineIndex{data: inner.data}
	inner.scan(0)
	seen := map[string]bool{}
	var comps []string
	for _, r := range inner.res.Refs {
		comps = append(comps, r.Component)
	}
	for _, w := range inner.res.Warnings {
		comps = append(comps, w.Component)
	}
	for _, c := range comps {
		if seen[c] {
			continue
		}
		seen[c] = true
		s.warn(line, c, "", fmt.Sprintf("managed repository %s inside a JSON document encoded in a string", c), hintJSONEncoded)
	}
}

func (s *jsonScanner) warn(line int, comp, value, msg, hint string) {
	s.res.Warnings = append(s.res.Warnings, Warning{Line: line, Component: comp, Value: value, Message: msg, Hint: hint})
}
