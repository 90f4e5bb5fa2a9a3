//go:build !nokeyless

package trustroot_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
	"github.com/wellcomecollection/pin/signing/keyless"
	"github.com/wellcomecollection/pin/signing/keyless/keylesstest"
	"github.com/wellcomecollection/pin/trustroot"
)

const ciRepo = "wellcomecollection/storage-service"

// ciIdentity is the release workflow of repo on main, as a root lists it.
func ciIdentity(repo string) manifest.Identity {
	return manifest.Identity{Issuer: keyless.GitHubActionsIssuer,
		Subject:          "https://github.com/" + repo + "/.github/workflows/release.yml@refs/heads/main",
		SourceRepository: "https://github.com/" + repo, Ref: "refs/heads/main", Trigger: "push"}
}

// TestIdentitySigners checks that a role counts a document's Sigstore
// bundle as one signer when it verifies against an identity the role lists,
// together with key signatures, toward the role's threshold; and that a
// key or an identity counts once.
func TestIdentitySigners(t *testing.T) {
	ctx := context.Background()
	ss := keylesstest.New(t)
	k := newKeyring(t, "alice", "ci", "other")
	signer, err := keyless.NewSigner(ss.SignerOptions(keylesstest.GitHubActions(ciRepo, ".github/workflows/release.yml", "refs/heads/main", "push")))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"kind":"ChannelIndex"}`)
	bundle, err := signer.SignBundle(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	ciSig, err := k["ci"].SignBlob(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	otherSig, err := k["other"].SignBlob(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	verifier := func(ids []keyless.Identity) (signing.BundleVerifier, error) {
		return keyless.NewVerifier(ss.TrustedRoot(), ids)
	}

	tests := []struct {
		name      string
		identity  manifest.Identity
		keys      []string // keys the index role lists beside the identity
		threshold int
		sigs      []string
		bundle    bool
		want      int    // signers counted; 0: refused
		wantErr   string // in the refusal
	}{
		{name: "identity alone", identity: ciIdentity(ciRepo), threshold: 1, bundle: true, want: 1},
		{name: "wrong repository", identity: ciIdentity("evil/storage-service"), threshold: 1, bundle: true, wantErr: "0 of the 1 required"},
		{name: "identity and key meet two", identity: ciIdentity(ciRepo), keys: []string{"ci"}, threshold: 2, sigs: []string{"ci"}, bundle: true, want: 2},
		{name: "identity alone under two", identity: ciIdentity(ciRepo), keys: []string{"ci"}, threshold: 2, bundle: true, wantErr: "1 of the 2 required"},
		{name: "key alone under two", identity: ciIdentity(ciRepo), keys: []string{"ci"}, threshold: 2, sigs: []string{"ci"}, wantErr: "1 of the 2 required"},
		{name: "key twice counts once", identity: ciIdentity(ciRepo), keys: []string{"ci"}, threshold: 2, sigs: []string{"ci", "ci"}, wantErr: "1 of the 2 required"},
		{name: "unlisted key", identity: ciIdentity(ciRepo), keys: []string{"ci"}, threshold: 2, sigs: []string{"other"}, bundle: true, wantErr: "1 of the 2 required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := trustroot.NewRoot("storage-service", now.Add(24*60*60*1e9))
			for _, role := range []string{manifest.RoleRoot, manifest.RoleRelease} {
				if _, err := trustroot.AddKey(r, role, k.pem(t, "alice")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := trustroot.AddIdentity(r, manifest.RoleIndex, tc.identity); err != nil {
				t.Fatal(err)
			}
			for _, n := range tc.keys {
				if _, err := trustroot.AddKey(r, manifest.RoleIndex, k.pem(t, n)); err != nil {
					t.Fatal(err)
				}
			}
			ro := r.Roles[manifest.RoleIndex]
			ro.Threshold = tc.threshold
			r.Roles[manifest.RoleIndex] = ro
			b, err := r.Encode()
			if err != nil {
				t.Fatal(err)
			}
			tr, err := trustroot.Parse(trustroot.Signed{Bytes: b}, "storage-service")
			if err != nil {
				t.Fatalf("parse a root listing an identity: %v", err)
			}
			tr.Identities = verifier
			var sigs []manifest.Signature
			for _, n := range tc.sigs {
				s := map[string][]byte{"ci": ciSig, "other": otherSig}[n]
				sigs = append(sigs, manifest.Signature{Sig: string(s)})
			}
			var bun []byte
			if tc.bundle {
				bun = bundle
			}
			got, err := tr.VerifyDocument(ctx, manifest.RoleIndex, data, sigs, bun)
			if tc.want == 0 {
				if err == nil || !errors.Is(err, signing.ErrSignature) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, %v; want a refusal with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != tc.want {
				t.Fatalf("got %v, %v; want %d signers", got, err, tc.want)
			}
			idID, _ := manifest.IdentityKeyID(tc.identity)
			if got[len(got)-1] != idID {
				t.Errorf("the identity counted as %s, want its key id %s", got[len(got)-1], idID)
			}
		})
	}
}

// TestIdentityEntryDecoding checks that a root's identity entries decode
// as strictly as its keys: the id must be the sha256 of the identity's
// canonical JSON, an entry has an identity or a public key, never both, and
// the root role lists keys only.
func TestIdentityEntryDecoding(t *testing.T) {
	k := newKeyring(t, "alice")
	base := func() *manifest.Root {
		r := trustroot.NewRoot("storage-service", now.Add(24*60*60*1e9))
		for _, role := range []string{manifest.RoleRoot, manifest.RoleRelease, manifest.RoleIndex} {
			if _, err := trustroot.AddKey(r, role, k.pem(t, "alice")); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	good := base()
	id, err := trustroot.AddIdentity(good, manifest.RoleRelease, ciIdentity(ciRepo))
	if err != nil {
		t.Fatal(err)
	}
	b, err := good.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := manifest.DecodeRoot(b, ""); err != nil {
		t.Fatalf("a root listing an identity does not decode: %v", err)
	}
	tests := []struct {
		name    string
		edit    func(r *manifest.Root)
		wantErr string
	}{
		{"id is not the identity's hash", func(r *manifest.Root) {
			e := r.Keys[id]
			e.Identity = &manifest.Identity{Issuer: e.Identity.Issuer, Subject: "https://github.com/evil/x/.github/workflows/release.yml@refs/heads/main"}
			r.Keys[id] = e
		}, "sha256 of its canonical JSON"},
		{"public key beside the identity", func(r *manifest.Root) {
			e := r.Keys[id]
			e.PublicKey = string(k.pem(t, "alice"))
			r.Keys[id] = e
		}, "has no publicKey"},
		{"no identity", func(r *manifest.Root) {
			r.Keys[id] = manifest.Key{Type: manifest.KeyTypeSigstoreIdentity}
		}, "needs an identity"},
		{"identity on a key entry", func(r *manifest.Root) {
			aliceID := k.id(t, "alice")
			e := r.Keys[aliceID]
			e.Identity = &manifest.Identity{Issuer: "x", Subject: "y"}
			r.Keys[aliceID] = e
		}, "only a sigstore-identity entry"},
		{"identity in the root role", func(r *manifest.Root) {
			ro := r.Roles[manifest.RoleRoot]
			ro.KeyIDs = append(ro.KeyIDs, id)
			r.Roles[manifest.RoleRoot] = ro
		}, "root role lists keys only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := trustroot.NextDraft(good, good.Expires)
			r.Version = 1
			tc.edit(r)
			if _, err := r.Encode(); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("encode: %v, want %q", err, tc.wantErr)
			}
		})
	}
	// A non-canonical spelling of a good root is refused as for keys.
	loose := strings.Replace(string(b), `"type":"sigstore-identity"`, `"type": "sigstore-identity"`, 1)
	if _, err := manifest.DecodeRoot([]byte(loose), ""); err == nil || !strings.Contains(err.Error(), "canonical") {
		t.Fatalf("decode a non-canonical root: %v", err)
	}
	// An unanchored subject pattern is refused when the root is parsed.
	if _, err := trustroot.AddIdentity(base(), manifest.RoleRelease, manifest.Identity{Issuer: keyless.GitHubActionsIssuer, SubjectRegexp: "storage-service"}); err == nil || !strings.Contains(err.Error(), "anchored") {
		t.Fatalf("an unanchored subjectRegexp: %v", err)
	}
}
