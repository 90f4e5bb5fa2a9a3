package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// ScanYAML finds references in YAML (compose, Kubernetes, Helm values). It
// reads every document of a multi-document stream and reports each string
// scalar that is a whole managed reference, or that carries a trailing
// `# pin:<component>:<field>` marker, with the byte span of its text (inside
// any quotes). Mapping keys, block scalars (| and >) and aliases are never
// references; an anchored scalar is reported once, where it is defined.
//
// Values pin sees but will not rewrite become Warnings: interpolations
// (`${REGISTRY}/bags_api:latest`, Helm `{{ }}`), values written with escapes
// or across lines, a bare repository split from its tag in a sibling key, and
// stray or misplaced markers. A file yaml.v3 cannot parse, or a marker with an
// unknown field, is a *ParseError naming the file and line.
func ScanYAML(path string, data []byte, m Matcher) (res *Result, err error) {
	if bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe}) {
		return nil, &ParseError{File: path, Line: 1, Msg: "UTF-16 YAML is not supported; save the file as UTF-8"}
	}
	defer func() {
		// yaml.v3 has panicked on hostile input before; a file that makes
		// the parser panic is a file pin cannot read, not a crash.
		if r := recover(); r != nil {
			res, err = nil, &ParseError{File: path, Msg: fmt.Sprintf("YAML parser failed: %v", r)}
		}
	}()
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		n := new(yaml.Node)
		if err := dec.Decode(n); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, yamlParseError(path, data, err)
		}
		docs = append(docs, n)
	}
	s := &yamlScanner{path: path, data: data, m: m, lines: yamlLineStarts(data), nl: newlineStarts(data), res: &Result{},
		markers: bytes.Contains(data, []byte("pin:")), consumed: map[*yaml.Node]bool{}}
	for _, d := range docs {
		if err := s.walk(d, nil, ""); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(s.res.Refs, func(i, j int) bool { return s.res.Refs[i].Start < s.res.Refs[j].Start })
	sort.SliceStable(s.res.Warnings, func(i, j int) bool { return s.res.Warnings[i].Line < s.res.Warnings[j].Line })
	return s.res, nil
}

var yamlErrLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// yamlParserMsgs are the errors of yaml.v3's parser (not its scanner). It
// reports them at the 0-based line of the collection being parsed, one less
// than the 1-based line that collection starts on.
var yamlParserMsgs = []string{
	"did not find expected <document start>", "did not find expected node content",
	"did not find expected '-' indicator", "did not find expected key",
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
}

var yamlAnchorMsg = regexp.MustCompile(`^unknown anchor '(.*)' referenced`)

// yamlParseError turns a yaml.v3 error ("yaml: line 3: did not find expected
// key") into a ParseError that names the file and line. yaml.v3 leaves the
// line out for errors on line 1 and for errors it finds while reading
// characters or resolving aliases; those lines are found here.
func yamlParseError(path string, data []byte, err error) *ParseError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pe := &ParseError{File: path, Line: 1}
	if sm := yamlErrLine.FindStringSubmatch(msg); sm != nil {
		pe.Line, _ = strconv.Atoi(sm[1])
		msg = msg[len(sm[0]):]
		for _, p := range yamlParserMsgs {
			if strings.HasPrefix(msg, p) {
				pe.Line++
				break
			}
		}
		pe.Line = newlineLine(data, yamlLineStarts(data), pe.Line)
	} else if sm := yamlAnchorMsg.FindStringSubmatch(msg); sm != nil {
		if i := bytes.Index(data, []byte("*"+sm[1])); i >= 0 {
			pe.Line, _ = lineCol(data, i)
		}
	} else if i := yamlBadChar(data); i >= 0 {
		pe.Line, _ = lineCol(data, i)
	}
	// At the end of the input yaml.v3 can name the line after the last one.
	if last := 1 + bytes.Count(data, []byte("\n")); pe.Line > last {
		pe.Line = last
	}
	pe.Msg = msg
	return pe
}

// yamlBadChar returns the offset of the first byte YAML does not allow in a
// stream (invalid UTF-8, control characters), or -1.
func yamlBadChar(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1,
			r < 0x20 && r != '\t' && r != '\n' && r != '\r',
			r >= 0x7f && r < 0xa0 && r != 0x85,
			r == 0xfffe || r == 0xffff:
			return i
		}
		i += size
	}
	return -1
}

// yamlLineStarts returns the byte offset where each line starts, breaking
// lines where yaml.v3 does (LF, CRLF, CR, NEL, LS, PS) so that its node
// positions can be turned into byte offsets. A leading UTF-8 BOM is not part
// of line 1 as yaml.v3 counts columns.
func yamlLineStarts(data []byte) []int {
	start := 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		start = 3
	}
	starts := []int{start}
	for i := start; i < len(data); {
		if n := yamlBreakLen(data, i); n > 0 {
			i += n
			starts = append(starts, i)
			continue
		}
		i++
	}
	return starts
}

// newlineLine converts yaml.v3's 1-based line, which also breaks at CR,
// NEL, LS and PS, into the line pin reports everywhere else, counting only
// '\n'. starts is yamlLineStarts(data).
func newlineLine(data []byte, starts []int, yamlLine int) int {
	if yamlLine < 1 || yamlLine > len(starts) {
		return yamlLine
	}
	line, _ := lineCol(data, starts[yamlLine-1])
	return line
}

// yamlBreakLen is the length of the line break at data[i], or 0.
func yamlBreakLen(data []byte, i int) int {
	switch c := data[i]; {
	case c == '\n':
		return 1
	case c == '\r':
		if i+1 < len(data) && data[i+1] == '\n' {
			return 2
		}
		return 1
	case c == 0xc2 && i+1 < len(data) && data[i+1] == 0x85: // NEL
		return 2
	case c == 0xe2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xa8 || data[i+2] == 0xa9): // LS, PS
		return 3
	}
	return 0
}

// yamlScanner walks the documents of one file.
type yamlScanner struct {
	path  string
	data  []byte
	m     Matcher
	lines []int // where yaml.v3's lines start
	nl    []int // where lines start counting only '\n', as Ref.Line does
	res   *Result
	// markers is whether the file may hold `# pin:` marker comments.
	markers bool
	// consumed are the scalars of split images (Helm's image.repository,
	// image.tag) already reported as one image by splitImage.
	consumed map[*yaml.Node]bool
}

// newlineStarts returns the offset after each '\n', with 0 first.
func newlineStarts(data []byte) []int {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineCol is the package's lineCol without rescanning the file: the 1-based
// line (counting '\n') and byte column of off.
func (s *yamlScanner) lineCol(off int) (line, col int) {
	i := sort.Search(len(s.nl), func(i int) bool { return s.nl[i] > off })
	return i, off - s.nl[i-1] + 1
}

// offset converts yaml.v3's 1-based line and rune column into a byte offset,
// or -1 when the position lies outside the file.
func (s *yamlScanner) offset(line, col int) int {
	if line < 1 || line > len(s.lines) || col < 1 {
		return -1
	}
	off := s.lines[line-1]
	for c := 1; c < col; c++ {
		if off >= len(s.data) || yamlBreakLen(s.data, off) > 0 {
			return -1
		}
		_, size := utf8.DecodeRune(s.data[off:])
		off += size
	}
	return off
}

// walk visits n. parent is the mapping n is a value of (nil otherwise) and
// key the key it is the value of.
func (s *yamlScanner) walk(n *yaml.Node, parent *yaml.Node, key string) error {
	if n.Kind == yaml.ScalarNode {
		if s.consumed[n] {
			return s.strayMarker(n, true)
		}
		return s.scalar(n, parent, key)
	}
	if err := s.strayMarker(n, false); err != nil {
		return err
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if err := s.walk(c, nil, ""); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		// The items of `images: [...]` are at an image's place too.
		itemKey := ""
		if ImageKey(key) {
			itemKey = key
		}
		for _, c := range n.Content {
			if err := s.walk(c, nil, itemKey); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		s.splitImage(n, key)
		for i := 0; i+1 < len(n.Content); i += 2 {
			// Keys are never references, but a marker written after
			// `key:` with the value on the next line lands on the key.
			k := n.Content[i]
			if err := s.strayMarker(k, false); err != nil {
				return err
			}
			if err := s.walk(n.Content[i+1], n, k.Value); err != nil {
				return err
			}
		}
	}
	// Aliases are not separate references: the anchored node they point to
	// is reported where it is defined.
	return nil
}

// strayMarker checks the comments yaml.v3 attached to n for markers that
// do not follow a value on its line: pin would otherwise ignore them
// silently. A malformed marker is an error wherever it is.
func (s *yamlScanner) strayMarker(n *yaml.Node, own bool) error {
	if !s.markers {
		return nil // no "pin:" anywhere in the file: nothing to find
	}
	for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
		for _, l := range strings.Split(c, "\n") {
			comp, _, ok, err := parseMarker(strings.TrimLeft(strings.TrimSpace(l), "#"))
			if err != nil {
				return &ParseError{File: s.path, Line: newlineLine(s.data, s.lines, n.Line), Msg: err.Error()}
			}
			if !ok || own && c == n.LineComment {
				continue
			}
			msg := "marker comment is not right after a value on its line"
			if c != n.LineComment {
				msg = "marker comment stands on a line of its own"
			}
			s.warn(newlineLine(s.data, s.lines, n.Line), comp, "", msg, "put `# pin:<component>:<field>` on the same line as the value it describes, after it")
		}
	}
	return nil
}

func (s *yamlScanner) warn(line int, comp, value, msg, hint string) {
	s.res.Warnings = append(s.res.Warnings, Warning{Line: line, Component: comp, Value: value, Message: msg, Hint: hint})
}

// yamlScalar is where a scalar's text lies in the file.
type yamlScalar struct {
	start, end int  // span of the text, inside any quotes; start is -1 when not found
	exact      bool // data[start:end] is exactly the decoded value
	line       int  // 1-based line of start (of the node when not found), counting '\n'
}

// locate finds the bytes of scalar n. yaml.v3 positions a node at its first
// property (anchor or tag) if it has one, so those, and any space, line
// breaks or comments after them, are skipped first.
func (s *yamlScanner) locate(n *yaml.Node) yamlScalar {
	sc := yamlScalar{start: -1, line: newlineLine(s.data, s.lines, n.Line)}
	off := s.offset(n.Line, n.Column)
	if off < 0 {
		return sc
	}
	for off < len(s.data) && (s.data[off] == '&' || s.data[off] == '!') {
		for off < len(s.data) && !isYAMLSpace(s.data[off]) && yamlBreakLen(s.data, off) == 0 {
			off++
		}
		off = s.skipSpace(off)
	}
	if off >= len(s.data) {
		return sc
	}
	v := n.Value
	quote := byte(0)
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		quote = '"'
	case n.Style&yaml.SingleQuotedStyle != 0:
		quote = '\''
	}
	if quote != 0 {
		if s.data[off] != quote {
			return sc
		}
		off++
	}
	sc.start = off
	sc.line, _ = s.lineCol(off)
	end := off + len(v)
	// The raw text is the value only when it has no escapes and no folded
	// line breaks. A plain scalar whose raw text starts with its whole
	// value ends there (more text would be more value); a quoted one must
	// be closed right there, and its value must hold no character that
	// the raw text escapes ('it''' starts with "it'" and a quote too).
	switch {
	case end > len(s.data) || string(s.data[off:end]) != v || strings.ContainsAny(v, "\r\n\u0085\u2028\u2029"):
	case quote == '"' && (strings.ContainsAny(v, `\"`) || end >= len(s.data) || s.data[end] != '"'):
	case quote == '\'' && (strings.Contains(v, "'") || end >= len(s.data) || s.data[end] != '\''):
	default:
		sc.exact = true
		sc.end = end
	}
	return sc
}

// skipSpace skips blanks, line breaks and comments from off.
func (s *yamlScanner) skipSpace(off int) int {
	for off < len(s.data) {
		switch {
		case isYAMLSpace(s.data[off]):
			off++
		case yamlBreakLen(s.data, off) > 0:
			off += yamlBreakLen(s.data, off)
		case s.data[off] == '#':
			for off < len(s.data) && yamlBreakLen(s.data, off) == 0 {
				off++
			}
		default:
			return off
		}
	}
	return off
}

func isYAMLSpace(c byte) bool { return c == ' ' || c == '\t' }

// trailingComment returns the comment that follows the scalar ending at end
// (after its closing quote, if any) on the same line, without the '#'.
func (s *yamlScanner) trailingComment(end int, quoted bool) (string, bool) {
	if quoted {
		end++
	}
	i := end
	for i < len(s.data) && isYAMLSpace(s.data[i]) {
		i++
	}
	if i == end || i >= len(s.data) || s.data[i] != '#' {
		return "", false
	}
	j := i
	for j < len(s.data) && yamlBreakLen(s.data, j) == 0 {
		j++
	}
	return string(s.data[i+1 : j]), true
}

// parseMarker reads a `pin:<component>:<field>` marker from a comment. ok is
// false when the comment is not a marker at all; err names what is wrong
// with one that is.
func parseMarker(comment string) (comp string, f Field, ok bool, err error) {
	t := strings.TrimSpace(comment)
	if !strings.HasPrefix(t, "pin:") || len(t) == len("pin:") || t[len("pin:")] == ' ' {
		return "", "", false, nil
	}
	word := strings.Fields(t)[0]
	parts := strings.Split(strings.TrimPrefix(word, "pin:"), ":")
	if len(parts) != 2 || parts[0] == "" {
		return "", "", true, fmt.Errorf("marker %q must be pin:<component>:<field>", word)
	}
	if strings.Trim(parts[0], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" {
		return parts[0], "", true, fmt.Errorf("marker %q: component %q may hold only letters, digits, '.', '_' and '-'", word, parts[0])
	}
	f, fok := ParseField(parts[1])
	if !fok {
		return parts[0], "", true, fmt.Errorf("marker %q: unknown field %q (want ref, repo, tag or digest)", word, parts[1])
	}
	return parts[0], f, true, nil
}

const (
	hintInterpolation = "pin does not expand variables or templates: write the whole reference here, or put the parts in separate values with `# pin:<component>:<field>` markers"
	hintEscapes       = "write the value on one line without escape sequences (plain, 'single' or \"double\" quoted) so pin can rewrite it"
	hintSplit         = "mark both values, e.g. `repository: ... # pin:<component>:repo` and `tag: ... # pin:<component>:tag`, so pin rewrites them together"
)

// scalar handles one scalar value.
func (s *yamlScanner) scalar(n *yaml.Node, parent *yaml.Node, key string) error {
	// Block scalars hold prose and scripts: never references, no warnings.
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		// ... but an image reference in one is one the user expects pinned.
		if comp, ref, ok := ReferenceInText(s.m, n.Value); ok {
			s.warn(newlineLine(s.data, s.lines, n.Line), comp, ref, "image reference inside a block scalar (| or >)", "pin does not rewrite block scalars; write the image as a plain or quoted value of its own")
		}
		return s.strayMarker(n, false)
	}
	if err := s.strayMarker(n, true); err != nil {
		return err
	}
	v := n.Value
	// A value without a '/' is an image only at an image's place (`image:
	// nginx:1.25`); elsewhere most values (names, ports, flags) skip the
	// matcher. Every managed repository names its registry, so such a
	// value can never mention one.
	imagePlace := ImageKey(key)
	maybe := strings.IndexByte(v, '/') >= 0 || imagePlace
	comp, match := "", false
	if maybe && n.Tag == "!!str" {
		comp, match = matchAt(s.m, v, imagePlace)
	}
	var sc yamlScalar
	located := false
	if s.markers {
		// A marker makes the value a reference whatever it looks like, so
		// every value is looked at when the file has one.
		sc, located = s.locate(n), true
		done, err := s.marked(n, sc)
		if done || err != nil {
			return err
		}
	}
	if !match && n.Tag == "!!str" && strings.HasPrefix(v, "${") {
		if !located {
			sc, located = s.locate(n), true
		}
		if s.composeDefault(sc, v, imagePlace) {
			return nil
		}
	}
	if !match {
		var mentions bool
		if !maybe || strings.IndexByte(v, '/') < 0 {
			return nil
		}
		if comp, mentions = s.m.Mentions(v); !mentions {
			return nil
		}
	}
	if !located {
		sc = s.locate(n)
	}
	switch {
	case !match && strings.ContainsAny(v, "${"):
		s.warn(sc.line, comp, v, "managed repository inside an interpolation", hintInterpolation)
	case !match:
		s.warn(sc.line, comp, v, "mentions a managed repository but is not a whole image reference",
			"pin leaves it alone; write the whole reference as a value of its own if pin should rewrite it")
	case !sc.exact:
		s.warn(sc.line, comp, v, "written with escapes or across lines", hintEscapes)
	case parent != nil && isBareRepo(v) && hasTagSibling(parent, key):
		s.warn(sc.line, comp, v, "image reference split across fields", hintSplit)
	default:
		s.ref(sc, v, comp, FieldRef, false)
	}
	return nil
}

// marked handles a `# pin:` marker after scalar n. done is true when there
// was one and n needs nothing more.
func (s *yamlScanner) marked(n *yaml.Node, sc yamlScalar) (done bool, err error) {
	if !sc.exact {
		// yaml.v3 may still have seen a marker after a value pin cannot
		// rewrite in place.
		for _, l := range strings.Split(n.LineComment, "\n") {
			if comp, _, ok, _ := parseMarker(strings.TrimLeft(strings.TrimSpace(l), "#")); ok {
				s.warn(sc.line, comp, n.Value, "marked value is written with escapes or across lines", hintEscapes)
				return true, nil
			}
		}
		return false, nil
	}
	c, ok := s.trailingComment(sc.end, n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0)
	if !ok {
		return false, nil
	}
	comp, f, ok, err := parseMarker(c)
	if err != nil {
		return true, &ParseError{File: s.path, Line: sc.line, Msg: err.Error()}
	}
	if !ok {
		return false, nil
	}
	v := n.Value
	switch {
	case n.Tag != "!!str":
		s.warn(sc.line, comp, v, fmt.Sprintf("marked value is not a string (%s)", n.Tag),
			"quote the value so that it stays a string when pin rewrites it")
	case strings.Contains(v, "${") || strings.Contains(v, "{{"):
		s.warn(sc.line, comp, v, "marked value is inside an interpolation", hintInterpolation)
	default:
		s.ref(sc, v, comp, f, true)
	}
	return true, nil
}

// ref records a reference found at sc.
func (s *yamlScanner) ref(sc yamlScalar, v, comp string, f Field, marker bool) {
	_, col := s.lineCol(sc.start)
	s.res.Refs = append(s.res.Refs, Ref{Start: sc.start, End: sc.end, Line: sc.line, Column: col,
		Value: v, Component: comp, Field: f, Marker: marker})
}

// isBareRepo reports whether a reference names only a repository.
func isBareRepo(v string) bool {
	return !strings.Contains(v, "@") && !strings.Contains(v[strings.LastIndexByte(v, '/')+1:], ":")
}

// hasTagSibling reports whether mapping has a key other than key that holds
// a tag or digest (tag, imageTag, image_tag, digest).
func hasTagSibling(mapping *yaml.Node, key string) bool {
	for i := 0; i+1 < len(mapping.Content); i += 2 {
		k := strings.ToLower(mapping.Content[i].Value)
		if mapping.Content[i].Value != key && (strings.HasSuffix(k, "tag") || strings.HasSuffix(k, "digest")) {
			return true
		}
	}
	return false
}
