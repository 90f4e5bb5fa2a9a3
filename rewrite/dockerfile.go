package rewrite

import "errors"

// ScanDockerfile finds references in Dockerfiles.
// Not implemented yet: it lands with its golden tests.
func ScanDockerfile(path string, data []byte, m Matcher) (*Result, error) {
	return nil, &ParseError{File: path, Msg: errors.New("this file format is not supported yet").Error()}
}
