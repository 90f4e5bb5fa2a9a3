// Package rewrite finds image references in configuration files and splices
// new references in, leaving every other byte exactly as it was. There is one
// file per format (HCL, JSON, YAML, Dockerfile); all share one contract: given
// a file's bytes, Scan returns the managed references with their byte spans,
// and Apply copies the file with only those spans replaced. Nothing is ever
// re-printed from a parse tree.
package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// Matcher decides which strings are managed image references. The consumer
// workflow implements it from a release and the registry map.
type Matcher interface {
	// Match reports whether s, a whole string value, is an image reference
	// whose repository is a component of the release, and names the component.
	Match(s string) (component string, ok bool)
	// Mentions reports whether s contains a managed repository somewhere
	// without being a whole reference (an interpolation, a split value).
	Mentions(s string) (component string, ok bool)
}

// Field is the part of an image reference that a value holds.
type Field string

// Fields a value can hold. Plain references are FieldRef; the others come
// from a trailing marker comment `# pin:<component>:<field>`.
const (
	FieldRef    Field = "ref"    // repo[:tag][@digest]
	FieldRepo   Field = "repo"   // repository only
	FieldTag    Field = "tag"    // tag only
	FieldDigest Field = "digest" // sha256:... only
)

// ParseField validates a marker's field name.
func ParseField(s string) (Field, bool) {
	switch f := Field(s); f {
	case FieldRef, FieldRepo, FieldTag, FieldDigest:
		return f, true
	}
	return "", false
}

// Ref is one managed value found in a file.
type Ref struct {
	Start, End int    // byte span of the value itself (inside any quotes)
	Line       int    // 1-based line of Start
	Column     int    // 1-based byte column of Start
	Value      string // the value as it is now
	Component  string // the release component it belongs to
	Field      Field  // what the value holds
	Marker     bool   // found through a `# pin:` marker comment
	// Image is, for a part of an image split across fields that pin
	// recognised by their keys (Helm's image.registry, .repository, .tag,
	// .digest), the whole reference the fields make; "" otherwise. Field
	// then says which part the span holds: the digest when the chart has a
	// digest field, else the tag (or the repository), which pin does not
	// rewrite: only a digest pins.
	Image string
}

// Warning is a managed repository that pin saw but will not rewrite.
type Warning struct {
	Line      int
	Component string
	Value     string
	Message   string // what is wrong, e.g. "inside an interpolation"
	Hint      string // what to do about it
	// Decoded is set when the value, once its escapes are decoded or its
	// continuation lines joined, is a managed value (of kind Field) that pin
	// cannot splice in place. Such a value runs as written, so `pin check`
	// reports it unless it already is the pinned value: a spelling must
	// never hide a reference from the check.
	Decoded string
	Field   Field
}

// markDecoded records on the last warning of res that it is the managed
// value decoded, of kind f, that pin could not splice in place.
func markDecoded(res *Result, decoded string, f Field) {
	w := &res.Warnings[len(res.Warnings)-1]
	w.Decoded, w.Field = decoded, f
}

// Result is what a scan found in one file.
type Result struct {
	Refs     []Ref
	Warnings []Warning
}

// ParseError is a file that could not be parsed; nothing is rewritten then.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Format is a file format pin can rewrite.
type Format string

// Supported formats.
const (
	FormatHCL        Format = "hcl"        // .tf, .tfvars, .hcl (Terragrunt)
	FormatJSON       Format = "json"       // .json, .tf.json
	FormatYAML       Format = "yaml"       // .yaml, .yml
	FormatDockerfile Format = "dockerfile" // Dockerfile, Dockerfile.*, *.Dockerfile, and Containerfile alike
)

// FormatOf picks the format from a file name; ok is false for files pin does not read.
func FormatOf(path string) (Format, bool) {
	base := filepath.Base(path)
	lower := strings.ToLower(base)
	switch {
	case strings.HasSuffix(lower, ".tf"), strings.HasSuffix(lower, ".tfvars"), strings.HasSuffix(lower, ".hcl"):
		return FormatHCL, true
	case strings.HasSuffix(lower, ".json"):
		return FormatJSON, true
	case strings.HasSuffix(lower, ".yaml"), strings.HasSuffix(lower, ".yml"):
		return FormatYAML, true
	case lower == "dockerfile", strings.HasPrefix(lower, "dockerfile."), strings.HasSuffix(lower, ".dockerfile"),
		lower == "containerfile", strings.HasPrefix(lower, "containerfile."), strings.HasSuffix(lower, ".containerfile"):
		return FormatDockerfile, true
	}
	return "", false
}

// Scan finds managed references in a file, choosing the format from its name.
func Scan(path string, data []byte, m Matcher) (*Result, error) {
	f, ok := FormatOf(path)
	if !ok {
		// A ParseError: a configuration problem (files: matches it), reported
		// with the file's path once, like a file that does not parse.
		return nil, &ParseError{File: path, Msg: "not a format pin reads (.tf, .tfvars, .hcl, .json, .yaml, .yml, Dockerfile*): narrow files: in pin.yaml to leave it out"}
	}
	if enc, wide := wideEncoding(data); wide {
		// Scanning the raw bytes would find nothing, and say so: refused.
		if enc == "" {
			line, _ := lineCol(data, bytes.IndexByte(data, 0))
			return nil, &ParseError{File: path, Line: line, Msg: "holds NUL bytes (UTF-16 or UTF-32 without a byte order mark, or binary): pin reads and rewrites UTF-8 only, and will not pass over a file that may name a managed image"}
		}
		return nil, &ParseError{File: path, Line: 1, Msg: fmt.Sprintf("encoded in %s: pin reads and rewrites UTF-8 only, and will not pass over a file that may name a managed image; convert it (iconv -f %s -t UTF-8)", enc, enc)}
	}
	switch f {
	case FormatHCL:
		return ScanHCL(path, data, m)
	case FormatJSON:
		return ScanJSON(path, data, m)
	case FormatYAML:
		return ScanYAML(path, data, m)
	default:
		return ScanDockerfile(path, data, m)
	}
}

// wideEncoding names the encoding of a file in UTF-16 or UTF-32 by its
// byte order mark; without one, NUL bytes (which no UTF-8 text holds) make
// it wide with no name.
func wideEncoding(data []byte) (string, bool) {
	switch {
	case bytes.HasPrefix(data, []byte{0xff, 0xfe, 0, 0}):
		return "UTF-32LE", true
	case bytes.HasPrefix(data, []byte{0, 0, 0xfe, 0xff}):
		return "UTF-32BE", true
	case bytes.HasPrefix(data, []byte{0xff, 0xfe}):
		return "UTF-16LE", true
	case bytes.HasPrefix(data, []byte{0xfe, 0xff}):
		return "UTF-16BE", true
	case bytes.IndexByte(data, 0) >= 0:
		return "", true // NUL bytes, no byte order mark: UTF-16, UTF-32 or binary
	}
	return "", false
}

// Edit replaces data[Start:End] with New.
type Edit struct {
	Start, End int
	New        string
}

// Apply returns a copy of data with the edits made. Edits may come in any
// order but must not overlap; bytes outside them are copied unchanged.
func Apply(data []byte, edits []Edit) ([]byte, error) {
	es := append([]Edit(nil), edits...)
	sort.Slice(es, func(i, j int) bool { return es[i].Start < es[j].Start })
	out := make([]byte, 0, len(data)+64*len(es))
	prev := 0
	for _, e := range es {
		if e.Start < prev || e.End < e.Start || e.End > len(data) {
			return nil, fmt.Errorf("edit [%d,%d) overlaps another or lies outside the file (%d bytes)", e.Start, e.End, len(data))
		}
		out = append(out, data[prev:e.Start]...)
		out = append(out, e.New...)
		prev = e.End
	}
	return append(out, data[prev:]...), nil
}

// lineCol returns the 1-based line and byte column of offset in data.
func lineCol(data []byte, offset int) (line, col int) {
	line = 1 + strings.Count(string(data[:offset]), "\n")
	col = offset + 1
	if i := strings.LastIndexByte(string(data[:offset]), '\n'); i >= 0 {
		col = offset - i
	}
	return line, col
}

// SplitRef breaks an image reference into repository, tag and digest
// (each "" when absent), without validating it.
func SplitRef(s string) (repo, tag, digest string) {
	if i := strings.Index(s, "@"); i >= 0 {
		s, digest = s[:i], s[i+1:]
	}
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		s, tag = s[:i], s[i+1:]
	}
	return s, tag, digest
}

// ReferenceInText finds a managed image reference, with a tag or digest,
// held as a value inside free text (a heredoc, a block scalar): quoted (the
// JSON of an ECS container definition written as a heredoc) or the whole
// text. Such text is never rewritten, but a value like that is one the user
// expects pinned, so scanners warn about it. A reference in a sentence is
// prose, and is not reported.
func ReferenceInText(m Matcher, text string) (component, ref string, ok bool) {
	words := strings.FieldsFunc(text, func(r rune) bool {
		return r <= ' ' || strings.ContainsRune("\"'`,;()[]{}<>=", r)
	})
	for _, w := range words {
		slash := strings.LastIndexByte(w, '/')
		if slash < 0 || (strings.LastIndexByte(w, ':') < slash && !strings.Contains(w, "@")) {
			continue
		}
		asValue := strings.TrimSpace(text) == w || strings.Contains(text, `"`+w+`"`) || strings.Contains(text, "'"+w+"'")
		if !asValue {
			continue
		}
		if c, ok := m.Match(w); ok {
			return c, w, true
		}
	}
	return "", "", false
}

// TemplateMessage is what pin says about a Go/Helm template it passes over.
const TemplateMessage = "a Go/Helm template, not valid YAML until rendered: not read"

// IsTemplate reports whether a file that failed to scan with err is a Go or
// Helm template (a chart's templates/, `{{- if ...}}` on its first line)
// rather than broken YAML: it holds {{ }} actions and is YAML by name, or has
// no format of its own (_helpers.tpl). pin update, check and audit all pass
// such a file over with a note, whether it was named or met in a walk,
// since it is not valid until rendered; the chart's values file is where
// its images are pinned.
func IsTemplate(path string, data []byte, err error) bool {
	if err == nil || !bytes.Contains(data, []byte("{{")) {
		return false
	}
	f, ok := FormatOf(path)
	var pe *ParseError
	return !ok || f == FormatYAML && errors.As(err, &pe)
}
