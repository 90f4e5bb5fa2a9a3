package audit

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkAudit2000 holds the performance claim of pin audit: 2,000
// references in 500 files (compose YAML, Terraform, kubectl lists and raw
// state, four references each) extracted, evaluated and rendered as a table,
// with the release catalog already in memory. The budget is under 1 s per op.
func BenchmarkAudit2000(b *testing.B) {
	dir := b.TempDir()
	comps := []string{"bags_api", "ingests_api", "notifier", "nginx_apigw"}
	vers := []string{"1.3.0", "1.4.0", "1.5.0", "dev"}
	img := func(i, j int) string {
		c := comps[j]
		v := vers[(i+j)%len(vers)]
		if c == "notifier" && v == "1.4.0" {
			v = "1.3.0"
		}
		if c == "nginx_apigw" && v == "1.4.0" {
			v = "1.3.0"
		}
		return repoOf(c) + "@" + d(c+" "+v)
	}
	for i := 0; i < 500; i++ {
		var name, body string
		sub := filepath.Join(dir, fmt.Sprintf("env%02d", i%25))
		switch i % 4 {
		case 0:
			name = fmt.Sprintf("compose-%d.yaml", i)
			body = "services:\n"
			for j := range comps {
				body += fmt.Sprintf("  s%d:\n    image: %s\n    ports: [\"900%d:900%d\"]\n", j, img(i, j), j, j)
			}
		case 1:
			name = fmt.Sprintf("stack-%d.tf", i)
			body = "module \"stack\" {\n  source = \"./stack\"\n"
			for j := range comps {
				body += fmt.Sprintf("  image_%d = \"%s\"\n", j, img(i, j))
			}
			body += "}\n"
		case 2:
			name = fmt.Sprintf("pods-%d.json", i)
			body = `{"apiVersion":"v1","kind":"List","items":[`
			for j := range comps {
				if j > 0 {
					body += ","
				}
				body += fmt.Sprintf("\n {\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d%d\",\"namespace\":\"storage\"},"+
					"\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":%q}]}}}}", j, img(i, j))
			}
			body += "]}\n"
		default:
			name = fmt.Sprintf("stack-%d.tfstate", i)
			body = `{"version":4,"terraform_version":"1.9.8","resources":[`
			for j := range comps {
				if j > 0 {
					body += ","
				}
				defs := fmt.Sprintf(`[{"name":"app","image":%q,"essential":true}]`, img(i, j))
				body += fmt.Sprintf("\n {\"module\":\"module.stack\",\"mode\":\"managed\",\"type\":\"aws_ecs_task_definition\",\"name\":\"s%d\","+
					"\"instances\":[{\"attributes\":{\"container_definitions\":%q}}]}", j, defs)
			}
			body += "]}\n"
		}
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, name), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	cat := testCatalog(b)
	b.ResetTimer()
	for b.Loop() {
		found, err := ExtractPaths([]string{dir}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(found) != 2000 {
			b.Fatalf("found %d references, want 2000", len(found))
		}
		rep := Evaluate(found, cat, false)
		if err := rep.WriteTable(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
