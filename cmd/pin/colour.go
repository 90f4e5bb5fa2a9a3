package main

import "strings"

// ANSI styles for unified diffs, as git colours them.
const (
	ansiReset = "\033[0m"
	ansiBold  = "\033[1m"
	ansiRed   = "\033[31m"
	ansiGreen = "\033[32m"
	ansiCyan  = "\033[36m"
)

// colour reports whether stdout gets colour: a terminal, NO_COLOR unset or
// empty (https://no-color.org), and a TERM that is not "dumb", as git and
// terraform decide.
func (a *app) colour() bool {
	if !a.OutTTY {
		return false
	}
	if v, ok := a.lookupEnv("NO_COLOR"); ok && v != "" {
		return false
	}
	if v, _ := a.lookupEnv("TERM"); v == "dumb" {
		return false
	}
	return true
}

// colourDiff colours a unified diff line by line: file headers bold, hunk
// headers cyan, removals red, additions green. Every line keeps its bytes;
// only escape sequences are added around them.
func colourDiff(diff string) string {
	if diff == "" {
		return diff
	}
	var b strings.Builder
	lines := strings.SplitAfter(diff, "\n")
	for _, l := range lines {
		if l == "" {
			continue
		}
		body, nl := strings.CutSuffix(l, "\n")
		style := ""
		switch {
		case strings.HasPrefix(body, "+++ "), strings.HasPrefix(body, "--- "):
			style = ansiBold
		case strings.HasPrefix(body, "@@"):
			style = ansiCyan
		case strings.HasPrefix(body, "+"):
			style = ansiGreen
		case strings.HasPrefix(body, "-"):
			style = ansiRed
		}
		if style == "" {
			b.WriteString(l)
			continue
		}
		b.WriteString(style + body + ansiReset)
		if nl {
			b.WriteString("\n")
		}
	}
	return b.String()
}
