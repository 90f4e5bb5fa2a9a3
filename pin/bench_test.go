package pin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/wellcomecollection/pin/channels"
)

// writeBenchTree writes files of mixed formats (Terraform, YAML, ECS JSON,
// Dockerfiles) under dir, 50 to a directory. The first managedFiles hold one
// managed reference each, plus a second (a sidecar) in all but the JSON ones;
// every file also holds a foreign image. It returns the managed references.
func writeBenchTree(b *testing.B, dir string, files, managedFiles int) (refs int) {
	b.Helper()
	kinds := []string{"tf", "yaml", "json", "Dockerfile"}
	for i := 0; i < files; i++ {
		kind := kinds[i%len(kinds)]
		sub := filepath.Join(dir, fmt.Sprintf("svc%03d", i/50))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		managed := i < managedFiles
		a, c := "public.ecr.aws/docker/library/redis:7", "public.ecr.aws/docker/library/postgres:16"
		if managed {
			a = "public.ecr.aws/y1p3h6z3/" + services[i%len(services)] + ":latest"
			refs++
		}
		var name, body string
		switch kind {
		case "tf":
			name = fmt.Sprintf("f%05d.tf", i)
			body = fmt.Sprintf("# service %d\nresource \"aws_ecs_task_definition\" \"t%d\" {\n  family = \"t%d\"\n  cpu    = 256\n  container_definitions = jsonencode([{\n    name  = \"app\"\n    image = %q\n  }, {\n    name  = \"cache\"\n    image = %q\n  }])\n}\n", i, i, i, a, c)
		case "yaml":
			name = fmt.Sprintf("f%05d.yaml", i)
			body = fmt.Sprintf("# service %d\nservices:\n  app:\n    image: %s\n    environment:\n      LOG_LEVEL: info\n  cache:\n    image: \"%s\"\n", i, a, c)
		case "json":
			name = fmt.Sprintf("f%05d.json", i)
			body = fmt.Sprintf("{\n  \"family\": \"t%d\",\n  \"containerDefinitions\": [\n    {\"name\": \"app\", \"image\": %q, \"memory\": 512},\n    {\"name\": \"cache\", \"image\": %q}\n  ]\n}\n", i, a, c)
		default:
			name = fmt.Sprintf("Dockerfile.f%05d", i)
			body = fmt.Sprintf("# syntax=docker/dockerfile:1\nFROM %s AS app\nRUN echo %d\nFROM %s\nCOPY --from=app /srv /srv\n", a, i, c)
		}
		if managed {
			// A second managed reference in every managed file.
			side := "public.ecr.aws/y1p3h6z3/" + services[(i+1)%len(services)] + ":latest"
			body += map[string]string{
				"tf":         fmt.Sprintf("locals {\n  sidecar = %q\n}\n", side),
				"yaml":       fmt.Sprintf("  logs:\n    image: %s\n", side),
				"json":       "",
				"Dockerfile": fmt.Sprintf("COPY --from=%s /fluent-bit /fluent-bit\n", side),
			}[kind]
			if kind != "json" {
				refs++
			}
		}
		if err := os.WriteFile(filepath.Join(sub, name), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return refs
}

// BenchmarkUpdate10k measures `pin update` on a tree of 10,000 files of mixed
// formats holding about 2,000 managed references, once the release has been
// published to a local store: every iteration verifies the channel and the
// release, scans the tree, rewrites every managed reference (alternating
// between two releases so that every iteration really writes) and the lock.
func BenchmarkUpdate10k(b *testing.B) {
	f := newFixture(b)
	f.release("1.5.0", channels.Stable, "a")
	f.release("1.6.0", channels.Stable, "b")
	f.dir = b.TempDir()
	refs := writeBenchTree(b, f.dir, 10000, 1143)
	cfg, err := Init(context.Background(), InitOptions{Path: filepath.Join(f.dir, "pin.yaml"), Source: f.store.String(),
		Channel: channels.Stable, KeyFile: f.pubPath, Now: f.clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	versions := []string{"1.5.0", "1.6.0"}
	b.ReportMetric(float64(refs), "refs")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		plan, err := PlanUpdate(context.Background(), cfg, UpdateOptions{To: versions[i%2], AllowDowngrade: true, Now: f.clk.Now})
		if err != nil {
			b.Fatal(err)
		}
		if err := plan.Apply(); err != nil {
			b.Fatal(err)
		}
		if len(plan.Refs) != refs {
			b.Fatalf("found %d managed references, wrote %d", len(plan.Refs), refs)
		}
	}
}
