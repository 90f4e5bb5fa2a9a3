package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// SchemaVersion is the version of the JSON report WriteJSON emits.
const SchemaVersion = 1

// shortDigest keeps the algorithm and 12 hex digits, enough to tell
// digests apart on a screen.
func shortDigest(d string) string {
	if strings.HasPrefix(d, "sha256:") && len(d) > 19 {
		return d[:19]
	}
	return d
}

// statusText renders a status with what explains it.
func statusText(f Finding) string {
	switch f.Status {
	case StatusOutdated:
		if f.Behind > 0 {
			return fmt.Sprintf("outdated (%d behind)", f.Behind)
		}
	case StatusYanked:
		if f.Reason != "" {
			return "yanked: " + f.Reason
		}
	case StatusExpired:
		return "expired (current per an expired index)"
	case StatusUnpinned:
		if t := f.Tag; t != "" {
			if len(t) > 24 {
				t = t[:20] + "…"
			}
			return "unpinned (:" + t + ")"
		}
	}
	return string(f.Status)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func header(r *Report) string {
	s := fmt.Sprintf("%s on %s", orDash(r.Product), orDash(r.Channel))
	if r.Newest != "" {
		s += ", newest allowed " + r.Newest
	} else {
		s += ", no allowed release"
	}
	return s
}

// WriteTable writes an aligned table for a terminal: a header naming the
// product and channel, one row per finding, and the summary line.
func (r *Report) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	fmt.Fprintln(ew, header(r))
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOCATION\tCOMPONENT\tSTATUS\tDIGEST\tRELEASES")
	for _, f := range r.Findings {
		comp := f.Component
		if comp == "" {
			comp = f.Repository
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Location(), orDash(comp), statusText(f),
			orDash(shortDigest(f.Digest)), orDash(strings.Join(f.Releases, ",")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(ew, r.Summary.Text)
	return ew.err
}

// mdEscape keeps a value from breaking a Markdown table cell.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "`", "'")
	return r.Replace(s)
}

func mdCode(s string) string {
	if s == "" {
		return ""
	}
	return "`" + mdEscape(s) + "`"
}

// WriteMarkdown writes the report for a pull-request comment: a heading, the
// summary, counts and a table of findings.
func (r *Report) WriteMarkdown(w io.Writer) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "### pin audit: %s\n\n", mdEscape(header(r)))
	fmt.Fprintf(ew, "**%s**\n\n", mdEscape(r.Summary.Text))
	var counts []string
	for _, st := range Statuses {
		if n := r.Summary.Counts[st]; n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, st))
		}
	}
	if len(counts) > 0 {
		fmt.Fprintf(ew, "%s\n\n", strings.Join(counts, " · "))
	}
	if len(r.Findings) == 0 {
		fmt.Fprintln(ew, "No image references found.")
		return ew.err
	}
	fmt.Fprintln(ew, "| Location | Component | Status | Digest | Releases |")
	fmt.Fprintln(ew, "|---|---|---|---|---|")
	for _, f := range r.Findings {
		comp := f.Component
		if comp == "" {
			comp = f.Repository
		}
		fmt.Fprintf(ew, "| %s | %s | %s | %s | %s |\n", mdCode(f.Location()), mdEscape(comp), mdEscape(statusText(f)),
			mdCode(shortDigest(f.Digest)), mdEscape(strings.Join(f.Releases, ", ")))
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(ew, "\n**Not judged:**")
		for _, n := range r.Notes {
			fmt.Fprintf(ew, "- %s %s\n", mdCode(fmt.Sprintf("%s:%d", n.Source, n.Line)), mdEscape(strings.TrimPrefix(n.String(), fmt.Sprintf("%s:%d: ", n.Source, n.Line))))
		}
	}
	return ew.err
}

// The JSON report; see the package documentation for the schema.
type jsonReport struct {
	SchemaVersion int           `json:"schemaVersion"`
	Product       string        `json:"product"`
	Channel       string        `json:"channel"`
	Newest        string        `json:"newest"`
	Summary       jsonSummary   `json:"summary"`
	Findings      []jsonFinding `json:"findings"`
	Warnings      []Note        `json:"warnings"`
}

type jsonSummary struct {
	Consistent bool           `json:"consistent"`
	Mixed      bool           `json:"mixed"`
	Version    string         `json:"version"`
	Versions   []string       `json:"versions"`
	Counts     map[Status]int `json:"counts"`
	Text       string         `json:"text"`
}

type jsonFinding struct {
	Source     string   `json:"source"`
	Line       int      `json:"line"`
	Address    string   `json:"address"`
	Ref        string   `json:"ref"`
	Component  string   `json:"component"`
	Repository string   `json:"repository"`
	Tag        string   `json:"tag"`
	Digest     string   `json:"digest"`
	Status     Status   `json:"status"`
	Releases   []string `json:"releases"`
	Newest     string   `json:"newest"`
	Behind     int      `json:"behind"`
	Reason     string   `json:"reason"`
}

// WriteJSON writes the report as indented JSON, schemaVersion 1 (documented
// in the package comment).
func (r *Report) WriteJSON(w io.Writer) error {
	out := jsonReport{
		SchemaVersion: SchemaVersion,
		Product:       r.Product,
		Channel:       r.Channel,
		Newest:        r.Newest,
		Summary: jsonSummary{
			Consistent: r.Summary.Consistent,
			Mixed:      r.Summary.Mixed,
			Version:    r.Summary.Version,
			Versions:   append([]string{}, r.Summary.Versions...),
			Counts:     map[Status]int{},
			Text:       r.Summary.Text,
		},
		Findings: []jsonFinding{},
		Warnings: append([]Note{}, r.Notes...),
	}
	for _, st := range Statuses {
		out.Summary.Counts[st] = r.Summary.Counts[st]
	}
	for _, f := range r.Findings {
		out.Findings = append(out.Findings, jsonFinding{
			Source: f.Source, Line: f.Line, Address: f.Address, Ref: f.Ref,
			Component: f.Component, Repository: f.Repository, Tag: f.Tag, Digest: f.Digest,
			Status: f.Status, Releases: append([]string{}, f.Releases...), Newest: f.Newest,
			Behind: f.Behind, Reason: f.Reason,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// errWriter remembers the first write error so rendering code can stay flat.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}
