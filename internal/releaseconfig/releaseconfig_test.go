package releaseconfig

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/internal/exitcode"
)

const good = `product: storage-service
source: https://github.com/wellcomecollection/storage-service
store: ./releases
channels:
  edge:   {ttl: 168h}
  stable: {ttl: 720h}
components:
  - name: bags_api
    image: public.ecr.aws/y1p3h6z3/bags_api:latest
  - name: fluentbit
    image: public.ecr.aws/l7a1d1z4/fluentbit:ref.0123456789abcdef0123456789abcdef01234567
`

func TestParse(t *testing.T) {
	c, err := Parse("/srv/release.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if c.Store != filepath.Join("/srv", "releases") {
		t.Errorf("store %q: relative paths are relative to the file", c.Store)
	}
	if ttl, _ := c.TTL("edge"); ttl != 168*time.Hour {
		t.Errorf("edge ttl %s", ttl)
	}
	own, err := Parse("release.yaml", []byte(strings.Replace(good, "fluentbit:ref.0123456789abcdef0123456789abcdef01234567", "fluentbit:latest\n    source: https://github.com/wellcomecollection/fluentbit", 1)))
	if err != nil || own.Components[1].Source != "https://github.com/wellcomecollection/fluentbit" {
		t.Errorf("component source: %v, %+v", err, own)
	}
	if len(c.Components) != 2 || c.Components[1].Line != 10 {
		t.Errorf("components %+v", c.Components)
	}
	if _, err := c.TTL("beta"); err == nil {
		t.Error("unknown channel accepted")
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name, mutate, want string
	}{
		{"bad product", "product: Storage Service", "release.yaml:1: product"},
		{"unknown channel", "  edge:   {ttl: 168h}\n  beta: {ttl: 1h}", "release.yaml:6: channel \"beta\""},
		{"bad ttl", "  stable: {ttl: forever}", "release.yaml:6: channel stable: ttl"},
		{"bad image", "    image: public.ecr.aws/y1p3h6z3/BAGS:latest", "release.yaml:8: component bags_api"},
		{"duplicate", "  - name: fluentbit\n    image: public.ecr.aws/x/y:latest\n  - name: fluentbit", "component fluentbit is listed twice"},
		{"unknown field", "sauce: x", `release.yaml:12: unknown field "sauce"`},
		{"missing store", "store: \"\"", "release.yaml:3: store is missing"},
		{"own source with {revision}", "    image: public.ecr.aws/y1p3h6z3/bags_api:ref.{revision}\n    source: https://github.com/x/y", "release.yaml:8: component bags_api has its own source, so {revision}"},
		{"own source with a control character", "    image: public.ecr.aws/y1p3h6z3/bags_api:latest\n    source: \"https://x\\u0007\"", "release.yaml:8: component bags_api: source"},
	}
	replace := map[string]string{
		"bad product":                         "product: storage-service",
		"unknown channel":                     "  edge:   {ttl: 168h}",
		"bad ttl":                             "  stable: {ttl: 720h}",
		"bad image":                           "    image: public.ecr.aws/y1p3h6z3/bags_api:latest",
		"duplicate":                           "  - name: fluentbit",
		"unknown field":                       "source: https://github.com/wellcomecollection/storage-service",
		"missing store":                       "store: ./releases",
		"own source with {revision}":          "    image: public.ecr.aws/y1p3h6z3/bags_api:latest",
		"own source with a control character": "    image: public.ecr.aws/y1p3h6z3/bags_api:latest",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := good
			if tt.name == "unknown field" {
				doc = good + tt.mutate + "\n"
			} else {
				doc = strings.Replace(good, replace[tt.name], tt.mutate, 1)
			}
			_, err := Parse("release.yaml", []byte(doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

const templated = `product: storage-service
source: https://github.com/wellcomecollection/storage-service
store: ./releases
channels:
  edge: {ttl: 168h}
components:
  - name: bags_api
    image: public.ecr.aws/y1p3h6z3/bags_api:ref.{revision}
  - name: fluentbit
    image: public.ecr.aws/l7a1d1z4/fluentbit:latest
  - name: notifier
    image: public.ecr.aws/y1p3h6z3/notifier:{revision}-amd64
`

func TestRevisionPlaceholder(t *testing.T) {
	sha := "5f1c3e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e"
	c, err := Parse("release.yaml", []byte(templated))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Components[0].UsesRevision() || c.Components[1].UsesRevision() || !c.Components[2].UsesRevision() {
		t.Fatalf("UsesRevision wrong: %+v", c.Components)
	}
	template := c.Components[0].Image
	_, err = c.Images("")
	if exitcode.Of(err) != exitcode.Usage {
		t.Fatalf("no revision: exit %d (%v), want 2", exitcode.Of(err), err)
	}
	for _, want := range []string{"release.yaml:7: component bags_api", "release.yaml:11: component notifier", "needs a revision"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !errors.Is(err, ErrNeedsRevision) {
		t.Errorf("error %q is not ErrNeedsRevision (cmd/pin words it as --revision)", err)
	}
	for _, bad := range []string{"abc/def", "-abc", "a b", "x:y", strings.Repeat("a", 129), "a@b"} {
		if _, err := c.Images(bad); exitcode.Of(err) != exitcode.Usage {
			t.Errorf("Images(%q) = %v, want a usage error", bad, err)
		}
	}
	// A valid revision whose image becomes too long (a tag is at most 128).
	if _, err := c.Images(strings.Repeat("a", 125)); err == nil || !strings.Contains(err.Error(), "release.yaml:7:") {
		t.Fatalf("overlong tag: %v", err)
	}
	images, err := c.Images(sha)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"public.ecr.aws/y1p3h6z3/bags_api:ref." + sha, "public.ecr.aws/l7a1d1z4/fluentbit:latest", "public.ecr.aws/y1p3h6z3/notifier:" + sha + "-amd64"}
	for i, w := range want {
		if images[i] != w {
			t.Errorf("component %d: %s, want %s", i, images[i], w)
		}
	}
	// Filling never changes the configuration: another revision starts from the template.
	if c.Components[0].Image != template {
		t.Fatalf("filling a revision changed the configured image: %s", c.Components[0].Image)
	}
	if images, err := c.Images("v1.2.3"); err != nil || images[0] != "public.ecr.aws/y1p3h6z3/bags_api:ref.v1.2.3" {
		t.Fatalf("refill: %v %v", err, images)
	}
	// A configuration without the placeholder accepts any valid revision and no revision.
	plain, err := Parse("release.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Images(""); err != nil {
		t.Fatal(err)
	}
	if images, err := plain.Images(sha); err != nil || images[0] != "public.ecr.aws/y1p3h6z3/bags_api:latest" {
		t.Fatal(err)
	}
}

func TestRevisionPlaceholderOnlyInTag(t *testing.T) {
	for image, want := range map[string]string{
		"public.ecr.aws/{revision}/bags_api:latest":                                     "may only appear in the tag",
		"public.ecr.aws/y1p3h6z3/bags_api{revision}":                                    "may only appear in the tag",
		"public.ecr.aws/y1p3h6z3/bags_api:{revision}@sha256:" + strings.Repeat("0", 64): "may only appear in the tag",
		"public.ecr.aws/y1p3h6z3/bags_api:ref.{rev}":                                    "{revision} is the only placeholder",
		"127.0.0.1:5000/bags_api:{revision}":                                            "",
	} {
		doc := strings.Replace(good, "public.ecr.aws/y1p3h6z3/bags_api:latest", image, 1)
		_, err := Parse("release.yaml", []byte(doc))
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", image, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "release.yaml:8:") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want release.yaml:8: ... %s", image, err, want)
		}
	}
}
