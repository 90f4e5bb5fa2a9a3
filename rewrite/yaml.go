package rewrite

import "errors"

// ScanYAML finds references in YAML (compose, Kubernetes, Helm values).
// Not implemented yet: it lands with its golden tests.
func ScanYAML(path string, data []byte, m Matcher) (*Result, error) {
	return nil, &ParseError{File: path, Msg: errors.New("this file format is not supported yet").Error()}
}
