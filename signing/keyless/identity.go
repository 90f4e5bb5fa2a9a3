package keyless

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Well-known OIDC issuers of CI systems that Fulcio accepts.
const (
	GitHubActionsIssuer = "https://token.actions.githubusercontent.com"
	BuildkiteIssuer     = "https://agent.buildkite.com"
)

// Identity is a signer a consumer trusts: the CI identity a Fulcio certificate
// must carry. Issuer and one of Subject/SubjectRegexp are required; every other
// field, when set, must equal the certificate's Fulcio extension exactly.
//
// For GitHub Actions the subject is the workflow file at a ref
// (https://github.com/ORG/REPO/.github/workflows/release.yml@refs/heads/main),
// and SourceRepository, Ref and Trigger are the certificate's
// source-repository-uri, source-repository-ref and build-trigger (the event:
// push, workflow_dispatch, pull_request...). For Buildkite the subject is the
// pipeline (https://buildkite.com/ORG/PIPELINE) and Trigger the build source
// (webhook, ui, api, schedule, trigger_job); Fulcio certifies no branch for
// Buildkite, so Ref cannot be checked there.
type Identity struct {
	// Name identifies the signer in messages and in a role's signer list;
	// defaults to the subject (or its regular expression).
	Name             string `yaml:"name,omitempty" json:"name,omitempty"`
	Issuer           string `yaml:"issuer" json:"issuer"`
	Subject          string `yaml:"subject,omitempty" json:"subject,omitempty"`
	SubjectRegexp    string `yaml:"subjectRegexp,omitempty" json:"subjectRegexp,omitempty"`
	SourceRepository string `yaml:"sourceRepository,omitempty" json:"sourceRepository,omitempty"`
	Ref              string `yaml:"ref,omitempty" json:"ref,omitempty"`
	Trigger          string `yaml:"trigger,omitempty" json:"trigger,omitempty"`
}

// ID is the signer id a verification returns for this identity.
func (id Identity) ID() string {
	if id.Name != "" {
		return id.Name
	}
	if id.Subject != "" {
		return id.Subject
	}
	return "~" + id.SubjectRegexp
}

// Validate reports a policy that would be too loose or cannot match.
func (id Identity) Validate() error {
	if strings.TrimSpace(id.Issuer) == "" {
		return errors.New("identity needs an issuer (the OIDC issuer URL, e.g. " + GitHubActionsIssuer + ")")
	}
	switch {
	case id.Subject == "" && id.SubjectRegexp == "":
		return errors.New("identity needs a subject or subjectRegexp (the workflow or pipeline URL)")
	case id.Subject != "" && id.SubjectRegexp != "":
		return errors.New("identity takes subject or subjectRegexp, not both")
	}
	if id.SubjectRegexp != "" {
		if _, err := regexp.Compile(id.SubjectRegexp); err != nil {
			return fmt.Errorf("subjectRegexp: %w", err)
		}
		// An unanchored pattern matches inside any subject: "org/repo" would
		// accept "evil/org/repo-fork". Insist on whole-subject patterns.
		if !strings.HasPrefix(id.SubjectRegexp, "^") || !strings.HasSuffix(id.SubjectRegexp, "$") {
			return fmt.Errorf("subjectRegexp %q must be anchored with ^ and $, so it matches the whole subject", id.SubjectRegexp)
		}
	}
	return nil
}
