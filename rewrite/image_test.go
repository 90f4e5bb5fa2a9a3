package rewrite

import (
	"fmt"
	"strings"
	"testing"
)

func TestImageShape(t *testing.T) {
	tests := []struct {
		s                string
		atPlace, outside bool
	}{
		{"nginx", true, false},
		{"nginx:1.7.9", true, false},
		{"node:10.0.0", true, false},
		{"dockersamples/examplevotingapp_worker", true, false},
		{"docker/dockerfile:1", true, false},
		{"public.ecr.aws/y1p3h6z3/bags_api", true, false},
		{"public.ecr.aws/y1p3h6z3/bags_api:latest", true, true},
		{"localhost:5000/app@sha256:" + strings.Repeat("a", 64), true, true},
		{"s3:PutObject", true, false}, // shaped like one: only the place tells
		{"sts:AssumeRole", true, false},
		{"aws:SourceArn", true, false},
		{"arn:aws:s3:::bucket/*", false, false},
		{"8080:80", false, false},
		{"source.toolkit.fluxcd.io/v1beta2", true, false},
		{"oci://ghcr.io/stefanprodan/charts/podinfo", false, false},
		{"https://example.com/a:1", false, false},
		{"${REGISTRY}/app:1", false, false},
		{"./stack", false, false},
		{"sha256:" + strings.Repeat("a", 64), false, false},
	}
	for _, tt := range tests {
		_, at := ImageShape(tt.s, true)
		_, out := ImageShape(tt.s, false)
		if at != tt.atPlace || out != tt.outside {
			t.Errorf("ImageShape(%q): at an image's place %v, elsewhere %v; want %v, %v", tt.s, at, out, tt.atPlace, tt.outside)
		}
	}
}

func TestImageKey(t *testing.T) {
	for key, want := range map[string]bool{
		"image": true, "Image": true, "container_image": true, "sidecarImage": true, "images": true, "extra_images": true,
		"image_uri": true, "imageUri": true, "image_url": true, `"image"`: true,
		"apiVersion": false, "kind": false, "Action": false, "variable": false, "imagePullPolicy": false, "image_tag": false,
		"repository": false, "": false,
	} {
		if got := ImageKey(key); got != want {
			t.Errorf("ImageKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// shapeMatcher is audit's matcher: every image, judged at its place.
type shapeMatcher struct{}

func (shapeMatcher) Match(s string) (string, bool)            { return ImageShape(s, false) }
func (shapeMatcher) Mentions(string) (string, bool)           { return "", false }
func (shapeMatcher) MatchAt(s string, at bool) (string, bool) { return ImageShape(s, at) }

// TestScanByPlace: the same strings are images or not by where they sit,
// in every format, and Helm split images and compose defaults are read as
// one image.
func TestScanByPlace(t *testing.T) {
	d := "sha256:" + strings.Repeat("b", 64)
	tests := []struct {
		path, data string
		want       []string // line field value [image]
	}{
		{"c.yaml", "services:\n  a:\n    image: nginx:1.25\n    command: run:worker\n  b:\n    image: ${IMG:-redis:7}\n  c:\n    image: ${IMG:-}\n", []string{"3 ref nginx:1.25", "6 ref redis:7"}},
		{"k.yaml", "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: HelmRepository\nspec:\n  url: oci://ghcr.io/x/charts\n", nil},
		{"v.yaml", "image:\n  registry: docker.io\n  repository: bitnami/redis\n  tag: 7.2.4\n  digest: \"\"\n", []string{"5 digest  [docker.io/bitnami/redis:7.2.4]"}},
		{"v.yaml", "image:\n  repository: nginx\n  tag: 1.25\n", []string{"3 tag 1.25 [nginx:1.25]"}},
		{"v.yaml", "image:\n  repository: nginx\n  digest: " + d + "\n", []string{"3 digest " + d + " [nginx@" + d + "]"}},
		{"v.yaml", "image:\n  repository: nginx\n  tag: 1.25\n  digest:\n", []string{"3 tag 1.25 [nginx:1.25]"}},
		{"v.yaml", "git:\n  repository: org/repo\n  tag: v1\n", nil},
		{"v.yaml", "images: [nginx, \"redis:7\"]\nnames: [nginx]\n", []string{"1 ref nginx", "1 ref redis:7"}},
		{"m.tf", "variable \"image\" {\n  default = \"nginx:1.25\"\n}\nvariable \"env\" {\n  default = \"stage:blue\"\n}\nlocals {\n  a = [\"s3:PutObject\"]\n  b = { image = \"busybox\" }\n  c = \"ghcr.io/org/app:1\"\n}\n",
			[]string{"2 ref nginx:1.25", "9 ref busybox", "10 ref ghcr.io/org/app:1"}},
		{"t.json", `{"containerDefinitions": [{"image": "nginx", "environment": [{"value": "queue:x"}]}], "images": ["redis:7"], "Action": "sts:AssumeRole"}`,
			[]string{"1 ref nginx", "1 ref redis:7"}},
		{"Dockerfile", "# syntax=docker/dockerfile:1\nFROM golang:1.22 AS build\nFROM alpine\nCOPY --from=build /a /a\nCOPY --from=busybox /b /b\nFROM scratch\n",
			[]string{"1 ref docker/dockerfile:1", "2 ref golang:1.22", "3 ref alpine", "5 ref busybox"}},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+strings.SplitN(tt.data, "\n", 2)[0], func(t *testing.T) {
			res, err := Scan(tt.path, []byte(tt.data), shapeMatcher{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range res.Refs {
				s := fmt.Sprintf("%d %s %s", r.Line, r.Field, r.Value)
				if r.Image != "" {
					s += " [" + r.Image + "]"
				}
				if tt.data[r.Start:r.End] != r.Value {
					t.Errorf("span [%d,%d) holds %q, not %q", r.Start, r.End, tt.data[r.Start:r.End], r.Value)
				}
				got = append(got, s)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("found\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestSplitImageMarkersWin: a split image whose fields carry markers is
// left to the markers, as before.
func TestSplitImageMarkersWin(t *testing.T) {
	data := "image:\n  repository: public.ecr.aws/y1p3h6z3/bags_api # pin:bags_api:repo\n  tag: latest # pin:bags_api:tag\n  digest: \"\" # pin:bags_api:digest\n"
	res, err := ScanYAML("v.yaml", []byte(data), testMatcher{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Refs) != 3 {
		t.Fatalf("refs %+v, want the three marked fields", res.Refs)
	}
	for _, r := range res.Refs {
		if !r.Marker || r.Image != "" {
			t.Errorf("ref %+v: want a marked field, not a split image", r)
		}
	}
}
