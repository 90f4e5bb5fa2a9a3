package rewrite

import "errors"

// ScanJSON finds references in JSON (.json, .tf.json, ECS task definitions).
// Not implemented yet: it lands with its golden tests.
func ScanJSON(path string, data []byte, m Matcher) (*Result, error) {
	return nil, &ParseError{File: path, Msg: errors.New("this file format is not supported yet").Error()}
}
