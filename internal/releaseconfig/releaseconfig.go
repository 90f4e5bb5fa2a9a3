// Package releaseconfig parses release.yaml, the producer's description of a
// product: where its releases are published, each channel's TTL, and the
// image tags that make up a release (which may hold {revision}, filled by
// Images). Errors name the file and line. It is a parser only: building,
// checking and publishing a release is package producer's.
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
	Name string
	// Image is the reference as release.yaml writes it, usually a mutable
	// tag; it may hold RevisionPlaceholder in its tag (see Images).
	Image string
	Line  int
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
func (c Component) UsesRevision() bool { return strings.Contains(c.Image, RevisionPlaceholder) }

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

// parser holds what the checks of one release.yaml share: its path and
// its YAML tree, for file:line.
type parser struct {
	path string
	root *yaml.Node
}

// at returns the line of the value at keys (the nearest that exists).
func (p parser) at(keys ...string) int { return yamlerr.Line(p.root, keys...) }

// errAt formats an error at path:line, on one line even for a value
// holding a line break.
func (p parser) errAt(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.path, line, strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", `\n`))
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
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var raw rawConfig
	if err := dec.Decode(&raw); err != nil {
		return nil, yamlerr.FormatDataFor(path, b, err, &raw)
	}
	p := parser{path: path, root: doc.Content[0]}
	c := &Config{Path: path, Product: raw.Product, Source: raw.Source}
	if !manifest.ValidName(raw.Product) {
		return nil, p.errAt(p.at("product"), "product %q must be a lowercase name like storage-service", raw.Product)
	}
	if raw.Source == "" {
		return nil, p.errAt(p.at("source"), "source (the product's repository URL) is missing")
	}
	var err error
	if c.Store, err = p.store(raw.Store); err != nil {
		return nil, err
	}
	if c.Channels, err = p.channels(raw.Channels); err != nil {
		return nil, err
	}
	if c.Components, err = p.components(raw.Components); err != nil {
		return nil, err
	}
	if c.PreviousKeys, err = p.previousKeys(raw.PreviousKeys); err != nil {
		return nil, err
	}
	for i, id := range raw.Identities {
		if err := id.Validate(); err != nil {
			return nil, p.errAt(p.at("identities"), "identities[%d]: %v", i, err)
		}
	}
	c.Identities = raw.Identities
	c.Sigstore = raw.Sigstore
	c.Sigstore.TrustConfig = raw.Sigstore.Resolve(filepath.Dir(path))
	if err := c.Sigstore.Check(); err != nil {
		return nil, p.errAt(p.at("sigstore"), "%v", err)
	}
	return c, nil
}

// store checks the store location; a directory is made relative to the file.
func (p parser) store(raw string) (string, error) {
	if raw == "" {
		return "", p.errAt(p.at("store"), "store is missing: oci://host/repo or a directory")
	}
	dir, local := channels.LocalDir(raw)
	if !local {
		return raw, nil
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(p.path), dir)
	}
	return dir, nil
}

// channels checks each channel's name and TTL.
func (p parser) channels(raw map[string]rawChannel) (map[string]Channel, error) {
	if len(raw) == 0 {
		return nil, p.errAt(p.at("channels"), "channels is empty: list stable and/or edge with their ttl")
	}
	out := map[string]Channel{}
	for ch, rc := range raw {
		line := p.at("channels", ch)
		if err := channels.ValidName(ch); err != nil {
			return nil, p.errAt(line, "%v", err)
		}
		ttl, err := time.ParseDuration(rc.TTL)
		if err != nil || ttl <= 0 {
			return nil, p.errAt(line, "channel %s: ttl %q is not a positive duration like 168h", ch, rc.TTL)
		}
		out[ch] = Channel{TTL: ttl}
	}
	return out, nil
}

// components checks the components: distinct valid names, fully qualified
// images, {revision} only in a tag and only for the product's own images.
func (p parser) components(raw []rawComponent) ([]Component, error) {
	if len(raw) == 0 {
		return nil, p.errAt(p.at("components"), "components is empty")
	}
	var out []Component
	seen := map[string]int{}
	compNode := mapValue(p.root, "components")
	for i, rc := range raw {
		line := p.at("components")
		if compNode != nil && i < len(compNode.Content) {
			line = compNode.Content[i].Line
		}
		if !manifest.ValidName(rc.Name) {
			return nil, p.errAt(line, "component name %q must be a lowercase name like bags_api", rc.Name)
		}
		if prev, dup := seen[rc.Name]; dup {
			return nil, p.errAt(line, "component %s is listed twice (first at line %d)", rc.Name, prev)
		}
		seen[rc.Name] = line
		comp := Component{Name: rc.Name, Image: rc.Image, Line: line, Source: rc.Source}
		if err := p.component(comp); err != nil {
			return nil, err
		}
		out = append(out, comp)
	}
	return out, nil
}

// component checks one component's source and image.
func (p parser) component(comp Component) error {
	if err := manifest.CheckComponentSource(comp.Source); err != nil {
		return p.errAt(comp.Line, "component %s: source %v", comp.Name, err)
	}
	check := comp.Image
	if comp.UsesRevision() {
		if comp.Source != "" {
			return p.errAt(comp.Line, "component %s has its own source, so %s (the product's revision) cannot fill its tag", comp.Name, RevisionPlaceholder)
		}
		if !placeholderInTag(comp.Image) {
			return p.errAt(comp.Line, "component %s: image %q: %s may only appear in the tag, as in bags_api:ref.%s", comp.Name, comp.Image, RevisionPlaceholder, RevisionPlaceholder)
		}
		check = strings.ReplaceAll(comp.Image, RevisionPlaceholder, sampleRevision)
	}
	if _, err := name.ParseReference(check, name.StrictValidation); err != nil {
		hint := ""
		if strings.ContainsAny(check, "{}") {
			hint = fmt.Sprintf(" (%s is the only placeholder)", RevisionPlaceholder)
		}
		return p.errAt(comp.Line, "component %s: image %q is not a fully qualified reference%s: %v", comp.Name, comp.Image, hint, err)
	}
	return nil
}

// previousKeys reads the public keys previousKeys names, relative to the file.
func (p parser) previousKeys(raw []string) (map[string][]byte, error) {
	var out map[string][]byte
	for i, k := range raw {
		path := k
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(p.path), path)
		}
		b, err := regular.ReadFile(path, regular.MaxConfig)
		if err != nil {
			return nil, p.errAt(p.at("previousKeys"), "previousKeys[%d]: %v", i, err)
		}
		if out == nil {
			out = map[string][]byte{}
		}
		out[path] = b
	}
	return out, nil
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

// ErrNeedsRevision is a component whose image holds RevisionPlaceholder
// while no revision was given.
var ErrNeedsRevision = errors.New("needs a revision")

// imageFor returns the image to resolve for the component: its image with
// RevisionPlaceholder filled by rev. A component that needs a revision and
// gets none (""), or whose image rev makes invalid, is an error naming
// file:line (path is the release.yaml); rev itself is checked by Images.
func (c Component) imageFor(path, rev string) (string, error) {
	if !c.UsesRevision() {
		return c.Image, nil
	}
	if rev == "" {
		return "", fmt.Errorf("%s:%d: component %s: image %s %w", path, c.Line, c.Name, c.Image, ErrNeedsRevision)
	}
	img := strings.ReplaceAll(c.Image, RevisionPlaceholder, rev)
	if _, err := name.ParseReference(img, name.StrictValidation); err != nil {
		return "", fmt.Errorf("%s:%d: component %s: %w", path, c.Line, c.Name, opterr.Errorf("Revision", " %s makes image %q invalid: %v", rev, img, err))
	}
	return img, nil
}

// Images returns the image to resolve for each component, in order, with
// RevisionPlaceholder filled by rev (see imageFor). It fails, naming every
// component that cannot be filled, when rev is "" and some image needs one,
// when rev is not ValidRevision, or when it makes an image invalid. Every
// error is a usage error (exit 2). The Config is not changed.
func (c *Config) Images(rev string) ([]string, error) {
	if rev != "" {
		if err := ValidRevision(rev); err != nil {
			return nil, err
		}
	}
	images := make([]string, len(c.Components))
	var errs []error
	for i, comp := range c.Components {
		img, err := comp.imageFor(c.Path, rev)
		if err != nil {
			errs = append(errs, err)
		}
		images[i] = img
	}
	if len(errs) > 0 {
		return nil, exitcode.UsageError(errors.Join(errs...))
	}
	return images, nil
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
