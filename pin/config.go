// Package pin is the consumer workflow: pin.yaml (what to trust and which
// files to manage), pin.lock (what was verified and written), planning and
// applying an update, and checking files against the lock. It builds on
// channels (fetching and verifying), rewrite (finding and splicing
// references) and manifest.
package pin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wellcomecollection/pin/internal/projectfiles"
	"github.com/wellcomecollection/pin/internal/regular"
	"github.com/wellcomecollection/pin/internal/reponame"
	"github.com/wellcomecollection/pin/internal/yamlerr"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
	"github.com/wellcomecollection/pin/signing/keyless"
	"github.com/wellcomecollection/pin/trustroot"
)

// Reference styles.
const (
	StyleDigest    = "digest"     // repo@sha256:... (the only form ECS accepts besides repo:tag)
	StyleTagDigest = "tag+digest" // repo:version@sha256:...
)

// DefaultFiles are the globs pin manages when pin.yaml names none.
// They read every file pin audit reads when it walks a directory (rewrite.FormatOf),
// so that audit and update see the same files.
var DefaultFiles = []string{"**/*.tf", "**/*.tfvars", "**/*.hcl", "**/*.tf.json", "**/*.y*ml", "**/*.json",
	"**/Dockerfile*", "**/*.Dockerfile", "**/*.dockerfile", "**/Containerfile*", "**/*.Containerfile", "**/*.containerfile"}

// Config is a parsed pin.yaml.
type Config struct {
	Path string `yaml:"-"`
	// SourceAsWritten is source as pin.yaml says it (a relative directory
	// stays relative), which is what pin.lock records: the lock must mean the
	// same thing in every checkout.
	SourceAsWritten string   `yaml:"-"`
	Source          string   `yaml:"source"`
	Product         string   `yaml:"product"`
	Channel         string   `yaml:"channel"`
	Constraint      string   `yaml:"constraint,omitempty"`
	Keys            []string `yaml:"keys,omitempty"`
	// Root is the trusted root of trust document (its canonical JSON, as
	// `pin init` writes it). pin follows the producer's newer roots from it.
	Root        string            `yaml:"root,omitempty"`
	Files       []string          `yaml:"files,omitempty"`
	Style       string            `yaml:"style,omitempty"`
	RegistryMap map[string]string `yaml:"registryMap,omitempty"`
	// Repositories bounds the repositories the product's releases may
	// name (prefixes at a path boundary); see CheckRepositories.
	Repositories []string `yaml:"repositories,omitempty"`
	// registryMapLines is the line of each registryMap entry, for errors.
	registryMapLines map[string]int

	// Identities are CI identities trusted to sign keylessly (Sigstore), as
	// well as or instead of keys.
	Identities []keyless.Identity `yaml:"identities,omitempty"`
	// Sigstore says where the trusted root for identities comes from.
	Sigstore keyless.TrustConfig `yaml:"sigstore,omitempty"`
}

// Dir is the project directory: the one holding pin.yaml.
func (c *Config) Dir() string { return filepath.Dir(c.Path) }

// LockPath is where pin.lock lives, next to pin.yaml.
func (c *Config) LockPath() string { return filepath.Join(c.Dir(), projectfiles.LockName) }

// LoadConfig reads and validates pin.yaml. Errors are configuration errors
// (exit 2) naming path:line.
func LoadConfig(path string) (*Config, error) {
	b, err := regular.ReadFile(path, regular.MaxConfig)
	if err != nil {
		if abs, aerr := filepath.Abs(path); aerr == nil && errors.Is(err, fs.ErrNotExist) {
			return nil, exitcode.UsageError(fmt.Errorf("no consumer config at %s: run pin there, pass --config, or run pin init to write one", abs))
		}
		return nil, exitcode.UsageError(fmt.Errorf("read consumer config: %w", err))
	}
	c, err := ParseConfig(path, b)
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	return c, nil
}

// ParseConfig validates the bytes of a pin.yaml read from path.
func ParseConfig(path string, b []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, yamlerr.FormatData(path, b, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	c := &Config{}
	if err := dec.Decode(c); err != nil {
		return nil, yamlerr.FormatDataFor(path, b, err, c)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	c.Path = abs
	line := func(key string) int { return yamlerr.Line(&root, key) }
	errAt := func(key, format string, args ...any) error {
		// One line per error, even for a value holding a line break.
		return fmt.Errorf("%s:%d: %s", path, line(key), strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", `\n`))
	}
	if c.Source == "" {
		return nil, errAt("source", "source is missing: the store releases are published in (oci://host/repo, https://..., a directory)")
	}
	if c.Product == "" {
		return nil, errAt("product", "product is missing (e.g. storage-service)")
	}
	if err := channels.ValidName(c.Channel); err != nil {
		return nil, errAt("channel", "%v", err)
	}
	if _, err := channels.ParseConstraint(c.Constraint); err != nil {
		return nil, errAt("constraint", "%v", err)
	}
	rootListsIdentities := false
	switch {
	case c.Root != "" && len(c.Keys) > 0:
		return nil, errAt("keys", "give root or keys, not both: the root lists the keys")
	case c.Root != "" && len(c.Identities) > 0:
		return nil, errAt("identities", "give root or identities, not both: the root lists the identities its roles trust (pin root add-key --identity-issuer ...)")
	case c.Root != "":
		t, err := c.TrustedRoot()
		if err != nil {
			return nil, errAt("root", "%v", err)
		}
		for _, k := range t.Root.Keys {
			rootListsIdentities = rootListsIdentities || k.Type == manifest.KeyTypeSigstoreIdentity
		}
	case len(c.Keys) == 0 && len(c.Identities) == 0:
		return nil, errAt("keys", "keys is empty: list at least one trusted public key (or a CI identity under identities, or give the producer's root)")
	}
	for i, id := range c.Identities {
		if err := id.Validate(); err != nil {
			return nil, errAt("identities", "identities[%d]: %v", i, err)
		}
	}
	c.Sigstore = c.Sigstore.Resolve(c.Dir())
	if len(c.Identities) > 0 || rootListsIdentities {
		if err := c.Sigstore.Check(); err != nil {
			return nil, errAt("sigstore", "%v", err)
		}
	}
	if c.Root == "" {
		if _, err := c.Verifier(); err != nil {
			return nil, errAt("keys", "%v", err)
		}
	}
	switch c.Style {
	case "":
		c.Style = StyleDigest
	case StyleDigest, StyleTagDigest:
	default:
		return nil, errAt("style", "style %q is not digest or tag+digest", c.Style)
	}
	if len(c.Files) == 0 {
		c.Files = append([]string(nil), DefaultFiles...)
	}
	for _, g := range c.Files {
		if _, err := compileGlob(g); err != nil {
			return nil, errAt("files", "%v", err)
		}
	}
	c.registryMapLines = map[string]int{}
	for from := range c.RegistryMap {
		c.registryMapLines[from] = yamlerr.Line(&root, "registryMap", from)
	}
	for from, to := range c.RegistryMap {
		at := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: registryMap entry %q: %s", path, c.registryMapLines[from], from, fmt.Sprintf(format, args...))
		}
		for _, p := range []string{from, to} {
			if _, err := reponame.ParsePrefix(p); err != nil {
				return nil, at("%v", err)
			}
		}
		if strings.TrimSuffix(from, "/") == strings.TrimSuffix(to, "/") {
			return nil, at("maps a prefix to itself")
		}
	}
	for _, p := range c.Repositories {
		if _, err := reponame.ParsePrefix(p); err != nil {
			return nil, errAt("repositories", "repositories entry: %v", err)
		}
	}
	c.SourceAsWritten = c.Source
	if !strings.Contains(c.Source, "://") && !filepath.IsAbs(c.Source) {
		c.Source = filepath.Join(c.Dir(), c.Source)
	}
	return c, nil
}

// CheckRegistryMap checks pin.yaml's registryMap against the components of
// rel: an entry that applies to no component (a typo, or a namespace the
// product no longer uses) and two components mapped to one repository are
// configuration errors naming pin.yaml's line, since either would leave
// references silently unmanaged or managed as the wrong component.
func (c *Config) CheckRegistryMap(rel *manifest.Release) error {
	if len(c.RegistryMap) == 0 {
		return nil
	}
	used := map[string]bool{}
	byTarget := map[string]string{} // mapped repository → component
	byUpstream := map[string]string{}
	for _, comp := range rel.Components {
		byUpstream[reponame.Canonical(comp.Repository)] = comp.Name
	}
	for _, comp := range rel.Components {
		from, ok := reponame.MapEntry(comp.Repository, c.RegistryMap)
		if !ok {
			continue
		}
		used[from] = true
		mapped, _ := reponame.Map(comp.Repository, c.RegistryMap)
		key := reponame.Canonical(mapped)
		if other, dup := byTarget[key]; dup {
			return exitcode.UsageError(fmt.Errorf("%s:%d: registryMap entry %q maps both %s and %s to %s: give them separate mirror repositories", c.Path, c.registryMapLines[from], from, other, comp.Name, mapped))
		}
		if other, dup := byUpstream[key]; dup && other != comp.Name {
			return exitcode.UsageError(fmt.Errorf("%s:%d: registryMap entry %q maps %s to %s, which is component %s's own repository", c.Path, c.registryMapLines[from], from, comp.Name, mapped, other))
		}
		byTarget[key] = comp.Name
	}
	var unused []string
	for from := range c.RegistryMap {
		if !used[from] {
			unused = append(unused, from)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		return exitcode.UsageError(fmt.Errorf("%s:%d: registryMap entry %q applies to no component of %s %s (its components live under %s)", c.Path, c.registryMapLines[unused[0]], unused[0], rel.Product, rel.Version, strings.Join(namespaces(rel), ", ")))
	}
	return nil
}

// namespaces lists the distinct parents of rel's component repositories.
func namespaces(rel *manifest.Release) []string {
	seen := map[string]bool{}
	var out []string
	for _, comp := range rel.Components {
		ns := comp.Repository[:max(strings.LastIndexByte(comp.Repository, '/'), 0)]
		if !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	sort.Strings(out)
	return out
}

// TrustedRoot is the root of trust pin.yaml holds: its root document, or
// for a plain keys: list a legacy root in which any one of the keys may sign
// anything and which cannot rotate (with no keys, only identities: a legacy
// root that lists none, whose documents LegacyAnchor checks).
func (c *Config) TrustedRoot() (*trustroot.Trusted, error) {
	if c.Root != "" {
		t, err := trustroot.Parse(trustroot.Signed{Bytes: []byte(strings.TrimSpace(c.Root))}, c.Product)
		if err != nil {
			return nil, err
		}
		t.Identities = c.IdentityVerifier()
		return t, nil
	}
	keys, err := c.keyPEMs()
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 && len(c.Identities) > 0 {
		return &trustroot.Trusted{Root: &manifest.Root{SchemaVersion: manifest.SchemaVersion, Kind: manifest.KindRoot, Product: c.Product,
			Keys: map[string]manifest.Key{}, Roles: map[string]manifest.Role{}}, Legacy: true}, nil
	}
	return trustroot.FromKeys(c.Product, keys)
}

// IdentityVerifier checks Sigstore bundles against the identities a root's
// role lists, with the trusted root pin.yaml's sigstore: settings name (a
// trusted_root.json, or Sigstore's TUF repository), loaded only when a
// bundle is checked.
func (c *Config) IdentityVerifier() trustroot.IdentityVerifier {
	// One source for every verifier this makes: the trusted root is read
	// once, not once per document.
	src := c.Sigstore.Source()
	return func(ids []keyless.Identity) (signing.BundleVerifier, error) {
		return keyless.NewLazyVerifier(ids, src)
	}
}

// LegacyAnchor is the trust anchor of a pin.yaml without a root: any one of
// its keys: or of its identities: may sign any document. Nil for a root.
func (c *Config) LegacyAnchor() (channels.SignatureVerifier, error) {
	if c.Root != "" {
		return nil, nil
	}
	v, err := c.Verifier()
	if err != nil {
		return nil, err
	}
	return channels.Keys(v), nil
}

// Verifier builds the set of trusted keys and identities of a pin.yaml
// without a root, or the release role's keys of pin.yaml's root (for readers
// that do not follow newer roots). A key entry is a PEM public key written
// inline, or the path of a PEM file relative to pin.yaml.
func (c *Config) Verifier() (*signing.Verifier, error) {
	if c.Root != "" {
		t, err := c.TrustedRoot()
		if err != nil {
			return nil, err
		}
		return t.RoleVerifier(manifest.RoleRelease)
	}
	keys, err := c.keyPEMs()
	if err != nil {
		return nil, err
	}
	var ids signing.BundleVerifier
	if len(c.Identities) > 0 {
		lv, err := keyless.NewLazyVerifier(c.Identities, c.Sigstore.Source())
		if err != nil {
			return nil, err
		}
		ids = lv
	}
	return signing.NewVerifierWithIdentities(keys, ids)
}

// keyPEMs reads the keys: list. An entry is a PEM public key written
// inline, or the path of a PEM file relative to pin.yaml.
func (c *Config) keyPEMs() (map[string][]byte, error) {
	keys := map[string][]byte{}
	for i, k := range c.Keys {
		if strings.Contains(k, "-----BEGIN") {
			keys[fmt.Sprintf("keys[%d]", i)] = []byte(k)
			continue
		}
		p := k
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.Dir(), p)
		}
		b, err := regular.ReadFile(p, regular.MaxConfig)
		if err != nil {
			return nil, fmt.Errorf("keys[%d]: %w", i, err)
		}
		keys[p] = b
	}
	return keys, nil
}

// Encode writes the config as a commented pin.yaml.
func (c *Config) Encode() []byte {
	var b strings.Builder
	b.WriteString("# pin.yaml: which signed releases this deployment follows, and which files pin manages.\n")
	b.WriteString("# Written by `pin init`; edit freely. `pin update` rewrites image references to the newest\n")
	b.WriteString("# trusted release; `pin check` (in CI) fails when the files drift from pin.lock.\n\n")
	b.WriteString("# Where releases are published: oci://host/repo, https://host/path, or a directory.\n")
	fmt.Fprintf(&b, "source: %s\n", yamlString(c.Source))
	b.WriteString("# The product inside the signed documents; anything else is refused.\n")
	fmt.Fprintf(&b, "product: %s\n", yamlString(c.Product))
	b.WriteString("# stable: final releases only. edge: prereleases of the next version, and stable too.\n")
	fmt.Fprintf(&b, "channel: %s\n", c.Channel)
	b.WriteString("# Optional SemVer constraint, e.g. \"~1.5\" (patches of 1.5) or \">=1.4 <2\".\n")
	if c.Constraint != "" {
		fmt.Fprintf(&b, "constraint: %s\n", yamlString(c.Constraint))
	} else {
		b.WriteString("# constraint: \"~1.5\"\n")
	}
	if c.Root != "" {
		b.WriteString("# The producer's root of trust (version " + rootVersion(c.Root) + "): which keys sign indexes and releases, and how\n")
		b.WriteString("# many must. pin follows the producer's newer roots by itself (recorded in pin.lock).\n")
		fmt.Fprintf(&b, "root: %s\n", yamlString(strings.TrimSpace(c.Root)))
	} else {
		b.WriteString("# Public keys trusted to sign the channel and its releases. Any one of them may sign:\n")
		b.WriteString("# to rotate, add the new key, wait for releases signed by it, then remove the old one.\n")
		b.WriteString("keys:\n")
	}
	for _, k := range c.Keys {
		if strings.Contains(k, "\n") {
			b.WriteString("  - |\n")
			for _, l := range strings.Split(strings.TrimRight(k, "\n"), "\n") {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		} else {
			fmt.Fprintf(&b, "  - %s\n", yamlString(k))
		}
	}
	b.WriteString("# Files whose image references pin manages (globs relative to this file; ** spans directories).\n")
	b.WriteString("# .git, .terraform and node_modules are always skipped.\n")
	b.WriteString("files:\n")
	for _, f := range c.Files {
		fmt.Fprintf(&b, "  - %s\n", yamlString(f))
	}
	b.WriteString("# digest: repo@sha256:... (works everywhere, including ECS). tag+digest: repo:1.5.0@sha256:...\n")
	fmt.Fprintf(&b, "style: %s\n", c.Style)
	b.WriteString("# Optional: pull from a mirror. Upstream prefix -> mirror prefix.\n")
	if len(c.RegistryMap) == 0 {
		b.WriteString("# registryMap:\n#   public.ecr.aws/y1p3h6z3: 123456789012.dkr.ecr.eu-west-2.amazonaws.com/storage\n")
	} else {
		b.WriteString("registryMap:\n")
		keys := make([]string, 0, len(c.RegistryMap))
		for k := range c.RegistryMap {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %s: %s\n", yamlString(k), yamlString(c.RegistryMap[k]))
		}
	}
	b.WriteString("# The repositories this product's releases may use (prefixes). A signed release naming any\n")
	b.WriteString("# other repository is refused, so it cannot rewrite unrelated references. Recorded by pin init.\n")
	if len(c.Repositories) == 0 {
		b.WriteString("# repositories:\n#   - public.ecr.aws/y1p3h6z3/\n")
	} else {
		b.WriteString("repositories:\n")
		for _, r := range c.Repositories {
			fmt.Fprintf(&b, "  - %s\n", yamlString(r))
		}
	}
	if c.Sigstore.TrustedRoot != "" {
		b.WriteString("# Sigstore's trusted root, for the CI identities the root of trust lists (no TUF, no network).\n")
		fmt.Fprintf(&b, "sigstore:\n  trustedRoot: %s\n", yamlString(c.Sigstore.TrustedRoot))
	}
	return []byte(b.String())
}

// rootVersion reads a root document's version for a comment.
func rootVersion(doc string) string {
	var v struct {
		Version int64 `json:"version"`
	}
	if json.Unmarshal([]byte(doc), &v) != nil {
		return "?"
	}
	return strconv.FormatInt(v.Version, 10)
}

func yamlString(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(out), "\n")
}
