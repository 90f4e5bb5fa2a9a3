package rewrite

import "errors"

// ScanHCL finds references in Terraform (.tf, .tfvars).
// Not implemented yet: it lands with its golden tests.
func ScanHCL(path string, data []byte, m Matcher) (*Result, error) {
	return nil, &ParseError{File: path, Msg: errors.New("this file format is not supported yet").Error()}
}
