package rewrite

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/internal/fuzzseed"
)

// repoSet is a ProductMatcher over a fixed set of repositories.
type repoSet map[string]string

func (r repoSet) Component(repo string) (string, bool) { c, ok := r[repo]; return c, ok }
func (r repoSet) Under(prefix string) []string {
	var out []string
	for repo, c := range r {
		if rest, ok := strings.CutPrefix(repo, prefix+"/"); ok && !strings.Contains(rest, "/") {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

var deployRepos = repoSet{
	"public.ecr.aws/y1p3h6z3/bags_api":    "bags_api",
	"public.ecr.aws/y1p3h6z3/notifier":    "notifier",
	"public.ecr.aws/l7a1d1z4/fluentbit":   "fluentbit",
	"public.ecr.aws/l7a1d1z4/nginx_apigw": "nginx_apigw",
}

func TestScanDeploy(t *testing.T) {
	const src = "github.com/wellcomecollection/storage-service"
	tests := []struct {
		name  string
		hcl   string
		refs  []string // kind line value components
		warns []string // line message-prefix
	}{
		{name: "module ref", hcl: `module "demo_stack" {
  source = "github.com/wellcomecollection/storage-service.git//demo/terraform/demo_stack?ref=b601f2a"
}
module "vpc" {
  source = "git::https://github.com/terraform-aws-modules/terraform-aws-vpc.git?ref=v5.8.1"
}
module "local" {
  source = "./stack"
}
`, refs: []string{"module-ref 2 b601f2a []"}},
		{name: "module without ref", hcl: "module \"m\" {\n  source = \"git@github.com:wellcomecollection/storage-service.git\"\n}\n",
			refs: []string{"module-ref 2  []"}},
		{name: "demo stack objects", hcl: `module "stack" {
  source = "../../../terraform/modules/stack"
  logging_container = {
    container_registry = "public.ecr.aws/l7a1d1z4"
    container_name     = "fluentbit"
    container_tag      = "8c68706f"
  }
  app_containers = {
    container_registry = "public.ecr.aws/y1p3h6z3"
    container_tag      = "ref.6a52d49"
  }
}
`, refs: []string{"split-tag 6 8c68706f [fluentbit]", "shared-tag 10 ref.6a52d49 [bags_api notifier]"}},
		{name: "prefix without tag", hcl: "locals {\n  registry = \"public.ecr.aws/y1p3h6z3\"\n}\n",
			warns: []string{"2 registry is a registry prefix of the product with no tag beside it"}},
		{name: "prefix as a bare value", hcl: "locals {\n  r = [\"public.ecr.aws/y1p3h6z3/\"]\n}\n",
			warns: []string{"2 registry prefix of the product's repositories"}},
		{name: "templated under a prefix", hcl: "locals {\n  image = \"public.ecr.aws/y1p3h6z3/${var.name}:${var.tag}\"\n}\n",
			warns: []string{"2 image reference templated under the product's registry prefix"}},
		{name: "interpolated tag", hcl: "locals {\n  app = {\n    container_registry = \"public.ecr.aws/y1p3h6z3\"\n    container_tag = var.tag\n  }\n}\n",
			warns: []string{"4 container_tag beside the product's registry prefix public.ecr.aws/y1p3h6z3 is not a literal string"}},
		{name: "unknown name", hcl: "locals {\n  app = {\n    container_registry = \"public.ecr.aws/l7a1d1z4\"\n    container_name = \"other\"\n    container_tag = \"x\"\n  }\n}\n",
			warns: []string{"3 container_registry is a registry prefix of the product, but container_name is not"}},
		{name: "other registry", hcl: "locals {\n  app = {\n    container_registry = \"public.ecr.aws/docker\"\n    container_tag = \"x\"\n  }\n}\n"},
		{name: "whole references are not this scan's", hcl: "locals {\n  a = \"public.ecr.aws/y1p3h6z3/bags_api:latest\"\n}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			refs, warns, err := ScanDeploy("main.tf", []byte(tc.hcl), deployRepos, src)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range refs {
				got = append(got, fmt.Sprintf("%s %d %s %v", r.Kind, r.Line, r.Value, r.Components))
				if r.Prefix == "" && tc.hcl[r.Start:r.End] != r.Value {
					t.Errorf("span [%d,%d) holds %q, value %q", r.Start, r.End, tc.hcl[r.Start:r.End], r.Value)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.refs) {
				t.Errorf("refs:\n got %q\nwant %q", got, tc.refs)
			}
			if len(warns) != len(tc.warns) {
				t.Fatalf("warnings: got %+v, want %q", warns, tc.warns)
			}
			for i, w := range warns {
				if want := tc.warns[i]; !strings.HasPrefix(fmt.Sprintf("%d %s", w.Line, w.Message), want) || w.Component == "" || w.Hint == "" {
					t.Errorf("warning %d: %+v, want %q with a component and a hint", i, w, want)
				}
			}
		})
	}
}

func TestScanDeployBadHCL(t *testing.T) {
	_, _, err := ScanDeploy("main.tf", []byte("module \"x\" {\n  source = \n"), deployRepos, "")
	if pe, ok := err.(*ParseError); !ok || pe.File != "main.tf" || pe.Line == 0 {
		t.Fatalf("err = %v, want a ParseError with file and line", err)
	}
}

// FuzzScanDeploy: on any Terraform the deployment scan accepts, every value's
// span holds it (a module ref without one spans nothing, at the end of the
// address), splicing new values changes only those spans, and scanning the
// result finds the new values; a file it refuses is a ParseError with a line.
func FuzzScanDeploy(f *testing.F) {
	fuzzseed.Add(f, rewriteSeeds(f, "hcl", ".tf", ".tfvars")...)
	const src = "github.com/wellcomecollection/storage-service"
	f.Fuzz(func(t *testing.T, data []byte) {
		refs, _, err := ScanDeploy("main.tf", data, deployRepos, src)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "main.tf" {
				t.Fatalf("refusal %v is not a ParseError naming the file", err)
			}
			return
		}
		var edits []Edit
		for i, r := range refs {
			if r.Start < 0 || r.End > len(data) || string(data[r.Start:r.End]) != r.Value || r.Prefix != "" && r.Start != r.End {
				t.Fatalf("ref %+v: span does not hold the value", r)
			}
			edits = append(edits, Edit{Start: r.Start, End: r.End, New: r.Prefix + fmt.Sprintf("v%d", i)})
		}
		out, err := Apply(data, edits)
		if err != nil {
			t.Fatalf("spans overlap: %v", err)
		}
		again, _, err := ScanDeploy("main.tf", out, deployRepos, src)
		if err != nil || len(again) != len(refs) {
			t.Fatalf("after splicing: %d refs (was %d), err %v\n%s", len(again), len(refs), err, out)
		}
		for i, r := range again {
			if r.Value != fmt.Sprintf("v%d", i) {
				t.Fatalf("after splicing, ref %d is %q", i, r.Value)
			}
		}
	})
}
