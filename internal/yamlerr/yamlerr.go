// Package yamlerr turns gopkg.in/yaml.v3 errors into pin's error form,
// "file:line: message", without Go type names.
package yamlerr

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/wellcomecollection/pin/internal/suggest"
)

var (
	lineMsg      = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type (\S+)$`)
	cannotDecode = regexp.MustCompile(`^cannot unmarshal (\S+) (.*) into \S+$`)
)

// Format rewrites err, returned by yaml.v3 for the file at path.
func Format(path string, err error) error { return FormatData(path, nil, err) }

// FormatData is Format for an error from decoding data. yaml.v3 leaves the
// line out of some errors (a character YAML does not allow, a stream that
// ends inside a value); FormatData finds it in data: the line of the first
// such character, else the last line holding anything.
func FormatData(path string, data []byte, err error) error {
	return FormatDataFor(path, data, err, nil)
}

// FormatDataFor is FormatData for an error from decoding data into target:
// an unknown field gets a "did you mean" naming the closest field target's
// type (or a type it holds) accepts there.
func FormatDataFor(path string, data []byte, err error, target any) error {
	var fields map[string][]string
	if target != nil {
		fields = map[string][]string{}
		collectFields(reflect.TypeOf(target), fields)
	}
	if errors.Is(err, io.EOF) {
		// The decoder's answer to a file holding no document at all.
		return fmt.Errorf("%s:1: the file is empty", path)
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var msgs []string
		for _, e := range te.Errors {
			msgs = append(msgs, formatOne(path, data, e, fields))
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	return errors.New(formatOne(path, data, strings.TrimPrefix(err.Error(), "yaml: "), fields))
}

// collectFields records, by Go type name, the yaml keys of t and of every
// struct type t holds.
func collectFields(t reflect.Type, out map[string][]string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	if _, done := out[t.String()]; done {
		return
	}
	out[t.String()] = nil
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[t.String()] = append(out[t.String()], name)
		collectFields(f.Type, out)
	}
}

func formatOne(path string, data []byte, msg string, fields map[string][]string) string {
	// A value quoted in the message may span lines; an error is one line.
	msg = strings.ReplaceAll(msg, "\n", `\n`)
	m := lineMsg.FindStringSubmatch(msg)
	if m == nil {
		if data == nil {
			return fmt.Sprintf("%s: %s", path, msg)
		}
		return fmt.Sprintf("%s:%d: %s", path, lineOf(data), msg)
	}
	text := m[2]
	if f := unknownField.FindStringSubmatch(text); f != nil {
		text = fmt.Sprintf("unknown field %q", f[1])
		if hint := suggest.Hint(f[1], "", fields[f[2]]); hint != "" {
			text += ": " + hint
		}
	} else if c := cannotDecode.FindStringSubmatch(text); c != nil {
		text = fmt.Sprintf("%s %s has the wrong type", strings.TrimPrefix(c[1], "!!"), c[2])
	}
	return fmt.Sprintf("%s:%s: %s", path, m[1], text)
}

// lineOf is the line yaml.v3 most likely stopped at when it did not say:
// that of the first character YAML does not allow in a stream, or else
// the last line that is not blank.
func lineOf(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 || r < 0x20 && r != '\t' && r != '\n' && r != '\r' ||
			r == 0x7f || r >= 0x80 && r <= 0x9f && r != 0x85 || r == 0xfffe || r == 0xffff {
			return 1 + bytes.Count(data[:i], []byte("\n"))
		}
		i += size
	}
	return 1 + bytes.Count(bytes.TrimRight(data, " \t\r\n"), []byte("\n"))
}

// Line returns the line of the deepest key of a key path found under node (a
// document or a mapping): Line(doc, "registryMap", "docker.io") is the line
// of that entry, or of registryMap when the entry is missing, or of the
// mapping when registryMap is; 1 for an empty document. Errors about a
// field name the line it is on.
func Line(node *yaml.Node, keys ...string) int {
	if node == nil {
		return 1
	}
	if node.Kind == yaml.DocumentNode {
		if len(node.Content) == 0 {
			return 1
		}
		node = node.Content[0]
	}
	line := node.Line
	for _, k := range keys {
		if node == nil || node.Kind != yaml.MappingNode {
			break
		}
		found := false
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == k {
				line = node.Content[i].Line
				node = node.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	return line
}
