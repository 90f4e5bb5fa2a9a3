package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wellcomecollection/pin/internal/jsonscan"
	"github.com/wellcomecollection/pin/internal/projectfiles"
	"github.com/wellcomecollection/pin/internal/regular"
	"github.com/wellcomecollection/pin/rewrite"
)

// Found is one image reference seen in an input.
type Found struct {
	Source  string // file path, "-" for stdin
	Line    int    // 1-based line, 0 when none is known
	Address string // state, Kubernetes or ECS address, e.g. "module.stack.aws_ecs_task_definition.bags_api container app"
	Ref     string // the reference as written (or the marked part, see Field)

	// Component and Field are set only for values carrying a
	// `# pin:<component>:<field>` marker whose field is "tag" or "digest":
	// Ref then holds just that part.
	Component string
	Field     string
}

// Location renders where the reference was found: path:line, then the address.
func (f Found) Location() string {
	s := f.Source
	if f.Line > 0 {
		s = fmt.Sprintf("%s:%d", s, f.Line)
	}
	if f.Address != "" {
		s += " " + f.Address
	}
	return s
}

// maxInput caps what one input may hold; state files of large stacks run to
// tens of megabytes, nothing legitimate comes near this.
const maxInput = 256 << 20

// wanted reports whether a file met while walking a directory is audited:
// *.tf *.tfvars *.tf.json *.yaml *.yml *.json Dockerfile* *.tfstate.
func wanted(base string) bool {
	if projectfiles.Own(base) {
		return false
	}
	l := strings.ToLower(base)
	if strings.HasSuffix(l, ".tfstate") {
		return true
	}
	_, ok := rewrite.FormatOf(base)
	return ok
}

// Options tune an extraction.
type Options struct {
	// Mentions, when set, names the product's component that a value
	// mentions without being a whole reference (an interpolation, an escaped
	// string, a split value, an image inside a heredoc): the scanners then
	// report those values as Notes, since they cannot be judged.
	Mentions func(s string) (component string, ok bool)
}

// HintRenderedChart ends the hint for a chart template, which is auditable
// only once rendered; cmd/pin words it with the pipeline that renders it.
const HintRenderedChart = "the rendered output of the chart"

// Note is something an audit saw but could not judge: a value that names a
// product repository without being a reference pin can read, or a file met
// while walking a directory that could not be parsed.
type Note struct {
	Source    string `json:"source"`
	Line      int    `json:"line"`
	Component string `json:"component,omitempty"`
	Value     string `json:"value,omitempty"`
	Message   string `json:"message"`
	Hint      string `json:"hint,omitempty"`
}

func (n Note) String() string {
	s := fmt.Sprintf("%s:%d: %s", n.Source, n.Line, n.Message)
	if n.Value != "" {
		s += fmt.Sprintf(" (%s)", n.Value)
	}
	if n.Hint != "" {
		s += ": " + n.Hint
	}
	return s
}

// extraction carries options and collects notes across the inputs of one run.
type extraction struct {
	o     Options
	notes []Note
}

// ExtractPaths extracts the references of every path: a file, a directory
// (walked in lexical order, skipping .git, .terraform, node_modules and pin's
// own pin.yaml and pin.lock, reading only the file types pin audits) or "-"
// for stdin. An input named explicitly that cannot be read or parsed stops
// it, with an error that names the file.
func ExtractPaths(paths []string, stdin io.Reader) ([]Found, error) {
	found, _, err := ExtractPathsWith(paths, stdin, Options{})
	return found, err
}

// ExtractPathsWith is ExtractPaths with options; it also returns notes. A
// file met while walking a directory that cannot be parsed becomes a note,
// not an error: an audit reports what it can.
func ExtractPathsWith(paths []string, stdin io.Reader, o Options) ([]Found, []Note, error) {
	x := &extraction{o: o}
	found, err := x.paths(paths, stdin)
	if err != nil {
		return nil, nil, err
	}
	return found, x.notes, nil
}

func (x *extraction) paths(paths []string, stdin io.Reader) ([]Found, error) {
	var out []Found
	stdinRead := false
	for _, p := range paths {
		if p == "-" {
			if stdinRead {
				return nil, errors.New("-: standard input given twice")
			}
			stdinRead = true
			if stdin == nil {
				return nil, errors.New("-: no standard input")
			}
			data, err := io.ReadAll(io.LimitReader(stdin, maxInput+1))
			if err != nil {
				return nil, fmt.Errorf("-: read standard input: %w", err)
			}
			fs, err := x.extract("-", data)
			if err != nil {
				return nil, err
			}
			out = append(out, fs...)
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			fs, err := x.file(p, false)
			if err != nil {
				return nil, err
			}
			out = append(out, fs...)
			continue
		}
		files, err := walkInputs(p, wanted)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			fs, err := x.file(f, true)
			if err != nil {
				return nil, err
			}
			out = append(out, fs...)
		}
	}
	return out, nil
}

// walkInputs returns the files under dir whose base name want accepts, in
// lexical order, walked as pin update and check walk a project
// (projectfiles.Walk: the same skipped directories and own files, symlinks
// followed only to regular files inside dir, special files passed over).
// A symlinked directory is not entered: audit reads what lies in the tree
// it was given.
func walkInputs(dir string, want func(base string) bool) ([]string, error) {
	var files []string
	_, err := projectfiles.Walk(dir, func(e projectfiles.Entry) error {
		if !e.Dir && want(path.Base(e.Rel)) {
			files = append(files, filepath.Join(dir, filepath.FromSlash(e.Rel)))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	return files, nil
}

// extractFile extracts one file. Met while walking a directory, a YAML file
// that only parses once rendered (a Helm chart's templates/) holds nothing
// auditable and is passed over, as pin update does, rather than stopping
// the audit; named explicitly, its parse error is reported.
func (x *extraction) file(path string, walked bool) ([]Found, error) {
	data, err := regular.ReadFile(path, maxInput)
	if err != nil {
		return nil, err
	}
	found, err := x.extract(path, data)
	if rewrite.IsTemplate(path, data, err) {
		// A chart template, named or walked: nothing auditable until rendered.
		n := Note{Source: path, Line: 1, Message: rewrite.TemplateMessage,
			Hint: "audit the chart's values file, or " + HintRenderedChart}
		var pe *rewrite.ParseError
		if errors.As(err, &pe) {
			n.Line = pe.Line
		}
		x.notes = append(x.notes, n)
		return nil, nil
	}
	if walked && err != nil {
		// Reading succeeded, so this is content pin cannot parse.
		n := Note{Source: path, Line: 1, Message: "skipped: " + strings.TrimPrefix(err.Error(), path+": ")}
		var pe *rewrite.ParseError
		if errors.As(err, &pe) {
			n.Line, n.Message = pe.Line, "skipped: "+pe.Msg
		}
		x.notes = append(x.notes, n)
		return nil, nil
	}
	return found, err
}

// Extract finds every image reference in one input. The kind of input is
// told from its content first, then its name:
//
//   - Terraform state (a JSON object with "resources" and
//     "terraform_version"): every resource instance, with its address
//     (module.stack.aws_ecs_task_definition.bags_api[0]);
//   - `terraform show -json` output, of state or a plan ("values",
//     "planned_values" or "prior_state", each with a "root_module" and nested
//     "child_modules");
//   - `aws ecs describe-task-definition` ({"taskDefinition": ...}),
//     `describe-tasks` ({"tasks": [...]}, where a container's "imageDigest"
//     completes a tag) and `describe-services` ({"services": [...]});
//   - kubectl JSON: a List (or *List) of items, or one object: containers,
//     initContainers and ephemeralContainers at any depth (Deployments, Jobs,
//     CronJobs' jobTemplate), with a Pod's status.containerStatuses imageID
//     completing a tag with the digest the node actually runs;
//   - otherwise the configuration formats pin update reads, through
//     rewrite.Scan with a matcher that accepts every image reference.
//
// In state and ECS JSON, container definitions held as JSON-encoded strings
// (container_definitions) are decoded and searched too; their references get
// the line of the string. path is used for messages and, for configuration
// formats, to pick the format; "-" (stdin) is detected from content.
func Extract(path string, data []byte) ([]Found, error) {
	return (&extraction{}).extract(path, data)
}

func (x *extraction) extract(path string, data []byte) ([]Found, error) {
	if len(data) > maxInput {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxInput)
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) == 0 {
		if path == "-" {
			return nil, errors.New("-: standard input is empty (pipe terraform show -json, aws ecs or kubectl output, or a config file)")
		}
		return nil, nil // an empty state or file holds nothing
	}
	// `{{- if ...}}` opens a template, not a JSON object.
	if (trimmed[0] == '{' || trimmed[0] == '[') && !bytes.HasPrefix(trimmed, []byte("{{")) {
		body := bytes.TrimPrefix(data, []byte("\ufeff")) // a BOM moves no line
		root, err := parseJSON(body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		x := &extractor{path: path, data: body}
		if x.structured(root) {
			return x.out, nil
		}
	} else if strings.HasSuffix(strings.ToLower(path), ".tfstate") {
		return nil, fmt.Errorf("%s: not a JSON Terraform state", path)
	}
	return x.scanConfig(path, data)
}

// scanConfig reads a configuration file through the rewrite scanners.
func (x *extraction) scanConfig(path string, data []byte) ([]Found, error) {
	dispatch := path
	if _, ok := rewrite.FormatOf(path); !ok {
		// Only stdin is sniffed; a named file of another kind is a mistake,
		// unless it is JSON (state or describe output saved under any name).
		if t := bytes.TrimLeft(data, " \t\r\n\ufeff"); path == "-" || (len(t) > 0 && (t[0] == '{' || t[0] == '[')) {
			dispatch = sniffName(data)
		} else {
			dispatch = ""
		}
		if dispatch == "" {
			return nil, fmt.Errorf("%s: not an input pin audit reads (Terraform, YAML, JSON, Dockerfile, state)", path)
		}
	}
	if path == "-" && dispatch == "stdin.yaml" && !yamlHasStructure(data) {
		return nil, errors.New("-: standard input is not an input pin audit reads (Terraform, YAML, JSON, Dockerfile, state, ECS or kubectl JSON)")
	}
	res, err := rewrite.Scan(dispatch, data, allRefs{mentions: x.o.Mentions})
	if err != nil {
		var pe *rewrite.ParseError
		if dispatch != path && errors.As(err, &pe) {
			pe2 := *pe
			pe2.File = path
			return nil, &pe2
		}
		return nil, err
	}
	for _, w := range res.Warnings {
		x.notes = append(x.notes, Note{Source: path, Line: w.Line, Component: w.Component, Value: w.Value, Message: w.Message, Hint: w.Hint})
	}
	var out []Found
	for _, r := range res.Refs {
		f := Found{Source: path, Line: r.Line, Ref: r.Value}
		switch {
		case r.Image != "":
			f.Ref = r.Image // the fields of a split image, read as one
		case r.Field == rewrite.FieldRef || r.Field == "":
		case r.Field == rewrite.FieldTag || r.Field == rewrite.FieldDigest:
			f.Component, f.Field = r.Component, string(r.Field)
		default:
			continue // a repository alone says nothing about what runs
		}
		out = append(out, f)
	}
	// Split values (`tag:` and `digest:` keys marked for one component) are
	// one reference judged by its digest: drop the tag when a digest is there.
	digests := map[string]bool{}
	for _, f := range out {
		if f.Field == string(rewrite.FieldDigest) {
			digests[f.Component] = true
		}
	}
	kept := out[:0]
	for _, f := range out {
		if f.Field != string(rewrite.FieldTag) || !digests[f.Component] {
			kept = append(kept, f)
		}
	}
	return kept, nil
}

var hclHint = regexp.MustCompile(`(?m)^\s*(resource|module|variable|locals|terraform|provider|data|output)\b[^\n]*\{\s*$`)
var dockerHint = regexp.MustCompile(`(?im)^\s*FROM\s+\S`)

// sniffName picks a file name that makes rewrite.Scan use the right format
// for an input whose own name says nothing (stdin, odd names).
func sniffName(data []byte) string {
	t := bytes.TrimLeft(data, " \t\r\n\ufeff")
	switch {
	case len(t) > 0 && (t[0] == '{' || t[0] == '['):
		return "stdin.json"
	case hclHint.Match(data):
		return "stdin.tf"
	case dockerHint.Match(data) && !bytes.Contains(data, []byte("\n  ")):
		return "Dockerfile"
	case len(t) > 0:
		return "stdin.yaml"
	}
	return ""
}

// allRefs is the rewrite.Matcher of an audit: every whole image reference is
// reported, whatever its repository; the repository stands in for the
// component. What counts as an image is rewrite.ImageShape, judged at the
// value's place: "nginx" under an image key, but not `s3:PutObject` or
// "8080:80" in any other.
type allRefs struct {
	mentions func(string) (string, bool)
}

func (allRefs) Match(s string) (string, bool) {
	return rewrite.ImageShape(s, false)
}

func (a allRefs) Mentions(s string) (string, bool) {
	if a.mentions == nil {
		return "", false
	}
	return a.mentions(s)
}

// MatchAt judges s by its shape and its place (rewrite.ImageShape): an
// unqualified name counts only where an image is expected.
func (allRefs) MatchAt(s string, imagePlace bool) (string, bool) {
	return rewrite.ImageShape(s, imagePlace)
}

// extractor walks one parsed JSON input of a known shape.
type extractor struct {
	path  string
	data  []byte
	nl    []int // offsets of newlines, built on first use
	out   []Found
	fixed int // line to report for values inside an embedded JSON string
}

// structured extracts from the JSON shapes audit knows; false means root is
// none of them (a configuration file for rewrite.Scan).
func (x *extractor) structured(root *jval) bool {
	if root.Kind != '{' {
		return false
	}
	switch {
	case root.Get("resources") != nil && (root.Get("terraform_version") != nil || root.Get("version") != nil) && root.Get("values") == nil:
		x.rawState(root)
	case root.Get("format_version") != nil && (root.Get("values") != nil || root.Get("planned_values") != nil || root.Get("prior_state") != nil):
		for _, key := range []string{"values", "planned_values"} {
			if v := root.Get(key); v != nil {
				x.module(v.Get("root_module"))
			}
		}
		if ps := root.Get("prior_state"); ps != nil && root.Get("values") == nil && root.Get("planned_values") == nil {
			if v := ps.Get("values"); v != nil {
				x.module(v.Get("root_module"))
			}
		}
	case root.Get("taskDefinition") != nil && root.Get("taskDefinition").Kind == '{':
		td := root.Get("taskDefinition")
		x.walk(td, taskDefAddress(td))
	case root.Get("tasks") != nil && root.Get("tasks").Kind == '[':
		for _, t := range root.Get("tasks").Elems {
			addr := "task"
			if arn := t.StringOf("taskArn"); arn != "" {
				addr = "task/" + arn[strings.LastIndexByte(arn, '/')+1:]
			}
			x.walk(t, addr)
		}
	case root.Get("services") != nil && root.Get("services").Kind == '[':
		for _, s := range root.Get("services").Elems {
			x.walk(s, "service/"+s.StringOf("serviceName"))
		}
	case root.Get("apiVersion") != nil && root.Get("kind") != nil:
		kind := root.StringOf("kind")
		if kind == "List" || strings.HasSuffix(kind, "List") {
			if items := root.Get("items"); items != nil {
				for _, it := range items.Elems {
					x.k8s(it)
				}
			}
		} else {
			x.k8s(root)
		}
	default:
		return false
	}
	return true
}

// rawState reads a raw state file (format version 4).
func (x *extractor) rawState(root *jval) {
	for _, r := range root.Get("resources").Elems {
		addr := r.StringOf("type") + "." + r.StringOf("name")
		if r.StringOf("mode") == "data" {
			addr = "data." + addr
		}
		if m := r.StringOf("module"); m != "" {
			addr = m + "." + addr
		}
		insts := r.Get("instances")
		if insts == nil {
			continue
		}
		for _, in := range insts.Elems {
			a := addr
			if k := in.Get("index_key"); k != nil {
				switch k.Kind {
				case 's':
					a += fmt.Sprintf("[%q]", k.Str)
				case 'n':
					a += "[" + k.Str + "]"
				}
			}
			x.walk(in.Get("attributes"), a)
		}
	}
}

// module reads a `terraform show -json` module and its children.
func (x *extractor) module(m *jval) {
	if m == nil {
		return
	}
	if rs := m.Get("resources"); rs != nil {
		for _, r := range rs.Elems {
			x.walk(r.Get("values"), r.StringOf("address"))
		}
	}
	if cs := m.Get("child_modules"); cs != nil {
		for _, c := range cs.Elems {
			x.module(c)
		}
	}
}

func taskDefAddress(td *jval) string {
	if f := td.StringOf("family"); f != "" {
		if r := td.Get("revision"); r != nil && r.Kind == 'n' {
			return "task-definition/" + f + ":" + r.Str
		}
		return "task-definition/" + f
	}
	return "task-definition"
}

// k8s reads one Kubernetes object.
func (x *extractor) k8s(it *jval) {
	if it == nil || it.Kind != '{' {
		return
	}
	addr := it.StringOf("kind")
	if md := it.Get("metadata"); md != nil {
		if ns := md.StringOf("namespace"); ns != "" {
			addr += "/" + ns
		}
		addr += "/" + md.StringOf("name")
	}
	// A Pod's status says which digest each container runs.
	running := map[string]string{}
	if st := it.Get("status"); st != nil {
		for _, key := range []string{"containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"} {
			if cs := st.Get(key); cs != nil {
				for _, c := range cs.Elems {
					id := c.StringOf("imageID")
					if i := strings.LastIndex(id, "@sha256:"); i >= 0 {
						running[c.StringOf("name")] = id[i+1:]
					}
				}
			}
		}
	}
	var find func(v *jval)
	find = func(v *jval) {
		switch v.Kind {
		case '{':
			for i, k := range v.Keys {
				val := v.Vals[i]
				if (k == "containers" || k == "initContainers" || k == "ephemeralContainers") && val.Kind == '[' {
					for _, c := range val.Elems {
						x.container(c, addr, running[c.StringOf("name")])
					}
					continue
				}
				if k == "status" && v == it {
					continue
				}
				find(val)
			}
		case '[':
			for _, e := range v.Elems {
				find(e)
			}
		}
	}
	find(it)
}

// container reports the image of one container object; digest, when the
// image carries none, completes it (what the runtime reported).
func (x *extractor) container(c *jval, addr, digest string) {
	if c == nil || c.Kind != '{' {
		return
	}
	img := c.Get("image")
	if img == nil || img.Kind != 's' {
		return
	}
	if _, ok := rewrite.ImageShape(img.Str, true); !ok {
		return
	}
	ref := img.Str
	if digest != "" && !strings.Contains(ref, "@") {
		ref += "@" + digest
	}
	if n := c.StringOf("name"); n != "" {
		addr += " container " + n
	}
	x.out = append(x.out, Found{Source: x.path, Line: x.line(img), Address: addr, Ref: ref})
}

// walk finds image references anywhere below v: an object with an image key
// is a container (its "name" names it, its "imageDigest" completes a tag),
// and strings holding JSON are decoded and searched too.
func (x *extractor) walk(v *jval, addr string) {
	if v == nil {
		return
	}
	switch v.Kind {
	case '{':
		for i, k := range v.Keys {
			val := v.Vals[i]
			if rewrite.ImageKey(k) && val.Kind == 's' {
				if _, ok := rewrite.ImageShape(val.Str, true); ok {
					ref := val.Str
					if d := v.StringOf("imageDigest"); d != "" && !strings.Contains(ref, "@") {
						ref += "@" + d
					}
					a := addr
					if n := v.StringOf("name"); n != "" {
						a += " container " + n
					}
					x.out = append(x.out, Found{Source: x.path, Line: x.line(val), Address: a, Ref: ref})
				}
				continue
			}
			x.walk(val, addr)
		}
	case '[':
		for _, e := range v.Elems {
			x.walk(e, addr)
		}
	case 's':
		t := strings.TrimSpace(v.Str)
		if len(t) < 2 || (t[0] != '[' && t[0] != '{') {
			return
		}
		inner, err := parseJSON([]byte(t))
		if err != nil {
			return // a string that merely starts like JSON
		}
		saved := x.fixed
		if x.fixed == 0 {
			x.fixed = x.line(v)
		}
		x.walk(inner, addr)
		x.fixed = saved
	}
}

// line returns the 1-based line of a value of the input being walked.
func (x *extractor) line(v *jval) int {
	if x.fixed != 0 {
		return x.fixed
	}
	if x.nl == nil {
		x.nl = make([]int, 0, 64)
		for i, b := range x.data {
			if b == '\n' {
				x.nl = append(x.nl, i)
			}
		}
	}
	return sort.SearchInts(x.nl, v.Start) + 1
}

// jval is a parsed JSON value that remembers where it is written.
type jval = jsonscan.Value

// maxDepth bounds the nesting of the JSON audit reads.
const maxDepth = 256

// parseJSON parses one JSON document, keeping each value's offset. Invalid
// JSON is an error naming the line.
func parseJSON(data []byte) (*jval, error) { return jsonscan.Parse(data, maxDepth) }

// yamlHasStructure reports whether data parses as YAML with a mapping or a
// sequence at the top: any text parses as a YAML scalar, which says nothing.
func yamlHasStructure(data []byte) bool {
	var n yaml.Node
	if yaml.Unmarshal(data, &n) != nil || len(n.Content) == 0 {
		return true // let the scanner report the parse error with its line
	}
	k := n.Content[0].Kind
	return k == yaml.MappingNode || k == yaml.SequenceNode
}
