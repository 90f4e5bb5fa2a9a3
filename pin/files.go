package pin

import (
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"

	"github.com/wellcomecollection/pin/internal/projectfiles"
)

// compileGlob turns a glob with ** (any number of directories) into a regexp
// over slash-separated relative paths.
func compileGlob(g string) (*regexp.Regexp, error) {
	if g == "" || strings.HasPrefix(g, "/") || strings.Contains(g, "..") {
		return nil, fmt.Errorf("file glob %q must be a relative pattern inside the project", g)
	}
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch {
		case strings.HasPrefix(g[i:], "**/"):
			re.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(g[i:], "**"):
			re.WriteString(".*")
			i++
		case c == '*':
			re.WriteString("[^/]*")
		case c == '?':
			re.WriteString("[^/]")
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	return regexp.Compile(re.String())
}

// File is a project file pin may manage.
type File struct {
	Rel  string      // slash-separated path relative to the project directory
	Path string      // absolute path to read and write (symlinks resolved)
	Mode fs.FileMode // permission bits; 0 until known (Plan.Apply stats changed files)
}

// FindFiles lists the files under dir that match the globs, sorted, skipping
// .git, .terraform, node_modules and pin's own files (pin.yaml, pin.lock and
// the files an update leaves while it works). A symlink whose target lies
// outside dir is returned in escaped, never in files.
func FindFiles(dir string, globs []string) (files []File, escaped []string, err error) {
	return findFiles(dir, globs, nil)
}

// findFiles is FindFiles that also appends to stale, when it is not nil, the
// staged files a killed update left under dir.
func findFiles(dir string, globs []string, stale *[]string) (files []File, escaped []string, err error) {
	var res []*regexp.Regexp
	for _, g := range globs {
		r, err := compileGlob(g)
		if err != nil {
			return nil, nil, err
		}
		res = append(res, r)
	}
	walked, err := projectfiles.Walk(dir, func(e projectfiles.Entry) error {
		for _, r := range res {
			if r.MatchString(e.Rel) {
				files = append(files, File{Rel: e.Rel, Path: e.Path, Mode: e.Mode})
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if stale != nil {
		*stale = append(*stale, walked.Staged...)
	}
	escaped = walked.Escaped
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })
	return files, escaped, err
}
