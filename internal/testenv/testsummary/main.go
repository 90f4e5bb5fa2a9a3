// Command testsummary reads `go test -json` on stdin and prints what a person
// needs from a long test run: each package's result as it finishes, the full
// output of every failing test, and at the end a summary of passes, failures
// and skips (with their reasons) and the slowest tests. It exits 1 when any
// package or test failed, or when the input had no test events.
//
//	go test -json ./... | go run ./internal/testenv/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json) output.
type event struct {
	Time       time.Time
	Action     string
	Package    string
	ImportPath string
	Test       string
	Elapsed    float64
	Output     string
}

type result struct {
	pkg, test string
	elapsed   float64
	reason    string
}

type summary struct {
	out       io.Writer
	buf       map[string][]string // output so far, by package + "\x00" + test
	pkgOK     int
	pkgFail   []string
	pkgNoTest int
	passed    []result
	failed    []result
	skipped   []result
}

func main() {
	s := &summary{out: os.Stdout, buf: map[string][]string{}}
	if err := s.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(1)
	}
	if !s.print() {
		os.Exit(1)
	}
}

func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event: go vet or build chatter; show it as is.
			fmt.Fprintln(s.out, string(line))
			continue
		}
		s.handle(e)
	}
	return sc.Err()
}

func (s *summary) handle(e event) {
	key := e.Package + "\x00" + e.Test
	switch e.Action {
	case "build-output":
		fmt.Fprint(s.out, e.Output)
	case "output":
		s.buf[key] = append(s.buf[key], e.Output)
	case "pass", "fail", "skip":
		out := s.buf[key]
		delete(s.buf, key)
		r := result{pkg: e.Package, test: e.Test, elapsed: e.Elapsed}
		if e.Test == "" {
			s.packageDone(e, out)
			return
		}
		switch e.Action {
		case "pass":
			s.passed = append(s.passed, r)
		case "fail":
			s.failed = append(s.failed, r)
			fmt.Fprintf(s.out, "--- FAIL: %s %s (%.2fs)\n", e.Package, e.Test, e.Elapsed)
			for _, l := range out {
				if !strings.HasPrefix(l, "=== ") && !strings.HasPrefix(strings.TrimSpace(l), "--- ") {
					fmt.Fprint(s.out, l)
				}
			}
		case "skip":
			r.reason = skipReason(out)
			s.skipped = append(s.skipped, r)
		}
	}
}

func (s *summary) packageDone(e event, out []string) {
	switch {
	case e.Action == "fail":
		s.pkgFail = append(s.pkgFail, e.Package)
		// Package-level output holds panics, build errors and timeouts.
		for _, l := range out {
			if !strings.HasPrefix(l, "=== ") && !strings.HasPrefix(l, "FAIL") && !strings.HasPrefix(l, "--- ") {
				fmt.Fprint(s.out, l)
			}
		}
		fmt.Fprintf(s.out, "FAIL\t%s\t%.2fs\n", e.Package, e.Elapsed)
	case e.Action == "skip":
		s.pkgNoTest++
		fmt.Fprintf(s.out, "?   \t%s\t[no test files]\n", e.Package)
	default:
		s.pkgOK++
		fmt.Fprintf(s.out, "ok  \t%s\t%.2fs\n", e.Package, e.Elapsed)
	}
}

// skipReason finds the message t.Skip printed: the last line that is not
// go test's own framing.
func skipReason(out []string) string {
	for i := len(out) - 1; i >= 0; i-- {
		l := strings.TrimSpace(out[i])
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		return l
	}
	return "(no reason given)"
}

// print writes the closing summary and reports whether everything passed.
func (s *summary) print() bool {
	w := s.out
	fmt.Fprintln(w)
	fmt.Fprintln(w, "==================== test summary ====================")
	fmt.Fprintf(w, "packages: %d ok, %d failed, %d without tests\n", s.pkgOK, len(s.pkgFail), s.pkgNoTest)
	fmt.Fprintf(w, "tests:    %d passed, %d failed, %d skipped\n", len(s.passed), len(s.failed), len(s.skipped))
	if len(s.skipped) > 0 {
		fmt.Fprintln(w, "skipped:")
		for _, r := range s.skipped {
			fmt.Fprintf(w, "  %s %s: %s\n", short(r.pkg), r.test, r.reason)
		}
	}
	all := append(append([]result{}, s.passed...), s.failed...)
	sort.Slice(all, func(i, j int) bool { return all[i].elapsed > all[j].elapsed })
	var slow []result
	for _, r := range all {
		if len(slow) == 5 || r.elapsed < 1 {
			break
		}
		if !strings.Contains(r.test, "/") {
			slow = append(slow, r)
		}
	}
	if len(slow) > 0 {
		fmt.Fprintln(w, "slowest:")
		for _, r := range slow {
			fmt.Fprintf(w, "  %6.2fs %s %s\n", r.elapsed, short(r.pkg), r.test)
		}
	}
	if len(s.failed) > 0 {
		fmt.Fprintln(w, "FAILED tests:")
		for _, r := range s.failed {
			fmt.Fprintf(w, "  %s %s\n", short(r.pkg), r.test)
		}
	}
	if len(s.pkgFail) > 0 {
		fmt.Fprintln(w, "FAILED packages:")
		for _, p := range s.pkgFail {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	ok := len(s.failed) == 0 && len(s.pkgFail) == 0 && s.pkgOK+s.pkgNoTest > 0
	if ok {
		fmt.Fprintln(w, "RESULT: PASS")
	} else {
		fmt.Fprintln(w, "RESULT: FAIL")
	}
	fmt.Fprintln(w, "======================================================")
	return ok
}

// short drops the module path from a package's import path.
func short(pkg string) string {
	return strings.TrimPrefix(strings.TrimPrefix(pkg, "github.com/wellcomecollection/pin"), "/")
}
