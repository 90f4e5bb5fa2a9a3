package rewrite

import "testing"

func TestParseModuleSource(t *testing.T) {
	const repo = "github.com/wellcomecollection/storage-service"
	tests := []struct {
		addr, repo, path, ref, withRef string
		ok                             bool
	}{
		{addr: "github.com/wellcomecollection/storage-service.git//demo/terraform/demo_stack?ref=b601f2a", ok: true, repo: repo, path: "demo/terraform/demo_stack", ref: "b601f2a",
			withRef: "github.com/wellcomecollection/storage-service.git//demo/terraform/demo_stack?ref=NEW"},
		{addr: "git::https://github.com/wellcomecollection/storage-service.git//demo/terraform/demo_stack?ref=b601f2a", ok: true, repo: repo, path: "demo/terraform/demo_stack", ref: "b601f2a",
			withRef: "git::https://github.com/wellcomecollection/storage-service.git//demo/terraform/demo_stack?ref=NEW"},
		{addr: "git::ssh://git@github.com/wellcomecollection/storage-service.git//demo?ref=v1&depth=1", ok: true, repo: repo, path: "demo", ref: "v1",
			withRef: "git::ssh://git@github.com/wellcomecollection/storage-service.git//demo?ref=NEW&depth=1"},
		{addr: "git@github.com:wellcomecollection/storage-service.git//demo/terraform/demo_stack?depth=1&ref=abc", ok: true, repo: repo, path: "demo/terraform/demo_stack", ref: "abc",
			withRef: "git@github.com:wellcomecollection/storage-service.git//demo/terraform/demo_stack?depth=1&ref=NEW"},
		{addr: "github.com/WellcomeCollection/storage-service", ok: true, repo: repo,
			withRef: "github.com/WellcomeCollection/storage-service?ref=NEW"},
		{addr: "github.com/wellcomecollection/storage-service.git?depth=1", ok: true, repo: repo,
			withRef: "github.com/wellcomecollection/storage-service.git?depth=1&ref=NEW"},
		{addr: "git::ssh://git@github.com:22/wellcomecollection/storage-service.git?ref=x", ok: true, repo: repo, ref: "x",
			withRef: "git::ssh://git@github.com:22/wellcomecollection/storage-service.git?ref=NEW"},
		{addr: "git::https://example.org/git/storage-service.git?ref=main", ok: true, repo: "example.org/git/storage-service", ref: "main",
			withRef: "git::https://example.org/git/storage-service.git?ref=NEW"},
		{addr: "../../../terraform/modules/stack"},
		{addr: "./stack"},
		{addr: "hashicorp/consul/aws"},
		{addr: "https://example.com/vpc-module.zip"},
		{addr: "s3::https://s3-eu-west-1.amazonaws.com/bucket/vpc.zip"},
		{addr: "app.terraform.io/example-corp/k8s-cluster/azurerm"},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			ms, ok := ParseModuleSource(tc.addr)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, tc.ok, ms)
			}
			if !ok {
				return
			}
			if ms.Repo != tc.repo || ms.Path != tc.path || ms.Ref != tc.ref {
				t.Errorf("got repo %q path %q ref %q, want %q %q %q", ms.Repo, ms.Path, ms.Ref, tc.repo, tc.path, tc.ref)
			}
			if got := ms.WithRef(tc.addr, "NEW"); got != tc.withRef {
				t.Errorf("WithRef = %q, want %q", got, tc.withRef)
			}
		})
	}
}

func TestCanonicalSourceRepo(t *testing.T) {
	for _, s := range []string{"https://github.com/wellcomecollection/storage-service", "https://github.com/wellcomecollection/storage-service.git",
		"git@github.com:wellcomecollection/storage-service.git", "github.com/wellcomecollection/storage-service/"} {
		if got, ok := CanonicalSourceRepo(s); !ok || got != "github.com/wellcomecollection/storage-service" {
			t.Errorf("CanonicalSourceRepo(%q) = %q, %v", s, got, ok)
		}
	}
	if got, ok := CanonicalSourceRepo("storage-service"); ok {
		t.Errorf("CanonicalSourceRepo(storage-service) = %q, want not ok", got)
	}
}

// FuzzParseModuleSource: whatever the address, setting the ref changes
// only the ref's bytes, and the result parses to the same repository and
// path with the new ref.
func FuzzParseModuleSource(f *testing.F) {
	for _, s := range []string{
		"github.com/wellcomecollection/storage-service.git//demo/terraform/demo_stack?ref=b601f2a",
		"git::https://github.com/o/r.git//p?depth=1&ref=v1",
		"git::ssh://git@github.com:22/o/r.git",
		"git@github.com:o/r.git//x?ref=",
		"git::https://example.org/a/b?ref=x&ref=y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		ms, ok := ParseModuleSource(addr)
		if !ok {
			return
		}
		if ms.RefStart < 0 || ms.RefEnd < ms.RefStart || ms.RefEnd > len(addr) || addr[ms.RefStart:ms.RefEnd] != ms.Ref {
			t.Fatalf("%q: ref span [%d,%d) does not hold %q", addr, ms.RefStart, ms.RefEnd, ms.Ref)
		}
		const rev = "0123456789abcdef0123456789abcdef01234567"
		out := ms.WithRef(addr, rev)
		if out[:ms.RefStart] != addr[:ms.RefStart] || out[len(out)-(len(addr)-ms.RefEnd):] != addr[ms.RefEnd:] {
			t.Fatalf("%q -> %q: bytes outside the ref changed", addr, out)
		}
		again, ok := ParseModuleSource(out)
		if !ok || again.Repo != ms.Repo || again.Path != ms.Path || again.Ref != rev {
			t.Fatalf("%q -> %q parses as %+v (ok %v), want repo %q path %q ref %q", addr, out, again, ok, ms.Repo, ms.Path, rev)
		}
	})
}
