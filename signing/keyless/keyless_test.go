//go:build !nokeyless

package keyless_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/wellcomecollection/pin/signing/keyless"
	"github.com/wellcomecollection/pin/signing/keyless/keylesstest"
)

const (
	repo     = "wellcomecollection/storage-service"
	workflow = ".github/workflows/release.yml"
	main     = "refs/heads/main"
)

// releaseWorkflow is the identity a consumer pins: the release workflow of
// the repository on main, run by a push.
var releaseWorkflow = keyless.Identity{
	Issuer:           keyless.GitHubActionsIssuer,
	Subject:          "https://github.com/" + repo + "/" + workflow + "@" + main,
	SourceRepository: "https://github.com/" + repo,
	Ref:              main,
	Trigger:          "push",
}

var buildkitePipeline = keyless.Identity{
	Name:    "buildkite release",
	Issuer:  keyless.BuildkiteIssuer,
	Subject: "https://buildkite.com/wellcomecollection/storage-service-release",
	Trigger: "webhook",
}

func signWith(t *testing.T, ss *keylesstest.Sigstore, c keylesstest.Claims, data []byte) []byte {
	t.Helper()
	s, err := keyless.NewSigner(ss.SignerOptions(c))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.SignBundle(context.Background(), data)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return b
}

// editBundle decodes a bundle, lets edit change it and encodes it again.
func editBundle(t *testing.T, b []byte, edit func(*protobundle.Bundle)) []byte {
	t.Helper()
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(b, &pb); err != nil {
		t.Fatal(err)
	}
	edit(&pb)
	out, err := protojson.Marshal(&pb)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyBundle(t *testing.T) {
	ss := keylesstest.New(t)
	doc := []byte(`{"kind":"Channel","sequence":7}`)
	gh := keylesstest.GitHubActions(repo, workflow, main, "push")
	good := signWith(t, ss, gh, doc)

	fork := keylesstest.GitHubActions("evil/storage-service", workflow, main, "push")
	pr := keylesstest.GitHubActions(repo, workflow, "refs/pull/12/merge", "pull_request")
	// A token from another issuer that claims the same workflow subject.
	otherIssuer := keylesstest.GitHubActions(repo, workflow, main, "push")

	tests := []struct {
		name     string
		policy   []keyless.Identity
		bundle   func(t *testing.T) []byte
		data     []byte
		wantID   string
		wantErr  string
		setClock func()
	}{
		{name: "release workflow on main", policy: []keyless.Identity{releaseWorkflow}, bundle: func(*testing.T) []byte { return good }, wantID: releaseWorkflow.Subject},
		{name: "subject regexp for any tag", policy: []keyless.Identity{{Issuer: keyless.GitHubActionsIssuer, SubjectRegexp: `^https://github\.com/wellcomecollection/storage-service/\.github/workflows/release\.yml@refs/(heads/main|tags/v.*)$`}},
			bundle: func(*testing.T) []byte { return good }, wantID: `~^https://github\.com/wellcomecollection/storage-service/\.github/workflows/release\.yml@refs/(heads/main|tags/v.*)$`},
		{name: "second of two identities", policy: []keyless.Identity{buildkitePipeline, releaseWorkflow}, bundle: func(*testing.T) []byte { return good }, wantID: releaseWorkflow.Subject},
		{name: "buildkite pipeline", policy: []keyless.Identity{buildkitePipeline},
			bundle: func(t *testing.T) []byte {
				return signWith(t, ss, keylesstest.Buildkite("wellcomecollection", "storage-service-release", "main", "webhook"), doc)
			}, wantID: "buildkite release"},
		{name: "buildkite build started by hand", policy: []keyless.Identity{buildkitePipeline},
			bundle: func(t *testing.T) []byte {
				return signWith(t, ss, keylesstest.Buildkite("wellcomecollection", "storage-service-release", "main", "ui"), doc)
			}, wantErr: "expected BuildTrigger to be \"webhook\", got \"ui\""},
		{name: "other document", policy: []keyless.Identity{releaseWorkflow}, bundle: func(*testing.T) []byte { return good }, data: []byte(`{"kind":"Channel","sequence":8}`), wantErr: "invalid signature"},
		{name: "wrong repository", policy: []keyless.Identity{releaseWorkflow}, bundle: func(t *testing.T) []byte { return signWith(t, ss, fork, doc) }, wantErr: "expected SAN value"},
		{name: "wrong repository, loose subject regexp", policy: []keyless.Identity{{Issuer: keyless.GitHubActionsIssuer, SubjectRegexp: `^https://github\.com/.*/release\.yml@refs/heads/main$`, SourceRepository: "https://github.com/" + repo}},
			bundle: func(t *testing.T) []byte { return signWith(t, ss, fork, doc) }, wantErr: "expected SourceRepositoryURI"},
		{name: "pull request ref", policy: []keyless.Identity{{Issuer: keyless.GitHubActionsIssuer, SubjectRegexp: `^https://github\.com/wellcomecollection/storage-service/\.github/workflows/release\.yml@.*$`, Ref: main}},
			bundle: func(t *testing.T) []byte { return signWith(t, ss, pr, doc) }, wantErr: "expected SourceRepositoryRef"},
		{name: "pull request trigger", policy: []keyless.Identity{{Issuer: keyless.GitHubActionsIssuer, SubjectRegexp: `^https://github\.com/wellcomecollection/storage-service/\.github/workflows/release\.yml@.*$`, Trigger: "push"}},
			bundle: func(t *testing.T) []byte { return signWith(t, ss, pr, doc) }, wantErr: "expected BuildTrigger to be \"push\", got \"pull_request\""},
		{name: "wrong issuer", policy: []keyless.Identity{{Issuer: "https://token.actions.example.com", Subject: releaseWorkflow.Subject}},
			bundle: func(t *testing.T) []byte { return signWith(t, ss, otherIssuer, doc) }, wantErr: "expected issuer value"},
		{name: "tampered inclusion proof", policy: []keyless.Identity{releaseWorkflow},
			bundle: func(t *testing.T) []byte {
				return editBundle(t, good, func(b *protobundle.Bundle) {
					b.VerificationMaterial.TlogEntries[0].InclusionProof.RootHash[0] ^= 1
				})
			}, wantErr: "failed to verify log inclusion"},
		{name: "missing log entry", policy: []keyless.Identity{releaseWorkflow},
			bundle: func(t *testing.T) []byte {
				return editBundle(t, good, func(b *protobundle.Bundle) { b.VerificationMaterial.TlogEntries = nil })
			}, wantErr: "not enough verified log entries"},
		{name: "certificate expired at the log's time", policy: []keyless.Identity{releaseWorkflow},
			bundle: func(t *testing.T) []byte {
				ss.IntegratedTime = func() time.Time { return time.Now().Add(30 * time.Minute) }
				defer func() { ss.IntegratedTime = nil }()
				return signWith(t, ss, gh, doc)
			}, wantErr: "integrated time outside certificate validity"},
		{name: "not a bundle", policy: []keyless.Identity{releaseWorkflow}, bundle: func(*testing.T) []byte { return []byte("MEUCIQ==") }, wantErr: "not a Sigstore bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := keyless.NewVerifier(ss.TrustedRoot(), tt.policy)
			if err != nil {
				t.Fatal(err)
			}
			data := doc
			if tt.data != nil {
				data = tt.data
			}
			id, err := v.VerifyBundle(context.Background(), data, tt.bundle(t))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("VerifyBundle: %v", err)
				}
				if id != tt.wantID {
					t.Fatalf("signer id %q, want %q", id, tt.wantID)
				}
				return
			}
			if err == nil {
				t.Fatalf("VerifyBundle accepted it (signer %q), want an error containing %q", id, tt.wantErr)
			}
			t.Logf("refused: %v", err)
			if !errors.Is(err, keyless.ErrVerify) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want ErrVerify containing %q", err, tt.wantErr)
			}
		})
	}
}
