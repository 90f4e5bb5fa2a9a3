package rewrite

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/wellcomecollection/pin/internal/jsonscan"
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
	root, err := jsonscan.Parse(data, 0)
	if err != nil {
		return nil, jsonParseError(path, err)
	}
	s := &jsonScanner{data: data, lines: &lineIndex{data: data}, m: m, res: &Result{}}
	s.walk(root, false)
	sort.SliceStable(s.res.Refs, func(i, j int) bool { return s.res.Refs[i].Start < s.res.Refs[j].Start })
	sort.SliceStable(s.res.Warnings, func(i, j int) bool { return s.res.Warnings[i].Line < s.res.Warnings[j].Line })
	return s.res, nil
}

// jsonParseError is the *ParseError for JSON that jsonscan refused.
func jsonParseError(path string, err error) *ParseError {
	pe := &ParseError{File: path, Msg: "invalid JSON"}
	var se *jsonscan.SyntaxError
	if errors.As(err, &se) {
		pe.Line = se.Line
		pe.Msg = "invalid JSON: " + se.Err.Error()
	}
	return pe
}

// jsonScanner finds references among the values of parsed JSON.
type jsonScanner struct {
	data  []byte
	lines *lineIndex
	m     Matcher
	res   *Result
}

// walk visits every string value under v (never an object key). imagePlace
// is whether v stands where an image goes: the value of an image key, or an
// item, at any depth, of an array that is ("images": [...]).
func (s *jsonScanner) walk(v *jsonscan.Value, imagePlace bool) {
	switch v.Kind {
	case jsonscan.Object:
		for i, k := range v.Keys {
			s.walk(v.Vals[i], ImageKey(k))
		}
	case jsonscan.Array:
		for _, e := range v.Elems {
			s.walk(e, imagePlace)
		}
	case jsonscan.String:
		s.value(v, imagePlace)
	}
}

// value handles a string value.
func (s *jsonScanner) value(jv *jsonscan.Value, imagePlace bool) {
	open, close := jv.Start, jv.End-1 // the quotes
	raw, v := string(s.data[open+1:close]), jv.Str
	line, col := s.lines.lineCol(open + 1)
	comp, ok := matchAt(s.m, v, imagePlace)
	switch {
	case ok && raw != v:
		s.warn(line, comp, raw, "written with escapes", hintJSONEscapes)
		markDecoded(s.res, v, FieldRef)
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
	root, err := jsonscan.Parse([]byte(v), 0)
	if err != nil {
		return // jsonDocument checked it is JSON
	}
	inner := &jsonScanner{data: []byte(v), m: s.m, res: &Result{}}
	inner.lines = &lineIndex{data: inner.data}
	inner.walk(root, false)
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
