package pin

import (
	"bytes"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wellcomecollection/pin/internal/reponame"
	"github.com/wellcomecollection/pin/manifest"
)

// Matcher decides which strings in a file are references to a release's
// components. It implements rewrite.Matcher.
type Matcher struct {
	// byRepo maps a repository (upstream or mirrored) to its component.
	byRepo map[string]string
	// target is the repository each component is written with (mirror applied).
	target map[string]string
	// needles are substrings every file holding a managed repository contains
	// ("/bags_api"): a cheap filter that lets most files skip parsing.
	needles [][]byte
	// byLast maps a repository's last path element to its component.
	byLast map[string]string
	// source is the release's source repository as module sources spell it
	// (rewrite.CanonicalSourceRepo), "" when it has none.
	source string
	// deployNeedles filter files for deployment values (see deployNeedles).
	deployNeedles [][]byte
}

// NewMatcher builds a matcher for the components of rel. registryMap maps an
// upstream prefix (public.ecr.aws/y1p3h6z3) to a mirror prefix; references to
// either are managed, and are written with the mirror.
func NewMatcher(rel *manifest.Release, registryMap map[string]string) *Matcher {
	m := &Matcher{byRepo: map[string]string{}, target: map[string]string{}, byLast: map[string]string{}}
	seen := map[string]bool{}
	for _, c := range rel.Components {
		up := reponame.Canonical(c.Repository)
		m.byRepo[up] = c.Name
		m.target[c.Name] = c.Repository
		repos := []string{c.Repository}
		if mapped, ok := reponame.Map(c.Repository, registryMap); ok {
			m.byRepo[reponame.Canonical(mapped)] = c.Name
			m.target[c.Name] = mapped
			repos = append(repos, mapped) // a mirror may rename the repository
		}
		for _, r := range repos {
			last := r[strings.LastIndexByte(r, '/')+1:]
			if !seen[last] {
				seen[last] = true
				m.needles = append(m.needles, []byte("/"+last))
				m.byLast[last] = c.Name
			}
		}
	}
	sort.Slice(m.needles, func(i, j int) bool { return string(m.needles[i]) < string(m.needles[j]) })
	m.source = sourceRepo(rel)
	m.deployNeedles = deployNeedles(rel, m)
	return m
}

// Target returns the repository that component is written with.
func (m *Matcher) Target(component string) string { return m.target[component] }

// MayContain reports whether data could hold a managed reference at all,
// once decoded: false only when it provably cannot. The raw bytes must hold
// a needle ("/bags_api"), unless a spelling could hide one: an escape or a
// line continuation (\u0062, \x62, \/, \<newline>; a Dockerfile's escape=
// directive) or a wide encoding (UTF-16 or UTF-32, whose NUL bytes split
// every ASCII needle; they are looked for with the NULs dropped, and
// rewrite.Scan refuses such a file).
func (m *Matcher) MayContain(data []byte) bool {
	if mayHideNeedle(data) {
		return true
	}
	if bytes.IndexByte(data, 0) >= 0 {
		data = bytes.ReplaceAll(data, []byte{0}, nil)
	}
	for _, n := range m.needles {
		if bytes.Contains(data, n) {
			return true
		}
	}
	return false
}

// mayHideNeedle reports whether data holds an escape that could spell a
// character of a repository name, or a line continuation that could cut one.
func mayHideNeedle(data []byte) bool {
	if bytes.Contains(data, []byte("escape=")) {
		return true // a Dockerfile may continue lines with another character
	}
	for i := bytes.IndexByte(data, '\\'); i >= 0; {
		j := i + 1
		for j < len(data) && (data[j] == ' ' || data[j] == '\t') {
			j++ // Docker allows blanks after a continuation
		}
		if j < len(data) {
			switch c := data[j]; {
			case c == '\n' || c == '\r':
				return true
			case j == i+1 && (c == 'u' || c == 'U' || c == 'x' || c == '/' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'):
				return true // \u0062 and friends, or a shell escape of a name character
			}
		}
		next := bytes.IndexByte(data[j:], '\\')
		if next < 0 {
			break
		}
		i = j + next
	}
	return false
}

// Match reports whether s, a whole value, is a reference to a component.
func (m *Matcher) Match(s string) (string, bool) {
	if len(s) < 3 || len(s) > 512 || !strings.Contains(s, "/") || strings.ContainsAny(s, " \t\r\n\"'${}") {
		return "", false
	}
	ref, err := name.ParseReference(s, name.WeakValidation)
	if err != nil {
		return "", false
	}
	// A reference must name its registry: "bags_api:latest" is not ours.
	if first := s[:strings.IndexByte(s, '/')]; !strings.ContainsAny(first, ".:") && first != "localhost" {
		return "", false
	}
	c, ok := m.byRepo[ref.Context().Name()]
	return c, ok
}

// Mentions reports whether s names a managed repository without being a
// whole reference: an interpolation, a sentence, a split value.
func (m *Matcher) Mentions(s string) (string, bool) {
	// An AWS ARN is never an image reference, though it often ends in a
	// service's name (role/notifier, service/cluster/bags_api): a mention
	// now fails update and check, so it must not be one.
	if strings.HasPrefix(s, "arn:") && !strings.ContainsAny(s, " \t\r\n\"'${}") {
		return "", false
	}
	if !strings.ContainsAny(s, " \t\r\n\"'${}") {
		if _, err := name.ParseReference(s, name.WeakValidation); err == nil {
			return "", false // a whole reference, to a repository that is not ours
		}
	}
	for repo, c := range m.byRepo {
		for i := strings.Index(s, repo); i >= 0; {
			if end := i + len(repo); end == len(s) || strings.IndexByte(":@\"}$/ \t\n'", s[end]) >= 0 {
				return c, true
			}
			next := strings.Index(s[i+1:], repo)
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	for last, c := range m.byLast {
		for _, suffix := range []string{":", "@", "\"", "}", "$"} {
			if strings.Contains(s, "/"+last+suffix) {
				return c, true
			}
		}
		if strings.HasSuffix(s, "/"+last) {
			return c, true
		}
	}
	return "", false
}

// Component returns the component a repository (upstream or mirrored) belongs to.
func (m *Matcher) Component(repo string) (string, bool) {
	c, ok := m.byRepo[reponame.Canonical(repo)]
	return c, ok
}
