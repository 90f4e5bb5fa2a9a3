// Package releaseconfig reads release.yaml, the producer's description of a
// product: where its releases are published, each channel's TTL, and the
// image tags that make up a release. Errors name the file and line.
package releaseconfig

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"gopkg.in/yaml.v3"

	"github.com/wellcomecollection/pin/internal/yamlerr"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
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
}

type rawConfig struct {
	Product      string                `yaml:"product"`
	Source       string                `yaml:"source"`
	Store        string                `yaml:"store"`
	Channels     map[string]rawChannel `yaml:"channels"`
	Components   []rawComponent        `yaml:"components"`
	PreviousKeys []string              `yaml:"previousKeys"`
}

type rawChannel struct {
	TTL string `yaml:"ttl"`
}

type rawComponent struct {
	Name  string `yaml:"name"`
	Image string `yaml:"image"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)

// Load reads and validates a release.yaml. Every error is a configuration
// error (exit 2) naming path:line.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
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
		return nil, yamlerr.FormatData(path, b, err)
	}
	at := func(keys ...string) int { return lineOf(root, keys...) }
	errAt := func(line int, format string, args ...any) error {
		// One line per error, even for a value holding a line break.
		return fmt.Errorf("%s:%d: %s", path, line, strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", `\n`))
	}
	c := &Config{Path: path, Product: raw.Product, Source: raw.Source, Channels: map[string]Channel{}}
	if !nameRE.MatchString(raw.Product) {
		return nil, errAt(at("product"), "product %q must be a lowercase name like storage-service", raw.Product)
	}
	if raw.Source == "" {
		return nil, errAt(at("source"), "source (the product's repository URL) is missing")
	}
	switch {
	case raw.Store == "":
		return nil, errAt(at("store"), "store is missing: oci://host/repo or a directory")
	case strings.HasPrefix(raw.Store, "oci://"), strings.HasPrefix(raw.Store, "https://"), strings.HasPrefix(raw.Store, "http://"):
		c.Store = raw.Store
	default:
		dir := strings.TrimPrefix(raw.Store, "file://")
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(filepath.Dir(path), dir)
		}
		c.Store = dir
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
		if !nameRE.MatchString(rc.Name) {
			return nil, errAt(line, "component name %q must be a lowercase name like bags_api", rc.Name)
		}
		if prev, dup := seen[rc.Name]; dup {
			return nil, errAt(line, "component %s is listed twice (first at line %d)", rc.Name, prev)
		}
		seen[rc.Name] = line
		if _, err := name.ParseReference(rc.Image, name.StrictValidation); err != nil {
			return nil, errAt(line, "component %s: image %q is not a fully qualified reference: %v", rc.Name, rc.Image, err)
		}
		c.Components = append(c.Components, Component{Name: rc.Name, Image: rc.Image, Line: line})
	}
	for i, k := range raw.PreviousKeys {
		p := k
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), p)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, errAt(at("previousKeys"), "previousKeys[%d]: %v", i, err)
		}
		if c.PreviousKeys == nil {
			c.PreviousKeys = map[string][]byte{}
		}
		c.PreviousKeys[p] = b
	}
	return c, nil
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

// lineOf returns the line of the deepest key path found, or the root's line.
func lineOf(root *yaml.Node, keys ...string) int {
	line := root.Line
	n := root
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			break
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				line = n.Content[i].Line
				n = n.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	return line
}
