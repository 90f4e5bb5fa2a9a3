package releaseconfig

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	}
	replace := map[string]string{
		"bad product":     "product: storage-service",
		"unknown channel": "  edge:   {ttl: 168h}",
		"bad ttl":         "  stable: {ttl: 720h}",
		"bad image":       "    image: public.ecr.aws/y1p3h6z3/bags_api:latest",
		"duplicate":       "  - name: fluentbit",
		"unknown field":   "source: https://github.com/wellcomecollection/storage-service",
		"missing store":   "store: ./releases",
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
