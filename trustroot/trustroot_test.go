package trustroot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
	"github.com/wellcomecollection/pin/trustroot"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// keyring holds generated signers by name.
type keyring map[string]*signing.Signer

func newKeyring(t *testing.T, names ...string) keyring {
	t.Helper()
	k := keyring{}
	for _, n := range names {
		s, err := signing.NewEphemeralSigner()
		if err != nil {
			t.Fatal(err)
		}
		k[n] = s
	}
	return k
}

func (k keyring) pem(t *testing.T, name string) []byte {
	t.Helper()
	p, err := k[name].PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (k keyring) id(t *testing.T, name string) string {
	t.Helper()
	id, err := trustroot.KeyID(k[name].PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// spec describes one root version for a test: which keys are in which role.
type spec struct {
	rootKeys      []string
	rootThreshold int
	index         []string
	expires       time.Time
}

func (k keyring) build(t *testing.T, version int64, sp spec) *manifest.Root {
	t.Helper()
	exp := sp.expires
	if exp.IsZero() {
		exp = now.Add(365 * 24 * time.Hour)
	}
	r := trustroot.NewRoot("storage", exp)
	r.Version = version
	for _, n := range sp.rootKeys {
		if _, err := trustroot.AddKey(r, manifest.RoleRoot, k.pem(t, n)); err != nil {
			t.Fatal(err)
		}
	}
	ro := r.Roles[manifest.RoleRoot]
	ro.Threshold = max(sp.rootThreshold, 1)
	r.Roles[manifest.RoleRoot] = ro
	if _, err := trustroot.AddKey(r, manifest.RoleRelease, k.pem(t, "release")); err != nil {
		t.Fatal(err)
	}
	index := sp.index
	if index == nil {
		index = []string{"index"}
	}
	for _, n := range index {
		if _, err := trustroot.AddKey(r, manifest.RoleIndex, k.pem(t, n)); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (k keyring) sign(t *testing.T, r *manifest.Root, signers ...string) trustroot.Signed {
	t.Helper()
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	s := trustroot.Signed{Bytes: b}
	for _, n := range signers {
		if s, err = trustroot.Sign(context.Background(), k[n], s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func publish(t *testing.T, st *channels.DirStore, version int64, s trustroot.Signed) {
	t.Helper()
	if err := st.PutRoot(context.Background(), version, s); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateRules covers every rule a consumer follows from root N to the newest.
func TestUpdateRules(t *testing.T) {
	ctx := context.Background()
	k := newKeyring(t, "a", "b", "c", "d", "release", "index", "index2")
	two := spec{rootKeys: []string{"a", "b", "c"}, rootThreshold: 2}
	cases := []struct {
		name string
		// setup publishes versions 2.. into the store (version 1 is trusted).
		setup       func(t *testing.T, st *channels.DirStore)
		at          time.Time
		wantVersion int64
		wantErr     string
	}{
		{name: "no N+1: stays at version 1", setup: func(t *testing.T, st *channels.DirStore) {}, wantVersion: 1},
		{name: "threshold of old and new root keys", setup: func(t *testing.T, st *channels.DirStore) {
			publish(t, st, 2, k.sign(t, k.build(t, 2, two), "a", "b"))
		}, wantVersion: 2},
		{name: "rotation to new root keys signed by old and new", setup: func(t *testing.T, st *channels.DirStore) {
			publish(t, st, 2, k.sign(t, k.build(t, 2, spec{rootKeys: []string{"c", "d"}, rootThreshold: 2}), "a", "b", "c", "d"))
		}, wantVersion: 2},
		{name: "old threshold met but not new", setup: func(t *testing.T, st *channels.DirStore) {
			publish(t, st, 2, k.sign(t, k.build(t, 2, spec{rootKeys: []string{"c", "d"}, rootThreshold: 2}), "a", "b", "c"))
		}, wantErr: "not signed by its own root keys"},
		{name: "new threshold met but not old", setup: func(t *testing.T, st *channels.DirStore) {
			publish(t, st, 2, k.sign(t, k.build(t, 2, spec{rootKeys: []string{"c", "d"}, rootThreshold: 2}), "c", "d"))
		}, wantErr: "not signed by the previous root's keys"},
		{name: "one key signing twice counts once", setup: func(t *testing.T, st *channels.DirStore) {
			s := k.sign(t, k.build(t, 2, two), "a")
			dup := s.Signatures[0]
			dup.KeyID = k.id(t, "b") // the same signature claimed for another key
			s.Signatures = append(s.Signatures, s.Signatures[0], dup)
			publish(t, st, 2, s)
		}, wantErr: "1 of the 2 required"},
		{name: "skipped version: 3 published as 2", setup: func(t *testing.T, st *channels.DirStore) {
			publish(t, st, 2, k.sign(t, k.build(t, 3, two), "a", "b"))
		}, wantErr: "says version 3"},
		{name: "a gap ends the chain: 3 without 2 is never read", setup: func(t *testing.T, st *channels.DirStore) {
			publish(t, st, 3, k.sign(t, k.build(t, 3, two), "a", "b"))
		}, wantVersion: 1},
		{name: "expired intermediate root accepted", setup: func(t *testing.T, st *channels.DirStore) {
			publish(t, st, 2, k.sign(t, k.build(t, 2, spec{rootKeys: two.rootKeys, rootThreshold: 2, expires: now.Add(-time.Hour)}), "a", "b"))
			publish(t, st, 3, k.sign(t, k.build(t, 3, two), "a", "b"))
		}, wantVersion: 3},
		{name: "expired newest root refused", setup: func(t *testing.T, st *channels.DirStore) {
			publish(t, st, 2, k.sign(t, k.build(t, 2, spec{rootKeys: two.rootKeys, rootThreshold: 2, expires: now.Add(-time.Hour)}), "a", "b"))
		}, wantErr: "root version 2 expired"},
		{name: "another product's root refused", setup: func(t *testing.T, st *channels.DirStore) {
			r := k.build(t, 2, two)
			r.Product = "other"
			publish(t, st, 2, k.sign(t, r, "a", "b"))
		}, wantErr: `product: is "other", expected "storage"`},
		{name: "non-canonical bytes refused", setup: func(t *testing.T, st *channels.DirStore) {
			s := k.sign(t, k.build(t, 2, two), "a", "b")
			s.Bytes = append([]byte(" "), s.Bytes...)
			s = k.sign(t, mustRoot(t, s), "a", "b")
			s.Bytes = append([]byte(" "), s.Bytes...)
			for i := range s.Signatures {
				sig, _ := k[[]string{"a", "b"}[i]].SignBlob(ctx, s.Bytes)
				s.Signatures[i].Sig = string(sig)
			}
			publish(t, st, 2, s)
		}, wantErr: "not in canonical form"},
		{name: "rotation bound: 32 roots a run", setup: func(t *testing.T, st *channels.DirStore) {
			for v := int64(2); v <= 40; v++ {
				publish(t, st, v, k.sign(t, k.build(t, v, two), "a", "b"))
			}
		}, wantVersion: 1 + trustroot.MaxRotations},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := channels.NewDirStore(t.TempDir())
			first := k.sign(t, k.build(t, 1, two), "a", "b")
			publish(t, st, 1, first)
			tc.setup(t, st)
			trusted, err := trustroot.VerifySelf(ctx, first, "storage")
			if err != nil {
				t.Fatal(err)
			}
			at := tc.at
			if at.IsZero() {
				at = now
			}
			chain, err := trustroot.Update(ctx, trusted, channels.RootFetcher(st), at)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if exitcode.Of(err) != exitcode.Trust {
					t.Errorf("exit code %d, want trust (3): %v", exitcode.Of(err), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := chain.Newest().Root.Version; got != tc.wantVersion {
				t.Errorf("newest root version %d, want %d", got, tc.wantVersion)
			}
			if want := tc.wantVersion == 1+trustroot.MaxRotations; chain.Truncated != want {
				t.Errorf("Truncated = %v, want %v", chain.Truncated, want)
			}
		})
	}
}

func mustRoot(t *testing.T, s trustroot.Signed) *manifest.Root {
	t.Helper()
	tr, err := trustroot.Parse(trustroot.Signed{Bytes: []byte(strings.TrimSpace(string(s.Bytes)))}, "")
	if err != nil {
		t.Fatal(err)
	}
	return tr.Root
}

// TestFetchErrorStopsUpdate: a store that cannot answer is not "no newer root".
func TestFetchErrorStopsUpdate(t *testing.T) {
	k := newKeyring(t, "a", "release", "index")
	first := k.sign(t, k.build(t, 1, spec{rootKeys: []string{"a"}}), "a")
	trusted, err := trustroot.VerifySelf(context.Background(), first, "storage")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("connection refused")
	_, err = trustroot.Update(context.Background(), trusted, func(context.Context, int64) (trustroot.Signed, error) { return trustroot.Signed{}, boom }, now)
	if !errors.Is(err, boom) || exitcode.Of(err) == exitcode.Trust {
		t.Fatalf("err = %v, want the fetch error, not a trust error", err)
	}
}

// TestParseRefusesLies: a key whose id is not its hash, or whose type is not its type.
func TestParseRefusesLies(t *testing.T) {
	k := newKeyring(t, "a", "b", "release", "index")
	cases := []struct {
		name    string
		edit    func(r *manifest.Root)
		wantErr string
	}{
		{"key id is not the key's hash", func(r *manifest.Root) {
			id := k.id(t, "a")
			r.Keys[id] = manifest.Key{Type: manifest.KeyTypeECDSAP256, PublicKey: string(k.pem(t, "b"))}
		}, "the key's id is"},
		{"type is not the key's", func(r *manifest.Root) {
			id := k.id(t, "a")
			key := r.Keys[id]
			key.Type = manifest.KeyTypeRSA
			r.Keys[id] = key
		}, `type "rsa", but the key is ecdsa-p256`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := k.build(t, 1, spec{rootKeys: []string{"a"}})
			tc.edit(r)
			b, err := r.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := trustroot.Parse(trustroot.Signed{Bytes: b}, ""); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestRoleThreshold: a role verifier counts distinct keys; listing or
// signing with one key twice never reaches a threshold of two.
func TestRoleThreshold(t *testing.T) {
	ctx := context.Background()
	k := newKeyring(t, "a", "release", "ci", "person")
	r := k.build(t, 1, spec{rootKeys: []string{"a"}, index: []string{"ci"}})
	if _, err := trustroot.AddKey(r, "index-stable", k.pem(t, "ci")); err != nil {
		t.Fatal(err)
	}
	if _, err := trustroot.AddKey(r, "index-stable", k.pem(t, "person")); err != nil {
		t.Fatal(err)
	}
	st := r.Roles["index-stable"]
	st.Threshold = 2
	r.Roles["index-stable"] = st
	tr, err := trustroot.VerifySelf(ctx, k.sign(t, r, "a"), "storage")
	if err != nil {
		t.Fatal(err)
	}
	data := []byte(`{"channel":"stable"}`)
	sig := func(n string) manifest.Signature {
		s, err := k[n].SignBlob(ctx, data)
		if err != nil {
			t.Fatal(err)
		}
		return manifest.Signature{KeyID: k.id(t, n), Sig: string(s)}
	}
	cases := []struct {
		name    string
		channel string
		sigs    []manifest.Signature
		wantErr string
	}{
		{"edge: CI alone", "edge", []manifest.Signature{sig("ci")}, ""},
		{"stable: CI alone refused", "stable", []manifest.Signature{sig("ci")}, "1 of the 2 required"},
		{"stable: CI twice refused", "stable", []manifest.Signature{sig("ci"), sig("ci")}, "1 of the 2 required"},
		{"stable: CI and a person", "stable", []manifest.Signature{sig("ci"), sig("person")}, ""},
		{"edge: the release key refused", "edge", []manifest.Signature{sig("release")}, "no trusted key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tr.VerifyRole(ctx, tr.Root.IndexRole(tc.channel), data, tc.sigs)
			if tc.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestIndexKeysChanged decides fast-forward recovery per channel.
func TestIndexKeysChanged(t *testing.T) {
	k := newKeyring(t, "a", "release", "index", "index2")
	parse := func(r *manifest.Root) *trustroot.Trusted {
		tr, err := trustroot.Parse(k.sign(t, r, "a"), "")
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	v1 := parse(k.build(t, 1, spec{rootKeys: []string{"a"}}))
	same := parse(k.build(t, 2, spec{rootKeys: []string{"a"}}))
	rotated := parse(k.build(t, 2, spec{rootKeys: []string{"a"}, index: []string{"index2"}}))
	stableOnly := k.build(t, 2, spec{rootKeys: []string{"a"}})
	if _, err := trustroot.AddKey(stableOnly, "index-stable", k.pem(t, "index2")); err != nil {
		t.Fatal(err)
	}
	split := parse(stableOnly)
	legacy, err := trustroot.FromKeys("storage", map[string][]byte{"k": k.pem(t, "index")})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		old, cur *trustroot.Trusted
		channel  string
		want     bool
	}{
		{v1, same, "stable", false},
		{v1, rotated, "stable", true},
		{v1, split, "stable", true},
		{v1, split, "edge", false},
		{legacy, v1, "edge", false}, // the legacy key stays the index key
		{legacy, rotated, "edge", true},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if got := trustroot.IndexKeysChanged(tc.old, tc.cur, tc.channel); got != tc.want {
				t.Errorf("IndexKeysChanged(%s) = %v, want %v", tc.channel, got, tc.want)
			}
		})
	}
}
