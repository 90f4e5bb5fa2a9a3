// Package liblint holds checks on the source of pin's library packages that
// the compiler cannot make: its tests parse the module's non-test code. It
// has no API; see liblint_test.go.
package liblint
