package rewrite

import (
	"strings"
)

// ModuleSource is a Terraform module `source` address that names a git
// repository: `github.com/ORG/REPO.git//PATH?ref=X`, `git::https://...`,
// `git::ssh://git@host/...`, `git@host:ORG/REPO.git//...`.
type ModuleSource struct {
	// Repo is the repository in one spelling for every form: host/ORG/REPO,
	// lower case, without scheme, user, port or `.git`.
	Repo string
	// Path is the `//PATH` inside the repository, "" when none.
	Path string
	// Ref is the `ref` query parameter's value, "" when there is none.
	Ref string
	// RefStart and RefEnd are the byte span of Ref inside the address. When
	// there is no ref both are the end of the address and RefPrefix is what
	// must come before a new value (`?ref=` or `&ref=`).
	RefStart, RefEnd int
	RefPrefix        string
}

// ParseModuleSource reads a module source address. ok is false for
// addresses that do not name a git repository (registry modules, local
// paths, plain HTTP archives, S3 buckets).
func ParseModuleSource(addr string) (ModuleSource, bool) {
	rest := addr
	forcedGit := strings.HasPrefix(rest, "git::")
	rest = strings.TrimPrefix(rest, "git::")
	query, hasQuery := "", false
	queryAt := strings.IndexByte(rest, '?')
	if queryAt >= 0 {
		query, hasQuery = rest[queryAt+1:], true
		rest = rest[:queryAt]
	}
	var hostPath string
	switch {
	case strings.HasPrefix(rest, "https://"), strings.HasPrefix(rest, "http://"), strings.HasPrefix(rest, "ssh://"):
		if !forcedGit {
			return ModuleSource{}, false // a plain URL is an archive, not a git repository
		}
		hostPath = rest[strings.Index(rest, "://")+3:]
		if at := strings.IndexByte(hostPath, '@'); at >= 0 && at < strings.IndexByte(hostPath+"/", '/') {
			hostPath = hostPath[at+1:] // user@
		}
		if slash := strings.IndexByte(hostPath, '/'); slash > 0 {
			if colon := strings.IndexByte(hostPath[:slash], ':'); colon >= 0 {
				hostPath = hostPath[:colon] + hostPath[slash:] // :port
			}
		}
	case strings.Contains(rest, "@") && strings.Contains(rest, ":") && !strings.Contains(rest, "://"):
		// scp-like: git@github.com:ORG/REPO.git
		at := strings.IndexByte(rest, '@')
		colon := strings.IndexByte(rest[at:], ':')
		if colon < 2 {
			return ModuleSource{}, false // no host between @ and :
		}
		colon += at
		hostPath = rest[at+1:colon] + "/" + rest[colon+1:]
	case strings.HasPrefix(rest, "github.com/"), strings.HasPrefix(rest, "bitbucket.org/"):
		hostPath = rest // Terraform's shorthand
	case forcedGit && !strings.HasPrefix(rest, ".") && !strings.HasPrefix(rest, "/"):
		hostPath = rest
	default:
		return ModuleSource{}, false
	}
	ms := ModuleSource{}
	if i := strings.Index(hostPath, "//"); i >= 0 {
		hostPath, ms.Path = hostPath[:i], hostPath[i+2:]
	}
	repo := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(hostPath, "/"), ".git"))
	if strings.Count(repo, "/") < 2 || strings.ContainsAny(repo, " \t\"'$") {
		return ModuleSource{}, false
	}
	ms.Repo = repo
	ms.RefStart, ms.RefEnd = len(addr), len(addr)
	ms.RefPrefix = "?ref="
	if hasQuery {
		ms.RefPrefix = "&ref="
		offset := len(addr) - len(query)
		for _, param := range strings.Split(query, "&") {
			if v, ok := strings.CutPrefix(param, "ref="); ok {
				ms.Ref, ms.RefStart, ms.RefEnd, ms.RefPrefix = v, offset+4, offset+len(param), ""
				break
			}
			offset += len(param) + 1
		}
	}
	return ms, true
}

// CanonicalSourceRepo spells a release's `source.repository` (an https URL,
// a git address, or host/ORG/REPO) the way ModuleSource.Repo does, so the two
// compare equal when they name one repository.
func CanonicalSourceRepo(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "ssh://") {
		s = "git::" + s
	}
	ms, ok := ParseModuleSource(s)
	if !ok || ms.Path != "" {
		return "", false
	}
	return ms.Repo, true
}

// WithRef returns the address with its ref set to ref: only the ref
// value's bytes change (or `?ref=`/`&ref=` and the value are appended).
func (ms ModuleSource) WithRef(addr, ref string) string {
	return addr[:ms.RefStart] + ms.RefPrefix + ref + addr[ms.RefEnd:]
}
