package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/audit"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/producer"
)

// TestCLIText: each note, hint and finding the packages word neutrally
// prints as the CLI worded it before the packages stopped naming flags and
// commands (the want column is the old text, verbatim).
func TestCLIText(t *testing.T) {
	t.Parallel()
	const fp = "df268a0f99fa335a6b5e7b0d6b097f274e30c30270d1c968ab10f70a73f8d389"
	for _, tt := range []struct{ name, lib, want string }{
		{"plain keys, root published", fmt.Sprintf("store publishes a root of trust (sha256 %s) but pin.yaml lists plain keys, which cannot follow key rotations: %s", fp, pin.RemedyTrustRoot),
			"store publishes a root of trust (sha256 " + fp + ") but pin.yaml lists plain keys, which cannot follow key rotations: check the fingerprint with the producer and run `pin init --root-sha256 <fingerprint>` to trust it"},
		{"root expired", "root of trust version 2 of store expired at 2026-01-01T00:00:00Z: consumers refuse the store " + pin.RemedyNewRoot,
			"root of trust version 2 of store expired at 2026-01-01T00:00:00Z: consumers refuse the store until the producer signs and publishes a new root (pin root)"},
		{"module ref, no revision", "main.tf:20: release 1.5.0 records no source revision, so pin cannot set this module's ref (b601f2a): " + pin.RemedyRecordRevision + "; until then pin cannot pin this module",
			"main.tf:20: release 1.5.0 records no source revision, so pin cannot set this module's ref (b601f2a): ask the publisher to create releases with --revision (release.yaml's {revision}); until then pin cannot pin this module"},
		{"shared tag names no commit", "x: " + pin.RemedyCommitTags + ", or use whole references per service (see docs/storage-service.md)",
			"x: ask the publisher for releases made with --revision from ref.{revision} tags, or use whole references per service (see docs/storage-service.md)"},
		{"split image, no digest field", "values.yaml:3: image split across fields has no digest field: not pinned (ref.1): " + pin.RemedyDigestField,
			"values.yaml:3: image split across fields has no digest field: not pinned (ref.1): add `digest: \"\"` beside the tag (charts that follow the Bitnami convention read it) and run pin update again"},
		{"chart template", "audit the chart's values file, or " + audit.HintRenderedChart,
			"audit the chart's values file, or the rendered output (helm template ... | pin audit -)"},
		{"mixed revisions allowed", (&producer.MixedRevisionsError{Groups: "a (1), b (2)"}).Problem() + producer.NoteMixedAllowed,
			"components come from different revisions: a (1), b (2); allowed by --allow-mixed-revisions, each component's revision is recorded in the manifest"},
		{"mixed revisions allowed, revision given", (&producer.MixedRevisionsError{Given: "abc", Groups: "a (abc), b (2)"}).Problem() + producer.NoteMixedAllowed,
			"--revision abc was given, but components come from different revisions: a (abc), b (2); allowed by --allow-mixed-revisions, each component's revision is recorded in the manifest"},
		{"other text as it is", "revision abc was given", "revision abc was given"},
	} {
		if got := cliText(tt.lib); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
		if got := cliText(tt.want); got != tt.want {
			t.Errorf("%s, worded twice:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

// TestCLIFindingsJSON: check's findings and notes are worded before they
// are encoded, so --output json reads as the text output does.
func TestCLIFindingsJSON(t *testing.T) {
	t.Parallel()
	res := &pin.CheckResult{Findings: []pin.Finding{
		{Kind: pin.FindingUpdate, Message: "release 1.1.0 is available on stable (pinned: 1.0.0)"},
		{Kind: pin.FindingDrift, Message: "main.tf:3: " + pin.RemedyDigestField},
	}, Notes: []string{"a: " + pin.RemedyCommitTags}}
	cliFindings(res)
	var b bytes.Buffer
	if err := writeJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"message": "release 1.1.0 is available on stable (pinned: 1.0.0): run pin update"`,
		`and run pin update again"`,
		`"a: ask the publisher for releases made with --revision from ref.{revision} tags"`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("check JSON lacks %s:\n%s", want, b.String())
		}
	}
}

// TestCLIAuditNotes: an audit's notes are worded before any format is
// written: the JSON hint is the text the table prints.
func TestCLIAuditNotes(t *testing.T) {
	t.Parallel()
	rep := &audit.Report{Notes: []audit.Note{{Source: "chart/templates/d.yaml", Line: 1, Message: "a chart template",
		Hint: "audit the chart's values file, or " + audit.HintRenderedChart}}}
	cliAuditNotes(rep.Notes)
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var out struct {
		Warnings []audit.Note `json:"warnings"`
	}
	if err := json.Unmarshal(b.Bytes(), &out); err != nil || len(out.Warnings) != 1 {
		t.Fatalf("audit JSON: %v\n%s", err, b.String())
	}
	if want := "audit the chart's values file, or the rendered output (helm template ... | pin audit -)"; out.Warnings[0].Hint != want {
		t.Errorf("hint = %q, want %q", out.Warnings[0].Hint, want)
	}
}
