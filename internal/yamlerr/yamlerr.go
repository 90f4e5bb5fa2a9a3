// Package yamlerr turns gopkg.in/yaml.v3 errors into pin's error form,
// "file:line: message", without Go type names.
package yamlerr

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	lineMsg      = regexp.MustCompile(`^line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	cannotDecode = regexp.MustCompile(`^cannot unmarshal (\S+) (.*) into \S+$`)
)

// Format rewrites err, returned by yaml.v3 for the file at path.
func Format(path string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var msgs []string
		for _, e := range te.Errors {
			msgs = append(msgs, formatOne(path, e))
		}
		return errors.New(strings.Join(msgs, "\n"))
	}
	return errors.New(formatOne(path, strings.TrimPrefix(err.Error(), "yaml: ")))
}

func formatOne(path, msg string) string {
	m := lineMsg.FindStringSubmatch(msg)
	if m == nil {
		return fmt.Sprintf("%s: %s", path, msg)
	}
	text := m[2]
	if f := unknownField.FindStringSubmatch(text); f != nil {
		text = fmt.Sprintf("unknown field %q", f[1])
	} else if c := cannotDecode.FindStringSubmatch(text); c != nil {
		text = fmt.Sprintf("%s %s has the wrong type", strings.TrimPrefix(c[1], "!!"), c[2])
	}
	return fmt.Sprintf("%s:%s: %s", path, m[1], text)
}
