// Package releaseconfig reads release.yaml, the producer's description of a
// product: where its releases are published, each channel's TTL, and the
// image tags that make up a release (which may hold {revision}, filled by
// SetRevision). Errors name the file and line. RevisionCheck decides whether
// the images resolved for a release come from one commit.
package releaseconfig

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"gopkg.in/yaml.v3"

	"github.com/wellcomecollection/pin/internal/opterr"
	"github.com/wellcomecollection/pin/internal/regular"
	"github.com/wellcomecollection/pin/internal/yamlerr"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing/keyless"
)

// Config is a parsed release.yaml.
type Config struct {
	Path       string // the file it came from
	Product    string
	Source     string
	Store      string // oci://host/repo, https://..., or a directory (made absolute)
	Channels   map[string]Channel
	Components []Component
	// PreviousKeys are PEM public keys (read from the files release.yaml
	// names) of earlier signing keys, trusted while keys rotate.
	PreviousKeys map[string][]byte
	// Identities are the pipeline's own CI identities (keyless signing):
	// what is already published is verified against them before re-signing.
	Identities []keyless.Identity
	// Sigstore is where keyless signatures go (Fulcio, Rekor) and the trusted
	// root Identities are checked with; paths are made absolute.
	Sigstore keyless.SignerConfig
}

// Channel holds one channel's publishing settings.
type Channel struct {
	TTL time.Duration
}

// Component is one image of the product.
type Component struct {
	Name  string
	Image string // reference to resolve, usually a mutable tag
	Line  int
	// Template is the image as release.yaml writes it when it holds
	// RevisionPlaceholder; Image is then filled by SetRevision.
	Template string
	// Source is the repository the component is built from when it is not
	// the product's (a sidecar built elsewhere): its revision is its own,
	// outside the one-revision rule, and recorded with it in the manifest.
	Source string
}

// RevisionPlaceholder in a component's tag is replaced by the revision given
// to pin release create --revision: bags_api:ref.{revision}.
const RevisionPlaceholder = "{revision}"

// sampleRevision stands in for RevisionPlaceholder when an image is checked
// at load time: a 40-hex git sha, the longest revision CI usually passes.
const sampleRevision = "0123456789abcdef0123456789abcdef01234567"

// validRevision reports whether rev may stand for a revision: a git sha or
// any fragment that is safe inside an image tag
// ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}). Checked by hand, like manifest's
// names, so that no regexp is compiled at start-up.
func validRevision(rev string) bool {
	if rev == "" || len(rev) > 128 {
		return false
	}
	for i := 0; i < len(rev); i++ {
		c := rev[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
		case (c == '.' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// UsesRevision reports whether the component's image holds RevisionPlaceholder.
func (c Component) UsesRevision() bool { return c.Template != "" }

type rawConfig struct {
	Product      string                `yaml:"product"`
	Source       string                `yaml:"source"`
	Store        string                `yaml:"store"`
	Channels     map[string]rawChannel `yaml:"channels"`
	Components   []rawComponent        `yaml:"components"`
	PreviousKeys []string              `yaml:"previousKeys"`
	Identities   []keyless.Identity    `yaml:"identities"`
	Sigstore     keyless.SignerConfig  `yaml:"sigstore"`
}

type rawChannel struct {
	TTL string `yaml:"ttl"`
}

type rawComponent struct {
	Name   string `yaml:"name"`
	Image  string `yaml:"image"`
	Source string `yaml:"source"`
}

// Load reads and validates a release.yaml. Every error is a configuration
// error (exit 2) naming path:line.
func Load(path string) (*Config, error) {
	b, err := regular.ReadFile(path, regular.MaxConfig)
	if err != nil {
		return nil, exitcode.UsageError(fmt.Errorf("read release config: %w", err))
	}
	c, err := Parse(path, b)
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	return c, nil
}

// Parse validates the bytes of a release.yaml read from path.
func Parse(path string, b []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, yamlerr.FormatData(path, b, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s:1: the file is empty", path)
	}
	root := doc.Content[0]
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var raw rawConfig
	if err := dec.Decode(&raw); err != nil {
		return nil, yamlerr.FormatDataFor(path, b, err, &raw)
	}
	at := func(keys ...string) int { return yamlerr.Line(root, keys...) }
	errAt := func(line int, format string, args ...any) error {
		// One line per error, even for a value holding a line break.
		return fmt.Errorf("%s:%d: %s", path, line, strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", `\n`))
	}
	c := &Config{Path: path, Product: raw.Product, Source: raw.Source, Channels: map[string]Channel{}}
	if !manifest.ValidName(raw.Product) {
		return nil, errAt(at("product"), "product %q must be a lowercase name like storage-service", raw.Product)
	}
	if raw.Source == "" {
		return nil, errAt(at("source"), "source (the product's repository URL) is missing")
	}
	switch {
	case raw.Store == "":
		return nil, errAt(at("store"), "store is missing: oci://host/repo or a directory")
	default:
		c.Store = raw.Store
		if dir, local := channels.LocalDir(raw.Store); local {
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(filepath.Dir(path), dir)
			}
			c.Store = dir
		}
	}
	if len(raw.Channels) == 0 {
		return nil, errAt(at("channels"), "channels is empty: list stable and/or edge with their ttl")
	}
	for ch, rc := range raw.Channels {
		line := at("channels", ch)
		if err := channels.ValidName(ch); err != nil {
			return nil, errAt(line, "%v", err)
		}
		ttl, err := time.ParseDuration(rc.TTL)
		if err != nil || ttl <= 0 {
			return nil, errAt(line, "channel %s: ttl %q is not a positive duration like 168h", ch, rc.TTL)
		}
		c.Channels[ch] = Channel{TTL: ttl}
	}
	if len(raw.Components) == 0 {
		return nil, errAt(at("components"), "components is empty")
	}
	seen := map[string]int{}
	compNode := mapValue(root, "components")
	for i, rc := range raw.Components {
		line := at("components")
		if compNode != nil && i < len(compNode.Content) {
			line = compNode.Content[i].Line
		}
		if !manifest.ValidName(rc.Name) {
			return nil, errAt(line, "component name %q must be a lowercase name like bags_api", rc.Name)
		}
		if prev, dup := seen[rc.Name]; dup {
			return nil, errAt(line, "component %s is listed twice (first at line %d)", rc.Name, prev)
		}
		seen[rc.Name] = line
		comp := Component{Name: rc.Name, Image: rc.Image, Line: line, Source: rc.Source}
		if err := manifest.CheckComponentSource(rc.Source); err != nil {
			return nil, errAt(line, "component %s: source %v", rc.Name, err)
		}
		check := rc.Image
		if strings.Contains(rc.Image, RevisionPlaceholder) {
			if rc.Source != "" {
				return nil, errAt(line, "component %s has its own source, so %s (the product's revision) cannot fill its tag", rc.Name, RevisionPlaceholder)
			}
			if !placeholderInTag(rc.Image) {
				return nil, errAt(line, "component %s: image %q: %s may only appear in the tag, as in bags_api:ref.%s", rc.Name, rc.Image, RevisionPlaceholder, RevisionPlaceholder)
			}
			comp.Template = rc.Image
			check = strings.ReplaceAll(rc.Image, RevisionPlaceholder, sampleRevision)
		}
		if _, err := name.ParseReference(check, name.StrictValidation); err != nil {
			hint := ""
			if strings.ContainsAny(check, "{}") {
				hint = fmt.Sprintf(" (%s is the only placeholder)", RevisionPlaceholder)
			}
			return nil, errAt(line, "component %s: image %q is not a fully qualified reference%s: %v", rc.Name, rc.Image, hint, err)
		}
		c.Components = append(c.Components, comp)
	}
	for i, k := range raw.PreviousKeys {
		p := k
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), p)
		}
		b, err := regular.ReadFile(p, regular.MaxConfig)
		if err != nil {
			return nil, errAt(at("previousKeys"), "previousKeys[%d]: %v", i, err)
		}
		if c.PreviousKeys == nil {
			c.PreviousKeys = map[string][]byte{}
		}
		c.PreviousKeys[p] = b
	}
	for i, id := range raw.Identities {
		if err := id.Validate(); err != nil {
			return nil, errAt(at("identities"), "identities[%d]: %v", i, err)
		}
	}
	c.Identities = raw.Identities
	c.Sigstore = raw.Sigstore
	c.Sigstore.TrustConfig = raw.Sigstore.Resolve(filepath.Dir(path))
	if err := c.Sigstore.Check(); err != nil {
		return nil, errAt(at("sigstore"), "%v", err)
	}
	return c, nil
}

// placeholderInTag reports whether every RevisionPlaceholder in image lies in
// its tag: after the last '/', after the ':' there, and with no digest.
func placeholderInTag(image string) bool {
	if strings.Contains(image, "@") {
		return false
	}
	last := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(last, ":")
	return ok && strings.Count(tag, RevisionPlaceholder) == strings.Count(image, RevisionPlaceholder)
}

// ValidRevision checks a revision given on the command line: a git sha or a
// fragment safe inside an image tag. The error is a usage error (exit 2).
func ValidRevision(rev string) error {
	if !validRevision(rev) {
		return opterr.Errorf("Revision", " %q must be a git commit or a tag fragment (letters, digits, '.', '_', '-'; at most 128)", rev)
	}
	return nil
}

// SetRevision fills RevisionPlaceholder in every component that holds it.
// Without a revision ("") it fails, naming each such component with its
// file:line; a revision that is not ValidRevision, or that makes an image
// invalid, fails too. Every error is a usage error (exit 2).
func (c *Config) SetRevision(rev string) error {
	if rev != "" {
		if err := ValidRevision(rev); err != nil {
			return err
		}
	}
	var errs []error
	for i := range c.Components {
		comp := &c.Components[i]
		if !comp.UsesRevision() {
			continue
		}
		if rev == "" {
			errs = append(errs, fmt.Errorf("%s:%d: component %s: image %s %w", c.Path, comp.Line, comp.Name, comp.Template, ErrNeedsRevision))
			continue
		}
		img := strings.ReplaceAll(comp.Template, RevisionPlaceholder, rev)
		if _, err := name.ParseReference(img, name.StrictValidation); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: component %s: %w", c.Path, comp.Line, comp.Name, opterr.Errorf("Revision", " %s makes image %q invalid: %v", rev, img, err)))
			continue
		}
		comp.Image = img
	}
	if len(errs) > 0 {
		return exitcode.UsageError(errors.Join(errs...))
	}
	return nil
}

// TTL returns the configured TTL of channel, or a usage error naming the file.
func (c *Config) TTL(channel string) (time.Duration, error) {
	if err := channels.ValidName(channel); err != nil {
		return 0, exitcode.UsageError(err)
	}
	ch, ok := c.Channels[channel]
	if !ok {
		return 0, exitcode.UsageError(fmt.Errorf("%s does not configure channel %s (add it under channels: with a ttl)", c.Path, channel))
	}
	return ch.TTL, nil
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
