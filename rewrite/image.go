package rewrite

import (
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Where a value sits decides whether a string is an image at all: `s3:PutObject`
// and `nginx:1.25` have the same shape, and only the key that holds them tells
// them apart. Every scanner works out that place and asks the matcher through
// MatchAt, so that pin audit (which reports every image) and pin update (which
// manages the product's) judge the same value the same way.

// ContextMatcher is a Matcher that also weighs where a value sits. Scanners
// use MatchAt when the matcher has it, Match otherwise.
type ContextMatcher interface {
	Matcher
	// MatchAt is Match for a value held where an image is expected (an
	// `image` key, a Dockerfile FROM) when imagePlace is true.
	MatchAt(s string, imagePlace bool) (component string, ok bool)
}

// matchAt asks m about s at a place that is (or is not) an image's.
func matchAt(m Matcher, s string, imagePlace bool) (string, bool) {
	if cm, ok := m.(ContextMatcher); ok {
		return cm.MatchAt(s, imagePlace)
	}
	return m.Match(s)
}

// ImageKey reports whether a key or attribute name says its value is an
// image: image, images, container_image, baseImage, image_uri, imageUrl.
func ImageKey(key string) bool {
	k := strings.ToLower(strings.Trim(key, `"'`))
	k = strings.NewReplacer("_", "", "-", "", ".", "").Replace(k)
	switch {
	case k == "":
		return false
	case strings.HasSuffix(k, "image"), strings.HasSuffix(k, "images"):
		return true
	case k == "imageuri", k == "imageurl", k == "imageref", k == "imagereference":
		return true
	}
	return false
}

var (
	hasLetter = regexp.MustCompile(`[a-zA-Z]`)
	// registryHost is a registry name: host[:port], a dotted name or localhost.
	registryHost = regexp.MustCompile(`^(localhost|[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(:[0-9]+)?$`)
)

// ImageShape reports whether s is an image reference by its shape and its
// place, and returns the repository as written. It is the one notion of
// "looks like an image" that audit's matcher and the scanners share:
//
//   - at an image's place (imagePlace: an `image` key, FROM, COPY --from),
//     any reference counts, "nginx" and "node:10" included;
//   - anywhere else only a reference that names its registry and carries a
//     tag or digest (registry.example/team/app:1.2): `s3:PutObject`,
//     `sts:AssumeRole`, `8080:80` and Kubernetes apiVersions
//     (source.toolkit.fluxcd.io/v1beta2) are not images.
//
// URLs (oci:// chart addresses, https://), digests alone and values with
// blanks, quotes or interpolations are never images.
func ImageShape(s string, imagePlace bool) (repo string, ok bool) {
	if len(s) < 2 || len(s) > 512 || strings.ContainsAny(s, " \t\r\n\"'${}<>|\\") || strings.HasPrefix(s, "sha256:") ||
		strings.Contains(s, "://") {
		return "", false
	}
	if _, err := name.ParseReference(s, name.WeakValidation); err != nil {
		return "", false
	}
	repo, tag, digest := SplitRef(s)
	if !hasLetter.MatchString(repo) {
		return "", false
	}
	qualified := false
	if i := strings.IndexByte(repo, '/'); i > 0 {
		first := repo[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" {
			if !registryHost.MatchString(first) {
				return "", false // ./stack, db:/var/lib/data
			}
			qualified = true
		}
	}
	if !imagePlace && !(qualified && (tag != "" || digest != "")) {
		return "", false
	}
	return repo, true
}
