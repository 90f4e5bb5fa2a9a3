package pin

import (
	"fmt"
	"io/fs"
	"path/filepath"
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
// the files an update leaves while it works). A symlink the globs reach
// whose target lies outside dir (a file, or a directory the globs could
// enter), or a symlinked directory inside dir whose target the globs cannot
// reach, is returned in escaped, never in files: callers refuse them.
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
		if e.Dir {
			// WalkDir does not follow a symlinked directory. One the globs
			// could reach into is refused when it leads out of the project,
			// or when its target is out of the globs' reach, so that no
			// reference is skipped without a word.
			if globsMayEnter(globs, e.Rel) && (e.TargetRel == "" || !globsMayEnter(globs, e.TargetRel)) {
				escaped = append(escaped, e.Rel)
			}
			return nil
		}
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
	// A symlinked file outside the project is refused only when the globs
	// reach it: one no glob names is not pin's to manage.
	for _, rel := range walked.Escaped {
		for _, r := range res {
			if r.MatchString(rel) {
				escaped = append(escaped, rel)
				break
			}
		}
	}
	sort.Strings(escaped)
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })
	return files, escaped, err
}

// inside reports whether path t lies in root (both with symlinks resolved).
func inside(root, t string) bool {
	r, err := filepath.Rel(root, t)
	return err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator))
}

// globsMayEnter reports whether some glob could match a path under the
// directory dir (slash-separated, relative): each of dir's elements must
// match the glob's element at its place, until a ** (which matches any
// depth), and the glob must go deeper than dir. It errs towards true.
func globsMayEnter(globs []string, dir string) bool {
	if dir == "." || dir == "" {
		return true
	}
	elems := strings.Split(dir, "/")
	for _, g := range globs {
		gs := strings.Split(g, "/")
		may := true
		for i, e := range elems {
			if i >= len(gs)-1 {
				may = i < len(gs) && strings.Contains(gs[i], "**")
				break
			}
			if strings.Contains(gs[i], "**") {
				break
			}
			re, err := compileGlob(gs[i])
			if err == nil && !re.MatchString(e) {
				may = false
				break
			}
		}
		if may {
			return true
		}
	}
	return false
}
