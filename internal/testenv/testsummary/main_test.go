package main

import (
	"bytes"
	"strings"
	"testing"
)

const stream = `{"Action":"start","Package":"example.com/a"}
{"Action":"run","Package":"example.com/a","Test":"TestOK"}
{"Action":"output","Package":"example.com/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"example.com/a","Test":"TestOK","Output":"    a_test.go:9: chatter that must not be shown\n"}
{"Action":"pass","Package":"example.com/a","Test":"TestOK","Elapsed":1.5}
{"Action":"output","Package":"example.com/a","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"output","Package":"example.com/a","Test":"TestBad","Output":"    a_test.go:12: got 1, want 2\n"}
{"Action":"output","Package":"example.com/a","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"example.com/a","Test":"TestBad","Elapsed":0}
{"Action":"output","Package":"example.com/a","Test":"TestTool","Output":"=== RUN   TestTool\n"}
{"Action":"output","Package":"example.com/a","Test":"TestTool","Output":"    a_test.go:20: cosign not installed: run make test, which installs it\n"}
{"Action":"output","Package":"example.com/a","Test":"TestTool","Output":"--- SKIP: TestTool (0.00s)\n"}
{"Action":"skip","Package":"example.com/a","Test":"TestTool","Elapsed":0}
{"Action":"fail","Package":"example.com/a","Elapsed":2}
{"Action":"build-output","ImportPath":"example.com/b","Output":"b.go:3:1: syntax error\n"}
{"Action":"skip","Package":"example.com/c","Elapsed":0}
go vet chatter
`

func TestSummary(t *testing.T) {
	var out bytes.Buffer
	s := &summary{out: &out, buf: map[string][]string{}}
	if err := s.read(strings.NewReader(stream)); err != nil {
		t.Fatal(err)
	}
	if s.print() {
		t.Error("print reported success for a run with a failure")
	}
	got := out.String()
	for _, want := range []string{
		"--- FAIL: example.com/a TestBad",
		"a_test.go:12: got 1, want 2",
		"b.go:3:1: syntax error",
		"go vet chatter",
		"packages: 0 ok, 1 failed, 1 without tests",
		"tests:    1 passed, 1 failed, 1 skipped",
		"example.com/a TestTool: a_test.go:20: cosign not installed",
		"1.50s example.com/a TestOK",
		"RESULT: FAIL",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "chatter that must not be shown") {
		t.Errorf("output of a passing test was printed:\n%s", got)
	}
}

func TestEmptyInputFails(t *testing.T) {
	var out bytes.Buffer
	s := &summary{out: &out, buf: map[string][]string{}}
	if err := s.read(strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	if s.print() {
		t.Errorf("no packages reported as a pass:\n%s", out.String())
	}
}

func TestAllPass(t *testing.T) {
	var out bytes.Buffer
	s := &summary{out: &out, buf: map[string][]string{}}
	in := `{"Action":"pass","Package":"example.com/a","Test":"TestOK"}
{"Action":"pass","Package":"example.com/a","Elapsed":0.1}
`
	if err := s.read(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if !s.print() || !strings.Contains(out.String(), "RESULT: PASS") {
		t.Errorf("passing run not reported as PASS:\n%s", out.String())
	}
}
