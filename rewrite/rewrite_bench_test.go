package rewrite

import (
	"fmt"
	"strings"
	"testing"
)

// benchInputs returns, per format, a file name and a file holding 40
// managed references (two per service, 20 services) among ordinary content.
func benchInputs() map[string][2]string {
	svcs := []string{"bags_api", "ingests_api", "ingests_indexer", "ingests_tracker", "ingests_worker", "notifier",
		"bag_versioner", "bag_register", "bag_tagger", "bag_replicator", "bag_root_finder", "bag_tracker",
		"bag_verifier", "bag_unpacker", "bag_indexer", "file_finder", "file_indexer", "replica_aggregator",
		"bags_api", "notifier"}
	var tf, js, yml, df strings.Builder
	js.WriteString("[\n")
	for i, s := range svcs {
		ref := "public.ecr.aws/y1p3h6z3/" + s + ":latest"
		side := "public.ecr.aws/l7a1d1z4/fluentbit:edge"
		fmt.Fprintf(&tf, "resource \"aws_ecs_task_definition\" \"t%d\" {\n  family = \"%s\"\n  cpu    = 256\n  container_definitions = jsonencode([{\n    name  = \"app\"\n    image = %q\n  }, {\n    name  = \"log_router\"\n    image = %q\n  }])\n}\n\n", i, s, ref, side)
		sep := ","
		if i == len(svcs)-1 {
			sep = ""
		}
		fmt.Fprintf(&js, "  {\"family\": %q, \"containerDefinitions\": [\n    {\"name\": \"app\", \"image\": %q, \"memory\": 512, \"environment\": [{\"name\": \"QUEUE\", \"value\": \"q-%d\"}]},\n    {\"name\": \"log_router\", \"image\": %q}\n  ]}%s\n", s, ref, i, side, sep)
		fmt.Fprintf(&yml, "  %s_%d:\n    image: %s\n    environment:\n      LOG_LEVEL: info\n  %s_%d_logs:\n    image: \"%s\"\n", s, i, ref, s, i, side)
		fmt.Fprintf(&df, "FROM %s AS stage%d\nRUN echo %d > /srv/version\nCOPY --from=%s /fluent-bit /fluent-bit\n\n", ref, i, i, side)
	}
	js.WriteString("]\n")
	return map[string][2]string{
		"hcl":        {"main.tf", tf.String()},
		"json":       {"tasks.json", js.String()},
		"yaml":       {"compose.yaml", "services:\n" + yml.String()},
		"dockerfile": {"Dockerfile", df.String()},
	}
}

// BenchmarkRewrite measures each rewriter's whole job on a file holding 40
// managed references: scan, then splice a digest reference into every span.
func BenchmarkRewrite(b *testing.B) {
	inputs := benchInputs()
	for _, format := range []string{"hcl", "json", "yaml", "dockerfile"} {
		in := inputs[format]
		data := []byte(in[1])
		b.Run(format, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				res, err := Scan(in[0], data, testMatcher{})
				if err != nil || len(res.Refs) != 40 {
					b.Fatalf("%d refs, %v", len(res.Refs), err)
				}
				edits := make([]Edit, len(res.Refs))
				for i, r := range res.Refs {
					repo, _, _ := SplitRef(r.Value)
					edits[i] = Edit{Start: r.Start, End: r.End, New: repo + "@sha256:" + strings.Repeat("ab", 32)}
				}
				out, err := Apply(data, edits)
				if err != nil || len(out) <= len(data) {
					b.Fatalf("%d bytes, %v", len(out), err)
				}
			}
		})
	}
}
