package rewrite

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

const (
	hintDockerVariable = "pin cannot rewrite an image built from variables; give the ARG a whole reference as its default (ARG BASE=<repo>:<tag>) and use FROM ${BASE}"
	hintDockerEscapes  = "write the ARG default without escapes or variables so pin can rewrite it in place"
)

// ScanDockerfile finds references in Dockerfiles (Dockerfile,
// Dockerfile.*, *.Dockerfile, and Podman's Containerfile alike). It reads the file line by line as the
// Dockerfile frontend does: parser directives (escape=`), comments,
// continuation lines and BuildKit heredocs, with instructions in any case.
//
// References are the frontend image of a `# syntax=` parser directive, the
// image of FROM (not a name of an earlier stage, nor scratch), the
// default of an ARG (ARG BASE=<ref>, quoted or not) whose whole value is a
// managed reference, so that FROM ${BASE} follows it, and the image of
// COPY/ADD --from= and RUN --mount=...,from=. An image built from variables
// that mentions a managed repository (FROM ${REGISTRY}/bags_api:latest)
// becomes a Warning. The only parse errors are a FROM without an image and
// an escape directive other than \ or `.
func ScanDockerfile(path string, data []byte, m Matcher) (*Result, error) {
	instrs, err := dockerInstructions(path, data)
	if err != nil {
		return nil, err
	}
	s := &dockerScanner{data: data, lines: &lineIndex{data: data}, m: m, res: &Result{}, stages: map[string]bool{}, args: map[string]dockerArg{}}
	for _, in := range instrs {
		if err := s.instruction(path, in); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(s.res.Refs, func(i, j int) bool { return s.res.Refs[i].Start < s.res.Refs[j].Start })
	sort.SliceStable(s.res.Warnings, func(i, j int) bool { return s.res.Warnings[i].Line < s.res.Warnings[j].Line })
	return s.res, nil
}

// dockerWord is one word of an instruction: its raw bytes and their span.
type dockerWord struct {
	text       string
	start, end int
}

// dockerInstr is one logical instruction, continuation lines joined.
type dockerInstr struct {
	cmd   string // upper case
	line  int
	words []dockerWord // the arguments, without the instruction
}

// dockerInstructions splits a Dockerfile into instructions.
func dockerInstructions(path string, data []byte) ([]dockerInstr, error) {
	esc := byte('\\')
	i := 0
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		i = 3
	}
	lines := &lineIndex{data: data}
	directives := true
	var out []dockerInstr
	var heredocs []string // pending heredoc terminators; "-" prefix strips tabs
	for i < len(data) {
		start, content, next := dockerLine(data, i)
		i = next
		trimmed := strings.TrimLeft(content, " \t")
		if len(heredocs) > 0 {
			h := heredocs[0]
			line := content
			if strings.HasPrefix(h, "-") {
				h, line = h[1:], strings.TrimLeft(line, "\t")
			}
			if line == h {
				heredocs = heredocs[1:]
			}
			continue
		}
		if directives {
			if k, v, ok := dockerDirective(trimmed); ok {
				if k == "syntax" && v != "" {
					// The frontend image BuildKit runs: an image like any other.
					line, _ := lines.lineCol(start)
					at := start + strings.LastIndex(content, v)
					out = append(out, dockerInstr{cmd: syntaxDirective, line: line, words: []dockerWord{{text: v, start: at, end: at + len(v)}}})
				}
				if k == "escape" {
					if v != "\\" && v != "`" {
						line, _ := lines.lineCol(start)
						return nil, &ParseError{File: path, Line: line, Msg: fmt.Sprintf("escape directive %q must be \\ or `", v)}
					}
					esc = v[0]
				}
				continue
			}
			directives = false
		}
		if trimmed == "" || trimmed[0] == '#' {
			continue
		}
		line, _ := lines.lineCol(start)
		in := dockerInstr{line: line}
		segStart, seg := start, content
		for {
			words := dockerWords(seg, segStart)
			t := strings.TrimRight(seg, " \t")
			cont := strings.HasSuffix(t, string(esc))
			if n := len(words); cont && n > 0 {
				// The escape character joins the lines; it is no part of a word.
				w := &words[n-1]
				w.end--
				w.text = w.text[:len(w.text)-1]
				if w.text == "" {
					words = words[:n-1]
				}
			}
			in.words = append(in.words, words...)
			if !cont {
				break
			}
			// Blank and comment lines inside an instruction are dropped.
			found := false
			for i < len(data) {
				s, c, n := dockerLine(data, i)
				i = n
				if t := strings.TrimLeft(c, " \t"); t == "" || t[0] == '#' {
					continue
				}
				segStart, seg, found = s, c, true
				break
			}
			if !found {
				break
			}
		}
		if len(in.words) == 0 {
			continue
		}
		in.cmd = strings.ToUpper(in.words[0].text)
		in.words = in.words[1:]
		if in.cmd == "RUN" || in.cmd == "COPY" || in.cmd == "ADD" {
			heredocs = append(heredocs, dockerHeredocs(in.words)...)
		}
		out = append(out, in)
	}
	return out, nil
}

// syntaxDirective is the instruction dockerInstructions makes of a
// `# syntax=<image>` parser directive.
const syntaxDirective = "# syntax"

// dockerLine returns the line starting at i: its offset, its text without
// the line break, and where the next line starts.
func dockerLine(data []byte, i int) (start int, content string, next int) {
	end := bytes.IndexByte(data[i:], '\n')
	if end < 0 {
		end, next = len(data), len(data)
	} else {
		end += i
		next = end + 1
	}
	return i, strings.TrimSuffix(string(data[i:end]), "\r"), next
}

// dockerDirective parses a parser directive line: `# key=value`.
func dockerDirective(line string) (key, value string, ok bool) {
	if !strings.HasPrefix(line, "#") {
		return "", "", false
	}
	k, v, ok := strings.Cut(strings.TrimSpace(line[1:]), "=")
	k = strings.ToLower(strings.TrimSpace(k))
	if !ok || k == "" || strings.ContainsAny(k, " \t") {
		return "", "", false
	}
	return k, strings.TrimSpace(v), true
}

// dockerWords splits one line of an instruction at blanks, keeping quoted
// strings together; off is the offset of text in the file.
func dockerWords(text string, off int) []dockerWord {
	var words []dockerWord
	i := 0
	for i < len(text) {
		for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
			i++
		}
		if i >= len(text) {
			break
		}
		j := i
		var quote byte
		for j < len(text) {
			c := text[j]
			switch {
			case quote != 0 && c == quote:
				quote = 0
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
			case quote == 0 && (c == ' ' || c == '\t'):
				goto done
			}
			j++
		}
	done:
		words = append(words, dockerWord{text: text[i:j], start: off + i, end: off + j})
		i = j
	}
	return words
}

// dockerHeredocs returns the terminators of the heredocs an instruction
// opens (<<EOF, <<-EOF, <<"EOF"), "-" prefixed when tabs are stripped.
func dockerHeredocs(words []dockerWord) []string {
	var hs []string
	for _, w := range words {
		t := w.text
		if i := strings.Index(t, "<<"); i >= 0 && !strings.Contains(t[:i], "=") {
			t = t[i+2:]
			dash := strings.HasPrefix(t, "-")
			t = strings.TrimPrefix(t, "-")
			t = strings.Trim(t, `"'`)
			if t == "" || !isDockerName(t) {
				continue
			}
			if dash {
				t = "-" + t
			}
			hs = append(hs, t)
		}
	}
	return hs
}

// isDockerName reports whether s is a word of letters, digits and _.
func isDockerName(s string) bool {
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// dockerArg is an ARG with a default value.
type dockerArg struct {
	value      string
	start, end int
	line       int
	exact      bool // the bytes at [start,end) are the value as written
}

// dockerScanner holds what has been seen so far in a Dockerfile.
type dockerScanner struct {
	data   []byte
	lines  *lineIndex
	m      Matcher
	res    *Result
	stages map[string]bool      // lower-cased stage names (FROM ... AS name)
	args   map[string]dockerArg // ARG defaults by name
}

// instruction handles one instruction.
func (s *dockerScanner) instruction(path string, in dockerInstr) error {
	switch in.cmd {
	case syntaxDirective:
		w := in.words[0]
		s.image(w.text, w.start, w.end, false)
	case "FROM":
		ws := dockerSkipFlags(in.words)
		if len(ws) == 0 {
			return &ParseError{File: path, Line: in.line, Msg: "FROM needs an image"}
		}
		img := ws[0]
		s.image(img.text, img.start, img.end, true)
		if len(ws) >= 3 && strings.EqualFold(ws[1].text, "AS") {
			s.stages[strings.ToLower(ws[2].text)] = true
		}
	case "ARG":
		for _, w := range in.words {
			s.arg(w)
		}
	case "COPY", "ADD":
		for _, w := range in.words {
			if !strings.HasPrefix(w.text, "--") {
				break
			}
			if v, ok := strings.CutPrefix(w.text, "--from="); ok {
				s.image(v, w.end-len(v), w.end, false)
			}
		}
	case "RUN":
		for _, w := range in.words {
			if !strings.HasPrefix(w.text, "--") {
				break
			}
			v, ok := strings.CutPrefix(w.text, "--mount=")
			if !ok {
				continue
			}
			off := w.end - len(v)
			for _, opt := range strings.Split(v, ",") {
				if img, ok := strings.CutPrefix(opt, "from="); ok {
					s.image(img, off+len("from="), off+len(opt), false)
				}
				off += len(opt) + 1
			}
		}
	}
	return nil
}

// dockerSkipFlags drops the leading --flags of an instruction.
func dockerSkipFlags(ws []dockerWord) []dockerWord {
	for len(ws) > 0 && strings.HasPrefix(ws[0].text, "--") {
		ws = ws[1:]
	}
	return ws
}

// arg records one NAME=default of an ARG instruction, and reports the
// default when it is a whole managed reference.
func (s *dockerScanner) arg(w dockerWord) {
	name, v, ok := strings.Cut(w.text, "=")
	if !ok || !isDockerName(name) {
		return
	}
	a := dockerArg{start: w.start + len(name) + 1, end: w.end}
	a.line, _ = s.lines.lineCol(a.start)
	if n := len(v); n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n-1] == v[0] {
		a.start, a.end = a.start+1, a.end-1
		v = v[1 : n-1]
	}
	a.value = v
	a.exact = !strings.ContainsAny(v, "\"'\\$")
	s.args[name] = a
	comp, ok := s.m.Match(v)
	switch {
	case ok && a.exact:
		s.ref(a.start, a.end, v, comp)
	case ok:
		s.warn(a.line, comp, v, "ARG default is written with quotes or escapes inside", hintDockerEscapes)
	default:
		if comp, ok := s.m.Mentions(v); ok {
			s.warn(a.line, comp, v, "ARG default mentions a managed repository but is not a whole image reference", hintDockerVariable)
		}
	}
}

// image handles the image of FROM (from is true) or of a --from= option
// at [start,end).
func (s *dockerScanner) image(v string, start, end int, from bool) {
	line, _ := s.lines.lineCol(start)
	if s.stages[strings.ToLower(v)] || (!from && isDigits(v)) {
		return // an earlier stage
	}
	if from && strings.EqualFold(v, "scratch") {
		return // the empty image, not one to pull
	}
	if strings.Contains(v, "$") {
		if name, ok := dockerVarOnly(v); ok {
			if _, known := s.args[name]; known {
				return // the ARG default is the reference
			}
		}
		if comp, ok := s.m.Mentions(v); ok {
			s.warn(line, comp, v, "managed repository built from variables", hintDockerVariable)
		}
		return
	}
	if comp, ok := matchAt(s.m, v, true); ok {
		s.ref(start, end, v, comp)
	} else if comp, ok := s.m.Mentions(v); ok {
		s.warn(line, comp, v, "mentions a managed repository but is not a whole image reference", hintNotWhole)
	}
}

// dockerVarOnly reports whether v is exactly one variable, $NAME or ${NAME}.
func dockerVarOnly(v string) (string, bool) {
	if n, ok := strings.CutPrefix(v, "${"); ok && strings.HasSuffix(n, "}") {
		n = n[:len(n)-1]
		return n, isDockerName(n)
	}
	if n, ok := strings.CutPrefix(v, "$"); ok {
		return n, isDockerName(n)
	}
	return "", false
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func (s *dockerScanner) ref(start, end int, v, comp string) {
	line, col := s.lines.lineCol(start)
	s.res.Refs = append(s.res.Refs, Ref{Start: start, End: end, Line: line, Column: col, Value: v, Component: comp, Field: FieldRef})
}

func (s *dockerScanner) warn(line int, comp, value, msg, hint string) {
	s.res.Warnings = append(s.res.Warnings, Warning{Line: line, Component: comp, Value: value, Message: msg, Hint: hint})
}
