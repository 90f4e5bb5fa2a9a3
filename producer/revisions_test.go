package producer

import (
	"errors"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
)

func TestRevisionCheck(t *testing.T) {
	a, b := "abc1234"+strings.Repeat("a", 33), "def5678"+strings.Repeat("d", 33)
	// templated: bags_api uses {revision}, fluentbit does not, notifier does.
	img := func(revs ...string) registry.Revisions {
		if len(revs) == 1 {
			return registry.Revisions{Images: []registry.ImageRevision{{Digest: manifest.Digest([]byte(revs[0])), Revision: revs[0]}}}
		}
		var r registry.Revisions
		for i, rev := range revs {
			r.Images = append(r.Images, registry.ImageRevision{Platform: []string{"linux/amd64", "linux/arm64"}[i], Digest: manifest.Digest([]byte{byte(i)}), Revision: rev})
		}
		return r
	}
	tests := []struct {
		name       string
		given      string
		allowMixed bool
		revs       []registry.Revisions
		code       int      // exit code of the error; 0: accepted
		want       []string // in the error, or in the recorded revisions "source|bags_api|fluentbit|notifier"
		notes      []string
		// ownSource gives fluentbit its own source in release.yaml
		ownSource bool
	}{
		{name: "own-source sidecar from another revision is accepted and recorded", ownSource: true, revs: []registry.Revisions{img(a), img(b), img(a)}, want: []string{a + "||" + b + "|"}},
		{name: "own-source sidecar with --revision", given: a, ownSource: true, revs: []registry.Revisions{img(a), img(b), img("")}, want: []string{a + "||" + b + "|"}},
		{name: "own-source sidecar without a label is unknown", ownSource: true, revs: []registry.Revisions{img(a), img(""), img(a)}, want: []string{a + "|||"}, notes: []string{"revision is unknown: fluentbit"}},
		{name: "own source does not excuse the others", ownSource: true, revs: []registry.Revisions{img(a), img(b), img(b)}, code: 2, want: []string{"bags_api (" + a + "), notifier (" + b + ")"}},
		{name: "one commit, from labels", revs: []registry.Revisions{img(a), img(a), img(a)}, want: []string{a + "|||"}},
		{name: "one commit, short --revision matches full labels", given: "abc1234", revs: []registry.Revisions{img(a), img(a), img(a)}, want: []string{"abc1234|||"}},
		{name: "no labels", revs: []registry.Revisions{img(""), img(""), img("")}, want: []string{"|||"}, notes: []string{"no component carries"}},
		{name: "unknown does not conflict", revs: []registry.Revisions{img(a), img(""), img(a)}, want: []string{a + "|||"}, notes: []string{"1 of 3 components carry no", "fluentbit"}},
		{name: "templated and unlabelled is vouched by the tag", given: a, revs: []registry.Revisions{img(""), img(a), img("")}, want: []string{a + "|||"}},
		{name: "mixed refused", revs: []registry.Revisions{img(a), img(b), img(a)}, code: 2,
			want: []string{"components come from different revisions: bags_api, notifier (" + a + "), fluentbit (" + b + "); release one commit's images or allow mixed revisions"}},
		{name: "mixed platforms refused", revs: []registry.Revisions{img(a, b), img(""), img("")}, code: 2,
			want: []string{"bags_api[linux/amd64] (" + a + "), bags_api[linux/arm64] (" + b + ")"}},
		{name: "other than --revision refused", given: a, revs: []registry.Revisions{img(a), img(b), img(a)}, code: 2,
			want: []string{"revision " + a + " was given, but components come from different revisions: bags_api, notifier (" + a + "), fluentbit (" + b + ")"}},
		{name: "tag filled from --revision carries another", given: a, allowMixed: true, revs: []registry.Revisions{img(b), img(a), img(a)}, code: 2,
			want: []string{"release.yaml:7: component bags_api: public.ecr.aws/y1p3h6z3/bags_api:ref." + a + " carries org.opencontainers.image.revision " + b}},
		{name: "mixed allowed records each", allowMixed: true, revs: []registry.Revisions{img(a), img(b), img("")}, want: []string{"|" + a + "|" + b + "|"}, notes: []string{"fluentbit (" + b + ")" + NoteMixedAllowed}},
		{name: "mixed allowed with --revision", given: a, allowMixed: true, revs: []registry.Revisions{img(""), img(b), img(a)}, want: []string{a + "|" + a + "|" + b + "|" + a},
			notes: []string{"revision " + a + " was given, but components come from different revisions: notifier (" + a + "), fluentbit (" + b + ")" + NoteMixedAllowed}},
		{name: "mixed platforms allowed", allowMixed: true, revs: []registry.Revisions{img(a, b), img(a), img("")}, want: []string{"||" + a + "|", "platforms " + a + "," + b},
			notes: []string{"carry no org.opencontainers.image.revision label, so their revision is unknown: notifier", "bags_api[linux/amd64], fluentbit (" + a + "), bags_api[linux/arm64] (" + b + ")"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := templated()
			rev := tt.given
			if rev == "" {
				rev = "unused"
			}
			images, err := c.Images(rev)
			if err != nil {
				t.Fatal(err)
			}
			const sidecarRepo = "https://github.com/wellcomecollection/fluentbit-sidecar"
			if tt.ownSource {
				c.Components[1].Source = sidecarRepo
			}
			// One entry per component: its configuration, the image
			// resolved, the labels read, the manifest entry.
			comps := make([]component, len(c.Components))
			for i, comp := range c.Components {
				mc := manifest.Component{Name: comp.Name}
				for _, im := range tt.revs[i].Images {
					if im.Platform != "" {
						os, arch, _ := strings.Cut(im.Platform, "/")
						mc.Platforms = append(mc.Platforms, manifest.Platform{OS: os, Architecture: arch, Digest: im.Digest})
					}
				}
				comps[i] = component{conf: comp, image: images[i], revs: tt.revs[i], out: mc}
			}
			source, notes, err := revisionCheck{path: c.Path, given: tt.given, allowMixed: tt.allowMixed}.apply(comps)
			rel := &manifest.Release{Source: manifest.Source{Revision: source}}
			for _, comp := range comps {
				rel.Components = append(rel.Components, comp.out)
			}
			if tt.code != 0 {
				if exitcode.Of(err) != tt.code || !strings.Contains(err.Error(), tt.want[0]) {
					t.Fatalf("exit %d, want %d; error:\n%v\nwant it to contain:\n%s", exitcode.Of(err), tt.code, err, tt.want[0])
				}
				var mixed *MixedRevisionsError
				if strings.Contains(tt.want[0], "different revisions") && (!errors.As(err, &mixed) || mixed.Given != tt.given) {
					t.Fatalf("error %v: want a *MixedRevisionsError with Given %q (cmd/pin words its remedy)", err, tt.given)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := rel.Source.Revision
			var ps []string
			for _, mc := range rel.Components {
				got += "|" + mc.Revision
				for _, p := range mc.Platforms {
					ps = append(ps, p.Revision)
				}
			}
			if got != tt.want[0] {
				t.Errorf("recorded %q, want %q", got, tt.want[0])
			}
			if want := map[bool]string{true: sidecarRepo}[tt.ownSource]; rel.Components[1].Source != want {
				t.Errorf("fluentbit's source recorded as %q, want %q", rel.Components[1].Source, want)
			}
			if len(tt.want) > 1 && "platforms "+strings.Join(ps, ",") != tt.want[1] {
				t.Errorf("platforms %v, want %s", ps, tt.want[1])
			}
			all := strings.Join(notes, "\n")
			for _, n := range tt.notes {
				if !strings.Contains(all, n) {
					t.Errorf("notes %q lack %q", all, n)
				}
			}
			if len(tt.notes) == 0 && len(notes) > 0 {
				t.Errorf("unexpected notes: %q", all)
			}
		})
	}
}

func TestSameRevision(t *testing.T) {
	full := "5f1c3e0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e"
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{full, full, true},
		{"5f1c3e0", full, true},
		{full, "5F1C3E0", true},
		{"5f1c3e", full, false}, // too short to abbreviate
		{"v1.2.3", "v1.2.3", true},
		{"v1.2", "v1.2.3", false},
		{"5f1c3e0b", full, false},
	} {
		if got := sameRevision(tt.a, tt.b); got != tt.same {
			t.Errorf("sameRevision(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

// templated is release.yaml's view of a product whose bags_api and notifier
// tags hold {revision} and whose fluentbit does not.
func templated() *releaseconfig.Config {
	return &releaseconfig.Config{Path: "release.yaml", Product: "storage-service", Components: []releaseconfig.Component{
		{Name: "bags_api", Image: "public.ecr.aws/y1p3h6z3/bags_api:ref.{revision}", Line: 7},
		{Name: "fluentbit", Image: "public.ecr.aws/l7a1d1z4/fluentbit:latest", Line: 9},
		{Name: "notifier", Image: "public.ecr.aws/y1p3h6z3/notifier:{revision}-amd64", Line: 11},
	}}
}
