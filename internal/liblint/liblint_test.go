package liblint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// commandDirs are the module's programs, which may word errors in their own
// flags; every other package is a library.
var commandDirs = map[string]bool{"cmd": true, "bench": true, "examples": true, "scripts": true}

// cliFlag matches a long command-line flag (--to, --allow-downgrade) at the
// start of a word.
var cliFlag = regexp.MustCompile("(^|[\\s(`'\"=,])--[a-z][a-z0-9-]*")

// runCommand matches advice to run a pin command ("run pin update",
// "with pin root add-key", "(pin release next ...)", "... | pin audit -"); a mention of the tool by
// name ("an input pin audit reads") is not advice.
var runCommand = regexp.MustCompile("(\\b(run|with|use)|[(|]) ?`?pin (init|update|check|audit|mirror|root|channel|release|keys|key|resolve|demo)\\b")

// TestLibraryErrorsNameNoFlags: library packages state what is wrong and name
// no command-line flag, nor tell the user to run a pin command; cmd/pin/hints.go
// words the remedy as a flag or a command. Checked:
// the string literals passed to error constructors (errors.New, fmt.Errorf
// and every function whose name says Err), in composite literals of *Error
// types, and in Error and Problem methods.
func TestLibraryErrorsNameNoFlags(t *testing.T) {
	root := moduleRoot(t)
	var found []string
	err := walkLibrary(root, func(rel string, fset *token.FileSet, f *ast.File) {
		for _, lit := range errorStrings(f) {
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				continue
			}
			m := cliFlag.FindString(s)
			if m == "" {
				m = runCommand.FindString(s)
			}
			if m != "" {
				pos := fset.Position(lit.Pos())
				found = append(found, rel+":"+strconv.Itoa(pos.Line)+": "+strings.TrimSpace(m)+" in "+strconv.Quote(s))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Errorf("library error strings name command-line flags or commands (return a typed or sentinel error and word the remedy in cmd/pin/hints.go):\n%s", strings.Join(found, "\n"))
	}
}

// TestErrorStringsFindsFlags: the scan sees each kind of place an error's
// words come from, so a pass above means something.
func TestErrorStringsFindsFlags(t *testing.T) {
	src := `package p
import ("errors"; "fmt")
type BadError struct{ Msg string }
func (e *BadError) Error() string { return "pass --one" }
func (e *BadError) Problem() string { return "pass --two" }
func a() error { return errors.New("pass --three") }
func b() error { return fmt.Errorf("x: %w (pass --four)", a()) }
func c() error { return usageErr(fieldErr("--five is wrong")) }
func d() error { return &BadError{Msg: "pass --six"} }
func e() string { return "--not-an-error" }
func g() error { return errors.New("x (run pin update)") }
func h() error { return errors.New("(pin root sign) y") }
func i() error { return errors.New("not an input pin audit reads") }
func usageErr(err error) error { return err }
func fieldErr(s string) error { return errors.New(s) }
`
	f, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, lit := range errorStrings(f) {
		s, _ := strconv.Unquote(lit.Value)
		if m := cliFlag.FindString(s); m != "" {
			got = append(got, strings.TrimSpace(m))
		}
		if m := runCommand.FindString(s); m != "" {
			got = append(got, strings.TrimSpace(m))
		}
	}
	want := "--one --two --three --four --five --six run pin update (pin root"
	if strings.Join(got, " ") != want {
		t.Fatalf("flags found = %q, want %q", strings.Join(got, " "), want)
	}
}

// errorStrings returns the string literals of f that become error text.
func errorStrings(f *ast.File) []*ast.BasicLit {
	var out []*ast.BasicLit
	collect := func(n ast.Node) {
		ast.Inspect(n, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				out = append(out, lit)
			}
			return true
		})
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if n.Recv != nil && (n.Name.Name == "Error" || n.Name.Name == "Problem") && n.Body != nil {
				collect(n.Body)
				return false
			}
		case *ast.CallExpr:
			if isErrorConstructor(n.Fun) {
				for _, a := range n.Args {
					collect(a)
				}
				return false
			}
		case *ast.CompositeLit:
			if name := typeName(n.Type); strings.HasSuffix(name, "Error") {
				collect(n)
				return false
			}
		}
		return true
	})
	return out
}

// isErrorConstructor reports calls that make an error from text:
// errors.New, and any function or method whose name holds "err" (Errorf,
// exitcode.UsageError, errAt, fieldErr, refErrorf).
func isErrorConstructor(fun ast.Expr) bool {
	switch f := fun.(type) {
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok && x.Name == "errors" && f.Sel.Name == "New" {
			return true
		}
		return strings.Contains(strings.ToLower(f.Sel.Name), "err")
	case *ast.Ident:
		return strings.Contains(strings.ToLower(f.Name), "err")
	}
	return false
}

func typeName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.SelectorExpr:
		return t.Sel.Name
	}
	return ""
}

// moduleRoot is the directory of go.mod above this package.
func moduleRoot(t *testing.T) string {
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return dir
}

// notUserText lists the library string literals that name a flag or a pin
// command but never reach a user: arguments of other programs and the syntax
// of files pin parses. Keyed by file and the literal's text.
var notUserText = map[string]string{
	"signing/keyless/token.go\x00--audience": "an argument of buildkite-agent oidc request-token",
	"rewrite/dockerfile.go\x00--from=":       "Dockerfile syntax that the rewriter parses (COPY --from=)",
	"rewrite/dockerfile.go\x00--mount=":      "Dockerfile syntax that the rewriter parses (RUN --mount=)",
}

// TestLibraryTextNamesNoFlags: no text of a library package, error or not
// (notes, findings, hints, warnings), names a command-line flag or advises
// running a pin command; the library returns facts (a Kind and fields) and
// cmd/pin words them (cmd/pin/notes.go, cmd/pin/hints.go). Every string
// literal of non-test library code is checked except import paths and struct
// tags; notUserText lists the few that are not user text.
func TestLibraryTextNamesNoFlags(t *testing.T) {
	root := moduleRoot(t)
	var found []string
	seen := map[string]bool{}
	err := walkLibrary(root, func(rel string, fset *token.FileSet, f *ast.File) {
		for _, lit := range allStrings(f) {
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				continue
			}
			m := cliWording(s)
			if m == "" {
				continue
			}
			key := filepath.ToSlash(rel) + "\x00" + s
			if _, ok := notUserText[key]; ok {
				seen[key] = true
				continue
			}
			pos := fset.Position(lit.Pos())
			found = append(found, rel+":"+strconv.Itoa(pos.Line)+": "+m+" in "+strconv.Quote(s))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Errorf("library text names command-line flags or commands (return the facts typed and word them in cmd/pin):\n%s", strings.Join(found, "\n"))
	}
	for key := range notUserText {
		if !seen[key] {
			t.Errorf("notUserText entry %q matches no literal any more: remove it", strings.ReplaceAll(key, "\x00", ": "))
		}
	}
}

// TestAllStringsFindsFlags: the whole-file scan sees notes, hints and
// findings in any position, and skips imports and struct tags.
func TestAllStringsFindsFlags(t *testing.T) {
	src := `package p
import "example.com/--not-text"
type Note struct{ Hint string ` + "`json:\"--tag\"`" + ` }
var notes = []string{"allowed by --one"}
func a() Note { return Note{Hint: "ask for releases made with --two"} }
func b() string { return "x: run ` + "`pin init --three <fp>`" + `" }
func c(n []string) []string { return append(n, "y: run pin update") }
func d() string { const s = "signs a new root (pin root)"; return s }
func e() string { return "an input pin audit reads" }
func g() string { return "the rendered output (helm template ... | pin audit -)" }
`
	f, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, lit := range allStrings(f) {
		s, _ := strconv.Unquote(lit.Value)
		if m := cliWording(s); m != "" {
			got = append(got, m)
		}
	}
	want := "--one --two --three run pin update (pin root | pin audit"
	if strings.Join(got, " ") != want {
		t.Fatalf("wording found = %q, want %q", strings.Join(got, " "), want)
	}
}

// cliWording returns the first flag or command advice in s, or "".
func cliWording(s string) string {
	if m := cliFlag.FindString(s); m != "" {
		return strings.TrimSpace(strings.TrimLeft(m, "(`'\"=,"))
	}
	return strings.TrimSpace(runCommand.FindString(s))
}

// allStrings returns every string literal of f but import paths and struct
// tags.
func allStrings(f *ast.File) []*ast.BasicLit {
	skip := map[*ast.BasicLit]bool{}
	for _, imp := range f.Imports {
		skip[imp.Path] = true
	}
	var out []*ast.BasicLit
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Field:
			if n.Tag != nil {
				skip[n.Tag] = true
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING && !skip[n] {
				out = append(out, n)
			}
		}
		return true
	})
	return out
}

// walkLibrary parses each non-test Go file of the module's library packages
// (everything outside commandDirs and testdata) and calls fn with its path
// relative to root.
func walkLibrary(root string, fn func(rel string, fset *token.FileSet, f *ast.File)) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if commandDirs[rel] || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		fn(rel, fset, f)
		return nil
	})
}
