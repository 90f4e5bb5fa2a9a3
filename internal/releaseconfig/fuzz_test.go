package releaseconfig

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/fuzzseed"
	"github.com/wellcomecollection/pin/manifest"
)

// FuzzParse loads arbitrary bytes as release.yaml. It never panics; every
// error names the file and a line of it; and every config it accepts has
// a product, a store, valid channels with positive TTLs, and components
// with distinct valid names whose images are fully qualified references
// ({revision} filled), each on a line of the file.
func FuzzParse(f *testing.F) {
	fuzzseed.Add(f, fuzzseed.Files(f, filepath.Join("..", "..", "examples"), func(rel string) bool { return rel == "release.yaml" })...)
	fuzzseed.Add(f, []byte(good),
		[]byte("product: p\nsource: s\nstore: d\nchannels: {stable: {ttl: 1h}, Edge: {ttl: 1h}}\ncomponents: [{name: a, image: 127.0.0.1:5000/a:1}]\n"),
		[]byte("product: p\nsource: s\nstore: d\nchannels: {stable: {ttl: -1h}}\ncomponents:\n  - {name: a, image: b}\n  - {name: a, image: b}\n"),
	)
	path := filepath.Join(f.TempDir(), "release.yaml")
	fileLine := regexp.MustCompile("^" + regexp.QuoteMeta(path) + `:[1-9][0-9]*: `)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(path, b)
		if err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				if !fileLine.MatchString(l) {
					t.Fatalf("error line %q does not start with %s:<line>", l, path)
				}
			}
			return
		}
		lines := 1 + strings.Count(string(b), "\n")
		if c.Product == "" || c.Store == "" || len(c.Channels) == 0 || len(c.Components) == 0 {
			t.Fatalf("accepted an incomplete config: %+v", c)
		}
		for ch, cc := range c.Channels {
			if channels.ValidName(ch) != nil || cc.TTL <= 0 {
				t.Fatalf("accepted channel %q with ttl %v", ch, cc.TTL)
			}
		}
		seen := map[string]bool{}
		for _, comp := range c.Components {
			if seen[comp.Name] || !manifest.ValidName(comp.Name) || comp.Line < 1 || comp.Line > lines {
				t.Fatalf("accepted component %+v (file of %d lines)", comp, lines)
			}
			seen[comp.Name] = true
			// A {revision} image must be one once filled with a revision.
			img, err := comp.imageFor(path, sampleRevision)
			if err != nil {
				t.Fatalf("accepted image %q that %s does not fill: %v", comp.Image, sampleRevision, err)
			}
			if _, err := name.ParseReference(img, name.StrictValidation); err != nil {
				t.Fatalf("accepted image %q: %v", comp.Image, err)
			}
		}
	})
}
