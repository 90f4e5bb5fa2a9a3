package rewrite

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Hints shared by the HCL and JSON rewriters.
const (
	hintHCLInterpolation = "pin cannot rewrite an interpolated reference; set the variable's value to a full reference, or add a `# pin:<component>:<field>` marker"
	hintHCLEscapes       = "write the reference without escape sequences so pin can rewrite it in place"
	hintNotWhole         = "pin leaves it alone; write the whole reference as a value of its own if pin should rewrite it"
	hintHCLSplit         = "mark both values, e.g. `repository = \"...\" # pin:<component>:repo` and `tag = \"...\" # pin:<component>:tag`, so pin rewrites them together"
	hintStrayMarker      = "put `# pin:<component>:<field>` on the same line as the quoted value it describes, after it"
	hintHCLHeredoc       = "pin does not rewrite heredocs; build the value with jsonencode() or a quoted string so each image is a value of its own"
)

// ScanHCL finds references in Terraform (.tf, .tfvars) with the HCL native
// syntax parser. Every expression is visited: attributes of every block,
// locals, variable defaults, module inputs, nested objects and tuples,
// function-call arguments such as jsonencode([{ image = "..." }]). A quoted
// string that holds nothing but a literal whose whole value the matcher
// accepts is a reference; its span is the bytes between the quotes.
//
// A quoted string followed on its line by `# pin:<component>:<field>` (or
// `// pin:...`) is a reference for that component and field whatever it
// holds. Object keys and heredocs are never references. Interpolated
// strings that mention a managed repository, literals written with escapes,
// a bare repository next to a tag attribute, and markers that follow no
// string become Warnings. A file that does not parse, or a marker with an
// unknown field, is a *ParseError naming the file and line.
func ScanHCL(path string, data []byte, m Matcher) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, &ParseError{File: path, Msg: fmt.Sprintf("HCL parser failed: %v", r)}
		}
	}()
	file, diags := hclsyntax.ParseConfig(data, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, hclParseError(path, diags)
	}
	body, ok := file.Body.(*hclsyntax.Body)
	if !ok {
		return nil, &ParseError{File: path, Msg: "not an HCL native syntax file"}
	}
	s := &hclScanner{
		path:     path,
		data:     data,
		lines:    &lineIndex{data: data},
		m:        m,
		res:      &Result{},
		keys:     map[hclsyntax.Expression]bool{},
		split:    map[hclsyntax.Expression]bool{},
		place:    map[hclsyntax.Expression]bool{},
		markers:  bytes.Contains(data, []byte("pin:")),
		consumed: map[int]bool{},
	}
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		if err == nil {
			err = s.visit(n)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if s.markers {
		if err := s.strayMarkers(); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(s.res.Refs, func(i, j int) bool { return s.res.Refs[i].Start < s.res.Refs[j].Start })
	sort.SliceStable(s.res.Warnings, func(i, j int) bool { return s.res.Warnings[i].Line < s.res.Warnings[j].Line })
	return s.res, nil
}

// hclParseError turns the first error diagnostic into a ParseError.
func hclParseError(path string, diags hcl.Diagnostics) *ParseError {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		pe := &ParseError{File: path, Msg: d.Summary}
		if d.Detail != "" {
			pe.Msg += ": " + d.Detail
		}
		if d.Subject != nil {
			pe.Line = d.Subject.Start.Line
		}
		return pe
	}
	return &ParseError{File: path, Msg: diags.Error()}
}

// hclScanner collects what one file holds.
type hclScanner struct {
	path  string
	data  []byte
	lines *lineIndex
	m     Matcher
	res   *Result
	// keys are object keys: never references.
	keys map[hclsyntax.Expression]bool
	// split are values with a sibling attribute or key naming a tag or digest.
	split map[hclsyntax.Expression]bool
	// place are values at an image's place: of an image-ish attribute or
	// key (image, container_image), the default of variable "image", the
	// items of an image-ish list.
	place map[hclsyntax.Expression]bool
	// warned are the spans of templates already warned about, so that the
	// strings nested in their interpolations are not reported again.
	warned [][2]int
	// markers is whether the file may hold marker comments at all.
	markers bool
	// consumed are the offsets of marker comments that followed a value.
	consumed map[int]bool
}

// visit looks at one node of the syntax tree; parents come before children.
func (s *hclScanner) visit(n hclsyntax.Node) error {
	switch e := n.(type) {
	case *hclsyntax.Block:
		if e.Type == "variable" && len(e.Labels) == 1 && ImageKey(e.Labels[0]) {
			if a, ok := e.Body.Attributes["default"]; ok {
				s.place[a.Expr] = true
			}
		}
	case *hclsyntax.TupleConsExpr:
		if s.place[e] {
			for _, x := range e.Exprs {
				s.place[x] = true
			}
		}
	case *hclsyntax.Body:
		names := make([]string, 0, len(e.Attributes))
		for name := range e.Attributes {
			names = append(names, name)
		}
		for name, a := range e.Attributes {
			if hasTagName(names, name) {
				s.split[a.Expr] = true
			}
			if ImageKey(name) {
				s.place[a.Expr] = true
			}
		}
	case *hclsyntax.ObjectConsExpr:
		names := make([]string, 0, len(e.Items))
		for _, it := range e.Items {
			names = append(names, hclKeyName(it.KeyExpr))
		}
		for i, it := range e.Items {
			if k, ok := it.KeyExpr.(*hclsyntax.ObjectConsKeyExpr); ok {
				s.keys[k.Wrapped] = true
			}
			s.keys[it.KeyExpr] = true
			if hasTagName(names, names[i]) {
				s.split[it.ValueExpr] = true
			}
			if ImageKey(names[i]) {
				s.place[it.ValueExpr] = true
			}
		}
	case *hclsyntax.TemplateExpr:
		if s.keys[e] {
			return nil
		}
		return s.template(e, e.SrcRange, e.Parts)
	case *hclsyntax.TemplateWrapExpr:
		// "${expr}": a quoted string that is one interpolation.
		if s.keys[e] {
			return nil
		}
		return s.template(e, e.SrcRange, []hclsyntax.Expression{e.Wrapped})
	}
	return nil
}

// hclKeyName is the name an object key spells, or "" when it is computed.
func hclKeyName(k hclsyntax.Expression) string {
	if name := hcl.ExprAsKeyword(k); name != "" {
		return name
	}
	if ck, ok := k.(*hclsyntax.ObjectConsKeyExpr); ok {
		k = ck.Wrapped
	}
	if t, ok := k.(*hclsyntax.TemplateExpr); ok && len(t.Parts) == 1 {
		if l, ok := t.Parts[0].(*hclsyntax.LiteralValueExpr); ok && l.Val.IsKnown() && !l.Val.IsNull() && l.Val.Type().FriendlyName() == "string" {
			return l.Val.AsString()
		}
	}
	return ""
}

// hasTagName reports whether names holds a name other than self that names
// a tag or a digest (tag, image_tag, imageTag, digest).
func hasTagName(names []string, self string) bool {
	for _, n := range names {
		l := strings.ToLower(n)
		if n != self && (strings.HasSuffix(l, "tag") || strings.HasSuffix(l, "digest")) {
			return true
		}
	}
	return false
}

// template handles one template, e spanning rng with parts: a quoted
// string or a heredoc.
func (s *hclScanner) template(e hclsyntax.Expression, rng hcl.Range, parts []hclsyntax.Expression) error {
	start, end := rng.Start.Byte, rng.End.Byte
	if start < 0 || end > len(s.data) || end-start < 2 || s.data[start] != '"' || s.data[end-1] != '"' {
		// Heredocs hold prose and scripts: never rewritten. But an image
		// reference in one (an ECS container definition written as a
		// heredoc) is one the user expects pinned: say so.
		if start >= 0 && end <= len(s.data) && start < end {
			if comp, ref, ok := ReferenceInText(s.m, string(s.data[start:end])); ok {
				line, _ := s.lines.lineCol(start)
				s.warn(start, end, line, comp, ref, "image reference inside a heredoc", hintHCLHeredoc)
			}
		}
		return nil
	}
	for _, w := range s.warned {
		if start >= w[0] && end <= w[1] {
			return nil
		}
	}
	vStart, vEnd := start+1, end-1
	raw := string(s.data[vStart:vEnd])
	line, _ := s.lines.lineCol(vStart)

	value, literal := "", true
	for _, p := range parts {
		l, ok := p.(*hclsyntax.LiteralValueExpr)
		if !ok || !l.Val.IsKnown() || l.Val.IsNull() || l.Val.Type().FriendlyName() != "string" {
			literal = false
			break
		}
		value += l.Val.AsString()
	}

	comp, f, marked, err := s.marker(end, line)
	if err != nil {
		return err
	}
	if marked {
		switch {
		case !literal:
			s.warn(start, end, line, comp, raw, "marked value is inside an interpolation", hintHCLInterpolation)
		case raw != value:
			s.warn(start, end, line, comp, raw, "marked value is written with escapes", hintHCLEscapes)
		default:
			s.ref(vStart, vEnd, value, comp, f, true)
		}
		return nil
	}

	if !literal {
		if comp, ok := s.m.Mentions(raw); ok {
			s.warn(start, end, line, comp, raw, "managed repository inside an interpolation", hintHCLInterpolation)
		}
		return nil
	}
	comp, ok := matchAt(s.m, value, s.place[e])
	switch {
	case !ok:
		if comp, ok := s.m.Mentions(value); ok {
			s.warn(start, end, line, comp, raw, "mentions a managed repository but is not a whole image reference", hintNotWhole)
		}
	case raw != value:
		s.warn(start, end, line, comp, raw, "written with escapes", hintHCLEscapes)
	case s.split[e] && isBareRepo(value):
		s.warn(start, end, line, comp, raw, "image reference split across attributes", hintHCLSplit)
	default:
		s.ref(vStart, vEnd, value, comp, FieldRef, false)
	}
	return nil
}

// marker reads a marker comment that follows, on the same line, the
// string ending at end (after its closing quote), allowing a comma between.
func (s *hclScanner) marker(end, line int) (comp string, f Field, ok bool, err error) {
	if !s.markers {
		return "", "", false, nil
	}
	i := end
	for i < len(s.data) && (s.data[i] == ' ' || s.data[i] == '\t' || s.data[i] == ',') {
		i++
	}
	text, ok := hclLineComment(s.data, i)
	if !ok {
		return "", "", false, nil
	}
	comp, f, ok, err = parseMarker(text)
	if err != nil {
		return "", "", false, &ParseError{File: s.path, Line: line, Msg: err.Error()}
	}
	if ok {
		s.consumed[i] = true
	}
	return comp, f, ok, nil
}

// hclLineComment returns the text of a `#` or `//` comment starting at i,
// up to the end of its line.
func hclLineComment(data []byte, i int) (string, bool) {
	var from int
	switch {
	case i < len(data) && data[i] == '#':
		from = i + 1
	case i+1 < len(data) && data[i] == '/' && data[i+1] == '/':
		from = i + 2
	default:
		return "", false
	}
	to := from
	for to < len(data) && data[to] != '\n' && data[to] != '\r' {
		to++
	}
	return string(data[from:to]), true
}

// strayMarkers reports marker comments that follow no quoted value, and
// fails on malformed ones wherever they are.
func (s *hclScanner) strayMarkers() error {
	toks, diags := hclsyntax.LexConfig(s.data, s.path, hcl.InitialPos)
	if diags.HasErrors() {
		return hclParseError(s.path, diags)
	}
	for _, t := range toks {
		if t.Type != hclsyntax.TokenComment {
			continue
		}
		off := t.Range.Start.Byte
		text, ok := hclLineComment(s.data, off)
		if !ok {
			continue // block comments carry no markers
		}
		comp, _, ok, err := parseMarker(text)
		if err != nil {
			return &ParseError{File: s.path, Line: t.Range.Start.Line, Msg: err.Error()}
		}
		if ok && !s.consumed[off] {
			s.res.Warnings = append(s.res.Warnings, Warning{Line: t.Range.Start.Line, Component: comp,
				Message: "marker comment does not follow a quoted value on its line", Hint: hintStrayMarker})
		}
	}
	return nil
}

// warn records a warning about the template spanning [start,end).
func (s *hclScanner) warn(start, end, line int, comp, value, msg, hint string) {
	s.warned = append(s.warned, [2]int{start, end})
	s.res.Warnings = append(s.res.Warnings, Warning{Line: line, Component: comp, Value: value, Message: msg, Hint: hint})
}

// ref records a reference at [start,end).
func (s *hclScanner) ref(start, end int, value, comp string, f Field, marker bool) {
	line, col := s.lines.lineCol(start)
	s.res.Refs = append(s.res.Refs, Ref{Start: start, End: end, Line: line, Column: col,
		Value: value, Component: comp, Field: f, Marker: marker})
}

// lineIndex turns byte offsets into lines and columns as lineCol does, in
// logarithmic time, so that scanning a large file stays linear.
type lineIndex struct {
	data []byte
	nl   []int // offsets of '\n', built on first use
}

// lineCol returns the 1-based line and byte column of offset.
func (x *lineIndex) lineCol(offset int) (line, col int) {
	if x.nl == nil {
		x.nl = []int{}
		for i, c := range x.data {
			if c == '\n' {
				x.nl = append(x.nl, i)
			}
		}
	}
	n := sort.SearchInts(x.nl, offset) // newlines before offset
	if n == 0 {
		return 1, offset + 1
	}
	return n + 1, offset - x.nl[n-1]
}
