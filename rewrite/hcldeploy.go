package rewrite

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// ProductMatcher answers the questions the deployment scan asks about a
// product's repositories. The consumer workflow's matcher implements it.
type ProductMatcher interface {
	// Component names the component whose repository is repo.
	Component(repo string) (string, bool)
	// Under lists the components whose repository is prefix/NAME: prefix
	// is then a registry namespace of the product (`public.ecr.aws/y1p3h6z3`).
	Under(prefix string) []string
}

// Kinds of DeployRef.
const (
	KindModuleRef = "module-ref" // a module source's ?ref= in the product's source repository
	KindSharedTag = "shared-tag" // one tag that a registry namespace's images share
	KindSplitTag  = "split-tag"  // the tag of a {registry, name, tag} object naming one component
)

// DeployRef is a value that pins a deployment without being an image
// reference: a module source ref, or the tag of a registry/name/tag object.
type DeployRef struct {
	Kind       string
	Line       int
	Start, End int    // span of the value to rewrite (the ref, or the tag inside its quotes)
	Value      string // that value now
	Prefix     string // for a module source without a ref: `?ref=` or `&ref=` to insert first
	Address    string // module-ref: the whole source address
	Module     ModuleSource
	Registry   string   // split-tag, shared-tag: the registry value
	Name       string   // split-tag: the name value
	Components []string // the components the value stands for
	Object     string   // the attribute or key naming the object, for messages
}

// Hints for deployment values pin cannot manage.
const (
	hintPrefixAlone    = "put the tag beside it in one object ({container_registry, container_tag}), or write whole references, so pin can pin them"
	hintPrefixTemplate = "pin cannot pin a reference built from variables; pin the object that holds the registry and tag (see docs/storage-service.md), or write whole references"
	hintSplitTag       = "write the tag as a literal string in the object so pin can set it"
)

// ScanDeploy finds, in a Terraform file, module sources that name the
// product's source repository sourceRepo (as CanonicalSourceRepo spells it;
// "" for none) and objects that split image references into a registry
// prefix of the product, a name and a tag. Values naming the product that it
// cannot manage (a registry prefix without a literal tag beside it, a
// reference templated under a product prefix) become Warnings.
func ScanDeploy(path string, data []byte, m ProductMatcher, sourceRepo string) (refs []DeployRef, warns []Warning, err error) {
	defer func() {
		if r := recover(); r != nil {
			refs, warns, err = nil, nil, &ParseError{File: path, Msg: fmt.Sprintf("HCL parser failed: %v", r)}
		}
	}()
	file, diags := hclsyntax.ParseConfig(data, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, nil, hclParseError(path, diags)
	}
	body, ok := file.Body.(*hclsyntax.Body)
	if !ok {
		return nil, nil, &ParseError{File: path, Msg: "not an HCL native syntax file"}
	}
	d := &deployScanner{data: data, lines: &lineIndex{data: data}, m: m, used: map[hclsyntax.Expression]bool{}}
	if sourceRepo != "" {
		for _, b := range body.Blocks {
			if b.Type == "module" {
				d.module(b, sourceRepo)
			}
		}
	}
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		switch e := n.(type) {
		case *hclsyntax.Body:
			items := map[string]hclsyntax.Expression{}
			for name, a := range e.Attributes {
				items[name] = a.Expr
			}
			d.object(items)
		case *hclsyntax.ObjectConsExpr:
			items := map[string]hclsyntax.Expression{}
			for _, it := range e.Items {
				if k := hclKeyName(it.KeyExpr); k != "" {
					items[k] = it.ValueExpr
				}
			}
			d.object(items)
		}
		return nil
	})
	// Any other string naming a product prefix is one pin cannot manage.
	hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		if t, ok := n.(*hclsyntax.TemplateExpr); ok && !d.used[t] {
			d.stray(t)
		}
		return nil
	})
	sort.SliceStable(d.refs, func(i, j int) bool { return d.refs[i].Start < d.refs[j].Start })
	sort.SliceStable(d.warns, func(i, j int) bool { return d.warns[i].Line < d.warns[j].Line })
	return d.refs, d.warns, nil
}

type deployScanner struct {
	data  []byte
	lines *lineIndex
	m     ProductMatcher
	refs  []DeployRef
	warns []Warning
	used  map[hclsyntax.Expression]bool // strings accounted for by a ref or a warning
}

// literal returns the value of a quoted string without interpolations or
// escapes, with the span of its bytes inside the quotes.
func (d *deployScanner) literal(e hclsyntax.Expression) (value string, start, end int, ok bool) {
	t, isT := e.(*hclsyntax.TemplateExpr)
	if !isT {
		return "", 0, 0, false
	}
	rs, re := t.SrcRange.Start.Byte, t.SrcRange.End.Byte
	if rs < 0 || re > len(d.data) || re-rs < 2 || d.data[rs] != '"' || d.data[re-1] != '"' {
		return "", 0, 0, false
	}
	for _, p := range t.Parts {
		l, ok := p.(*hclsyntax.LiteralValueExpr)
		if !ok || !l.Val.IsKnown() || l.Val.IsNull() || l.Val.Type().FriendlyName() != "string" {
			return "", 0, 0, false
		}
		value += l.Val.AsString()
	}
	if string(d.data[rs+1:re-1]) != value {
		return "", 0, 0, false // escapes: not spliced in place
	}
	return value, rs + 1, re - 1, true
}

func (d *deployScanner) module(b *hclsyntax.Block, sourceRepo string) {
	a, ok := b.Body.Attributes["source"]
	if !ok {
		return
	}
	addr, start, _, ok := d.literal(a.Expr)
	if !ok {
		return
	}
	ms, ok := ParseModuleSource(addr)
	if !ok || ms.Repo != sourceRepo {
		return
	}
	d.used[a.Expr] = true
	line, _ := d.lines.lineCol(start)
	d.refs = append(d.refs, DeployRef{Kind: KindModuleRef, Line: line, Start: start + ms.RefStart, End: start + ms.RefEnd,
		Value: ms.Ref, Prefix: ms.RefPrefix, Address: addr, Module: ms, Object: "module." + strings.Join(b.Labels, ".")})
}

// object looks at one set of named values (a block body or an object).
func (d *deployScanner) object(items map[string]hclsyntax.Expression) {
	var regKey, nameKey, tagKey string
	for k := range items {
		l := strings.ToLower(k)
		switch {
		case strings.HasSuffix(l, "registry"):
			regKey = k
		case strings.HasSuffix(l, "_name") && strings.Contains(l, "container") || l == "name" || l == "image_name" || l == "repository_name":
			nameKey = k
		case strings.HasSuffix(l, "tag"):
			tagKey = k
		}
	}
	if regKey == "" {
		return
	}
	reg, rs, _, ok := d.literal(items[regKey])
	if !ok {
		return
	}
	reg = strings.TrimSuffix(reg, "/")
	under := d.m.Under(reg)
	if len(under) == 0 {
		return
	}
	line, _ := d.lines.lineCol(rs)
	d.used[items[regKey]] = true
	var comps []string
	name := ""
	kind := KindSharedTag
	if nameKey != "" {
		n, _, _, ok := d.literal(items[nameKey])
		if c, known := d.m.Component(reg + "/" + n); ok && known {
			comps, name, kind = []string{c}, n, KindSplitTag
			d.used[items[nameKey]] = true
		} else {
			d.warns = append(d.warns, Warning{Line: line, Component: under[0], Value: reg,
				Message: fmt.Sprintf("%s is a registry prefix of the product, but %s is not the literal name of one of its components", regKey, nameKey), Hint: hintPrefixAlone})
			return
		}
	} else {
		comps = under
	}
	if tagKey == "" {
		d.warns = append(d.warns, Warning{Line: line, Component: comps[0], Value: reg,
			Message: fmt.Sprintf("%s is a registry prefix of the product with no tag beside it", regKey), Hint: hintPrefixAlone})
		return
	}
	tag, ts, te, ok := d.literal(items[tagKey])
	if !ok {
		tl, _ := d.lines.lineCol(items[tagKey].Range().Start.Byte)
		d.warns = append(d.warns, Warning{Line: tl, Component: comps[0], Value: string(d.data[items[tagKey].Range().Start.Byte:items[tagKey].Range().End.Byte]),
			Message: fmt.Sprintf("%s beside the product's registry prefix %s is not a literal string", tagKey, reg), Hint: hintSplitTag})
		return
	}
	d.used[items[tagKey]] = true
	tl, _ := d.lines.lineCol(ts)
	d.refs = append(d.refs, DeployRef{Kind: kind, Line: tl, Start: ts, End: te, Value: tag, Registry: reg, Name: name,
		Components: comps, Object: tagKey})
}

// stray reports a string that names a product registry prefix outside any
// object pin manages: alone, or as the start of a templated reference.
func (d *deployScanner) stray(t *hclsyntax.TemplateExpr) {
	if len(t.Parts) == 0 {
		return
	}
	first, ok := t.Parts[0].(*hclsyntax.LiteralValueExpr)
	if !ok || !first.Val.IsKnown() || first.Val.IsNull() || first.Val.Type().FriendlyName() != "string" {
		return
	}
	s := first.Val.AsString()
	templated := len(t.Parts) > 1
	prefix := strings.TrimSuffix(s, "/")
	if templated && !strings.HasSuffix(s, "/") {
		return
	}
	under := d.m.Under(prefix)
	if len(under) == 0 {
		return
	}
	start, end := t.SrcRange.Start.Byte, t.SrcRange.End.Byte
	line, _ := d.lines.lineCol(start)
	raw := string(d.data[start:end])
	if end-start >= 2 && d.data[start] == '"' && d.data[end-1] == '"' {
		raw = raw[1 : len(raw)-1] // the value, as the other scanners report it
	}
	if templated {
		d.warns = append(d.warns, Warning{Line: line, Component: under[0], Value: raw,
			Message: "image reference templated under the product's registry prefix", Hint: hintPrefixTemplate})
		return
	}
	d.warns = append(d.warns, Warning{Line: line, Component: under[0], Value: raw,
		Message: "registry prefix of the product's repositories, with no tag pin can pin beside it", Hint: hintPrefixAlone})
}
