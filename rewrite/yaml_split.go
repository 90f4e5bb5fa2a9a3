package rewrite

import (
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// composeVar is a value that is one variable with a default, as compose
// files write an overridable image: ${BAGS_API_IMAGE:-registry/app:1.2}.
var composeVar = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*(:?-)([^${}]*)\}$`)

// composeDefault reports the default of a `${VAR:-default}` value at sc
// when the default is an image: it is what runs unless the variable is set,
// so pin pins it in place, leaving the variable around it as written.
func (s *yamlScanner) composeDefault(sc yamlScalar, v string, imagePlace bool) bool {
	sm := composeVar.FindStringSubmatchIndex(v)
	if sm == nil || !sc.exact {
		return false
	}
	def := v[sm[4]:sm[5]]
	comp, ok := matchAt(s.m, def, imagePlace)
	if !ok {
		return false
	}
	s.ref(yamlScalar{start: sc.start + sm[4], end: sc.start + sm[5], exact: true, line: sc.line}, def, comp, FieldRef, false)
	return true
}

// splitImage recognises an image split across the fields of one mapping,
// the convention of the most used public Helm charts:
//
//	image:
//	  registry: docker.io        # optional
//	  repository: bitnami/redis
//	  tag: 7.2.4
//	  digest: ""                 # optional
//
// A mapping with `repository` and a `tag` or `digest` is one when it is the
// value of an image key or has a `registry` field. The fields are reported
// as one image (Ref.Image) with the span of the digest field, which pin
// writes; without a digest field, with the span of the tag, which pin does
// not rewrite (a tag pins nothing) and check reports unpinned. Fields with
// `# pin:` markers are left to the markers.
func (s *yamlScanner) splitImage(n *yaml.Node, key string) {
	fields := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "registry", "repository", "tag", "digest":
			if v.Kind != yaml.ScalarNode || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				return
			}
			if s.markers && (strings.Contains(k.LineComment, "pin:") || strings.Contains(v.LineComment, "pin:")) {
				return // the user said what each field is
			}
			fields[k.Value] = v
		}
	}
	repo, tag, digest, registry := fields["repository"], fields["tag"], fields["digest"], fields["registry"]
	if repo == nil || repo.Tag != "!!str" || repo.Value == "" || (tag == nil && digest == nil) || !(ImageKey(key) || registry != nil) {
		return
	}
	ref := repo.Value
	if registry != nil && registry.Value != "" {
		ref = strings.TrimSuffix(registry.Value, "/") + "/" + ref
	}
	if tag != nil && tag.Tag != "!!null" && tag.Value != "" {
		ref += ":" + tag.Value
	}
	if digest != nil && digest.Tag == "!!str" && digest.Value != "" {
		ref += "@" + digest.Value
	}
	comp, ok := matchAt(s.m, ref, true)
	if !ok {
		return
	}
	for _, f := range fields {
		s.consumed[f] = true
	}
	if digest != nil && digest.Tag == "!!str" {
		if sc := s.locate(digest); sc.exact {
			s.splitRef(sc, digest.Value, comp, FieldDigest, ref)
			return
		}
	}
	for _, part := range []struct {
		n *yaml.Node
		f Field
	}{{tag, FieldTag}, {repo, FieldRepo}} {
		if part.n == nil || part.n.Tag == "!!null" {
			continue
		}
		if sc := s.locate(part.n); sc.exact {
			s.splitRef(sc, part.n.Value, comp, part.f, ref)
			return
		}
	}
	// Nothing pin can point at in place (escapes, folded lines): say so.
	sc := s.locate(repo)
	s.warn(sc.line, comp, ref, "image split across fields is written with escapes or across lines", hintEscapes)
}

// splitRef records one field of a split image.
func (s *yamlScanner) splitRef(sc yamlScalar, v, comp string, f Field, image string) {
	s.ref(sc, v, comp, f, false)
	s.res.Refs[len(s.res.Refs)-1].Image = image
}
