package trustroot_test

import (
	"reflect"
	"testing"

	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/trustroot"
)

// TestSigners: every key and identity a role lists, once, with all the
// roles that list it; a key no role lists is left out.
func TestSigners(t *testing.T) {
	k := newKeyring(t, "alice", "release", "index", "ci")
	cases := []struct {
		name  string
		sp    spec
		extra func(r *manifest.Root) string // adds a signer, returns its id
		want  map[string][]string           // key name or "identity" -> roles
	}{
		{"a key in two roles is listed once", spec{rootKeys: []string{"alice"}, index: []string{"alice", "index"}}, nil,
			map[string][]string{"alice": {"index", "root"}, "release": {"release"}, "index": {"index"}}},
		{"an identity in the release role", spec{rootKeys: []string{"alice"}}, func(r *manifest.Root) string {
			id, err := trustroot.AddIdentity(r, manifest.RoleRelease, manifest.Identity{Issuer: "https://token.actions.githubusercontent.com", Subject: "https://github.com/o/r/.github/workflows/release.yml@refs/heads/main"})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}, map[string][]string{"alice": {"root"}, "release": {"release"}, "index": {"index"}, "identity": {"release"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := k.build(t, 1, tc.sp)
			ids := map[string]string{}
			for _, n := range []string{"alice", "release", "index", "ci"} {
				ids[k.id(t, n)] = n
			}
			if tc.extra != nil {
				ids[tc.extra(r)] = "identity"
			}
			tr, err := trustroot.Parse(k.sign(t, r, "alice"), "")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, s := range tr.Signers() {
				name := ids[s.ID]
				if (name == "identity") != (s.Identity != nil) || (s.Identity != nil) != (s.Type == manifest.KeyTypeSigstoreIdentity) {
					t.Errorf("signer %s: type %s, identity %v", name, s.Type, s.Identity)
				}
				got[name] = s.Roles
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("signers %v, want %v", got, tc.want)
			}
		})
	}
}
