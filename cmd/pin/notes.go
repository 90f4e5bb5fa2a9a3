package main

import (
	"strings"

	"github.com/wellcomecollection/pin/audit"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/producer"
)

// This file is the one place that words the library's notes, hints and
// findings (text that is not an error) in the CLI's terms, as hints.go does
// for errors. The packages end such text with a remedy in neutral words, an
// exported constant; noteWords maps each to the command or flag that does it.

// noteWords maps each library remedy to the same remedy in the CLI's words.
var noteWords = []struct{ lib, cli string }{
	{pin.RemedyTrustRoot, "check the fingerprint with the producer and run `pin init --root-sha256 <fingerprint>` to trust it"},
	{pin.RemedyNewRoot, pin.RemedyNewRoot + " (pin root)"},
	{pin.RemedyRecordRevision, "ask the publisher to create releases with --revision (release.yaml's {revision})"},
	{pin.RemedyCommitTags, "ask the publisher for releases made with --revision from ref.{revision} tags"},
	{pin.RemedyDigestField, strings.TrimSuffix(pin.RemedyDigestField, "update again") + "run pin update again"},
	{audit.HintRenderedChart, "the rendered output (helm template ... | pin audit -)"},
	{producer.NoteMixedAllowed, "; allowed by --allow-mixed-revisions, each component's revision is recorded in the manifest"},
}

// cliText is s with every library remedy in it worded for the command line.
// Wording twice changes nothing (some CLI words hold the library's).
func cliText(s string) string {
	for _, w := range noteWords {
		if !strings.Contains(s, w.lib) || strings.Contains(s, w.cli) {
			continue
		}
		s = strings.ReplaceAll(s, w.lib, w.cli)
		if w.lib == producer.NoteMixedAllowed && strings.HasPrefix(s, "revision ") {
			s = "--" + s // "revision X was given" names the flag
		}
	}
	return s
}

// cliTexts words each of notes with cliText, in place.
func cliTexts(notes []string) []string {
	for i, n := range notes {
		notes[i] = cliText(n)
	}
	return notes
}

// cliFindings words check's findings and notes for the command line, before
// they are printed or encoded as JSON: a newer release is worth updating to.
func cliFindings(res *pin.CheckResult) {
	for i, f := range res.Findings {
		if f.Kind == pin.FindingUpdate {
			res.Findings[i].Message = f.Message + ": run pin update"
		}
		res.Findings[i].Message = cliText(res.Findings[i].Message)
	}
	cliTexts(res.Notes)
}

// cliAuditNotes words an audit's notes for the command line, before they
// are written in any format.
func cliAuditNotes(notes []audit.Note) {
	for i := range notes {
		notes[i].Message = cliText(notes[i].Message)
		notes[i].Hint = cliText(notes[i].Hint)
	}
}
