// Package manifest defines pin's two signed documents, the Release manifest and
// the Channel index: their types, their canonical JSON bytes, strict decoding
// with size caps, validation and diffs. It imports nothing else of pin's, so
// every other package can depend on it.
//
// The bytes that are signed are the bytes that are stored: Encode produces
// canonical JSON (object keys sorted, no insignificant whitespace, UTF-8, no
// HTML escaping, times in UTC with second precision), and a document is always
// identified by the sha256 of those exact bytes.
package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wellcomecollection/pin/internal/termsafe"
)

// SchemaVersion is the only document schema this build reads and writes.
const SchemaVersion = 1

// MaxDocumentSize caps every document pin reads, whatever its source.
const MaxDocumentSize = 1 << 20

// Document kinds.
const (
	KindRelease = "Release"
	KindChannel = "Channel"
)

// Media types used when documents travel as OCI artifacts.
const (
	ReleaseMediaType = "application/vnd.wellcomecollection.pin.release.v1+json"
	ChannelMediaType = "application/vnd.wellcomecollection.pin.channel.v1+json"
)

// Release is an immutable, signed list of component digests.
type Release struct {
	SchemaVersion int          `json:"schemaVersion"`
	Kind          string       `json:"kind"`
	Product       string       `json:"product"`
	Version       string       `json:"version"`
	Created       time.Time    `json:"created"`
	Source        Source       `json:"source"`
	PromotedFrom  *PromotedRef `json:"promotedFrom,omitempty"`
	Components    []Component  `json:"components"`
}

// Source says where a release's code came from.
type Source struct {
	Repository string `json:"repository"`
	Revision   string `json:"revision,omitempty"`
}

// PromotedRef records the release a promoted release copied its digests from.
type PromotedRef struct {
	Version string `json:"version"`
	Digest  string `json:"digest"`
}

// Component is one image of a release.
type Component struct {
	Name       string     `json:"name"`
	Repository string     `json:"repository"`
	Tag        string     `json:"tag,omitempty"`
	Digest     string     `json:"digest"`
	MediaType  string     `json:"mediaType"`
	Platforms  []Platform `json:"platforms,omitempty"`
	// Revision is the source revision the component's image was built from
	// (its org.opencontainers.image.revision label). It is recorded only in
	// a release made of several revisions (pin release create
	// --allow-mixed-revisions); a release of one commit names it once, in
	// source.revision. Optional: manifests without it decode as before.
	Revision string `json:"revision,omitempty"`
	// Source is the repository the component was built from when it is not
	// the release's source (a sidecar from another repository); Revision is
	// then that repository's revision. Optional: recorded only for
	// components release.yaml gives their own source.
	Source string `json:"source,omitempty"`
}

// MaxSourceLength caps a component's recorded source repository URL.
const MaxSourceLength = 1024

// CheckComponentSource accepts "" (the release's source) or a printable
// repository URL of at most MaxSourceLength bytes.
func CheckComponentSource(src string) error {
	if len(src) > MaxSourceLength {
		return fmt.Errorf("is %d bytes, over the %d-byte cap", len(src), MaxSourceLength)
	}
	return checkPlainText(src)
}

// Platform is one child manifest of a component whose tag is an image index.
type Platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
	Digest       string `json:"digest"`
	// Revision is this platform image's revision label, recorded only when
	// the platforms of one mixed-revision component disagree. Optional.
	Revision string `json:"revision,omitempty"`
}

// String renders the platform as os/arch[/variant].
func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// Ref returns the component's digest reference, repository@digest.
func (c Component) Ref() string { return c.Repository + "@" + c.Digest }

// Component returns the component with the given name.
func (r *Release) Component(name string) (Component, bool) {
	for _, c := range r.Components {
		if c.Name == name {
			return c, true
		}
	}
	return Component{}, false
}

// Channel is the signed, mutable pointer that lists a channel's releases.
type Channel struct {
	SchemaVersion int       `json:"schemaVersion"`
	Kind          string    `json:"kind"`
	Product       string    `json:"product"`
	Channel       string    `json:"channel"`
	Sequence      int64     `json:"sequence"`
	Issued        time.Time `json:"issued"`
	Expires       time.Time `json:"expires"`
	Releases      []Entry   `json:"releases"`
}

// Entry is one release listed by a channel index.
type Entry struct {
	Version string    `json:"version"`
	Digest  string    `json:"digest"`
	Created time.Time `json:"created"`
	Yanked  bool      `json:"yanked,omitempty"`
	Reason  string    `json:"reason,omitempty"`
}

// Entry returns the channel's entry for version.
func (c *Channel) Entry(version string) (Entry, bool) {
	for _, e := range c.Releases {
		if e.Version == version {
			return e, true
		}
	}
	return Entry{}, false
}

// Digest returns the identity of a document: "sha256:" and the hex sha256 of its bytes.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ValidDigest reports whether d is a sha256 digest in canonical form:
// "sha256:" and 64 lowercase hex digits. (Checked by hand rather than with a
// regexp: compiling `{64}` and `{0,127}` at start-up cost every pin
// invocation a third of a millisecond.)
func ValidDigest(d string) bool {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ValidName reports whether s is a valid product, channel or component
// name: 1 to 128 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-') {
			continue
		}
		return false
	}
	return true
}

// ParseVersion parses a strict SemVer 2.0 version without build metadata:
// no "v" prefix, no missing parts.
func ParseVersion(v string) (*semver.Version, error) {
	sv, err := semver.StrictNewVersion(v)
	if err != nil {
		return nil, fmt.Errorf("%q is not a strict SemVer version (X.Y.Z[-prerelease]): %w", v, err)
	}
	if sv.Metadata() != "" {
		return nil, fmt.Errorf("%q carries build metadata (+%s), which SemVer ignores when ordering; drop it", v, sv.Metadata())
	}
	return sv, nil
}

// FieldError names the document field that failed validation.
type FieldError struct {
	Kind  string // Release or Channel
	Field string // JSON path, e.g. components[3].digest
	Msg   string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s document: field %s: %s", strings.ToLower(e.Kind), e.Field, e.Msg)
}

func fieldErr(kind, field, format string, args ...any) error {
	return &FieldError{Kind: kind, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Encode returns the canonical bytes of the release after validating it.
// Components are sorted by name first.
func (r *Release) Encode() ([]byte, error) {
	n := *r
	n.Created = normTime(r.Created)
	n.Components = append([]Component(nil), r.Components...)
	sort.Slice(n.Components, func(i, j int) bool { return n.Components[i].Name < n.Components[j].Name })
	if err := n.Validate(); err != nil {
		return nil, err
	}
	return canonical(&n)
}

// Encode returns the canonical bytes of the channel index after validating it.
// Releases are sorted by ascending SemVer precedence first.
func (c *Channel) Encode() ([]byte, error) {
	n := *c
	n.Issued = normTime(c.Issued)
	n.Expires = normTime(c.Expires)
	n.Releases = make([]Entry, len(c.Releases))
	for i, e := range c.Releases {
		e.Created = normTime(e.Created)
		n.Releases[i] = e
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	SortEntries(n.Releases)
	return canonical(&n)
}

// SortEntries orders entries by ascending SemVer precedence. Entries must hold valid versions.
func SortEntries(es []Entry) {
	sort.SliceStable(es, func(i, j int) bool {
		a, errA := semver.StrictNewVersion(es[i].Version)
		b, errB := semver.StrictNewVersion(es[j].Version)
		if errA != nil || errB != nil {
			return es[i].Version < es[j].Version
		}
		return a.LessThan(b)
	})
}

// checkTime: a time is set, and its encoding (UTC, RFC 3339) has a
// four-digit year, so that a document that decodes also encodes.
func checkTime(kind, field string, t time.Time) error {
	if t.IsZero() {
		return fieldErr(kind, field, "is missing")
	}
	if y := normTime(t).Year(); y < 1 || y > 9999 {
		return fieldErr(kind, field, "%s is outside the years 1 to 9999 in UTC", t.Format(time.RFC3339))
	}
	return nil
}

func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// canonical marshals v, then re-marshals it through a generic tree so that
// object keys come out sorted, with no HTML escaping and no trailing newline.
func canonical(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tree); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Expect constrains what a decoded document must say about itself, so that a
// document for another product, channel or version is rejected (mix-and-match).
type Expect struct {
	Product string // required product, when set
	Channel string // required channel (Channel documents), when set
	Version string // required version (Release documents), when set
}

// DecodeRelease strictly decodes and validates a release manifest.
func DecodeRelease(b []byte, want Expect) (*Release, error) {
	var r Release
	if err := decodeDocument(b, KindRelease, &r); err != nil {
		return nil, err
	}
	if err := expectField(KindRelease, "product", r.Product, want.Product); err != nil {
		return nil, err
	}
	if err := expectField(KindRelease, "version", r.Version, want.Version); err != nil {
		return nil, err
	}
	return &r, nil
}

// DecodeChannel strictly decodes and validates a channel index.
func DecodeChannel(b []byte, want Expect) (*Channel, error) {
	var c Channel
	if err := decodeDocument(b, KindChannel, &c); err != nil {
		return nil, err
	}
	if err := expectField(KindChannel, "product", c.Product, want.Product); err != nil {
		return nil, err
	}
	if err := expectField(KindChannel, "channel", c.Channel, want.Channel); err != nil {
		return nil, err
	}
	return &c, nil
}

// document is a signed document type: Release or Channel.
type document interface {
	Validate() error
	Encode() ([]byte, error)
}

// decodeDocument strictly decodes b into doc, validates it, and refuses
// bytes that are not doc's canonical encoding.
func decodeDocument(b []byte, kind string, doc document) error {
	if err := strictDecode(b, kind, doc); err != nil {
		return err
	}
	if err := doc.Validate(); err != nil {
		return err
	}
	return requireCanonical(kind, b, doc.Encode)
}

// expectField refuses a field whose value is not the one the caller
// expects (nothing is expected when want is "").
func expectField(kind, field, got, want string) error {
	if want != "" && got != want {
		return fieldErr(kind, field, "is %q, expected %q", got, want)
	}
	return nil
}

// validateHeader checks the fields every document starts with: the schema
// version, its kind, and a lowercase product name.
func validateHeader(kind string, schemaVersion int, gotKind, product string) error {
	if schemaVersion != SchemaVersion {
		return fieldErr(kind, "schemaVersion", "is %d, this build reads %d", schemaVersion, SchemaVersion)
	}
	if gotKind != kind {
		return fieldErr(kind, "kind", "is %q, expected %q", gotKind, kind)
	}
	if !ValidName(product) {
		return fieldErr(kind, "product", "%q is not a lowercase name", product)
	}
	return nil
}

func strictDecode(b []byte, kind string, v any) error {
	if len(b) > MaxDocumentSize {
		return fmt.Errorf("%s document is %d bytes, over the %d-byte cap", strings.ToLower(kind), len(b), MaxDocumentSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			if ute.Field == "" {
				return fmt.Errorf("%s document: is a JSON %s, not an object", strings.ToLower(kind), ute.Value)
			}
			return fieldErr(kind, ute.Field, "has the wrong type (%s, want %s)", ute.Value, ute.Type)
		}
		return fmt.Errorf("%s document: %w", strings.ToLower(kind), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s document: trailing data after the JSON object", strings.ToLower(kind))
	}
	return nil
}

// Validate checks every field of the release.
func (r *Release) Validate() error {
	const k = KindRelease
	if err := validateHeader(k, r.SchemaVersion, r.Kind, r.Product); err != nil {
		return err
	}
	if _, err := ParseVersion(r.Version); err != nil {
		return fieldErr(k, "version", "%v", err)
	}
	if err := checkTime(k, "created", r.Created); err != nil {
		return err
	}
	if r.Source.Repository == "" {
		return fieldErr(k, "source.repository", "is missing")
	}
	// source.revision is free text, as it always was: manifests signed
	// before revisions were checked must still decode.
	if p := r.PromotedFrom; p != nil {
		if _, err := ParseVersion(p.Version); err != nil {
			return fieldErr(k, "promotedFrom.version", "%v", err)
		}
		if !ValidDigest(p.Digest) {
			return fieldErr(k, "promotedFrom.digest", "%q is not a sha256 digest", p.Digest)
		}
	}
	if len(r.Components) == 0 {
		return fieldErr(k, "components", "is empty")
	}
	for i, c := range r.Components {
		f := fmt.Sprintf("components[%d]", i)
		if !ValidName(c.Name) {
			return fieldErr(k, f+".name", "%q is not a lowercase name", c.Name)
		}
		if i > 0 && r.Components[i-1].Name >= c.Name {
			return fieldErr(k, f+".name", "%q is out of order or repeated (components are sorted by name)", c.Name)
		}
		if _, err := name.NewRepository(c.Repository, name.StrictValidation); err != nil {
			return fieldErr(k, f+".repository", "%q is not a fully qualified repository: %v", c.Repository, err)
		}
		if !ValidDigest(c.Digest) {
			return fieldErr(k, f+".digest", "%q is not a sha256 digest", c.Digest)
		}
		if c.MediaType == "" {
			return fieldErr(k, f+".mediaType", "is missing")
		}
		if err := checkRevision(c.Revision); err != nil {
			return fieldErr(k, f+".revision", "%v", err)
		}
		if err := CheckComponentSource(c.Source); err != nil {
			return fieldErr(k, f+".source", "%v", err)
		}
		for j, p := range c.Platforms {
			pf := fmt.Sprintf("%s.platforms[%d]", f, j)
			if p.OS == "" || p.Architecture == "" {
				return fieldErr(k, pf, "needs os and architecture")
			}
			if !ValidDigest(p.Digest) {
				return fieldErr(k, pf+".digest", "%q is not a sha256 digest", p.Digest)
			}
			if err := checkRevision(p.Revision); err != nil {
				return fieldErr(k, pf+".revision", "%v", err)
			}
		}
	}
	return nil
}

// CheckPrintable refuses a release whose free-text fields (source, tags,
// media types, platforms, revisions) hold a control character, a line
// break, a bidirectional override or invalid UTF-8. The producer checks it
// before signing: consumers print these fields, and a signature must never
// vouch for text that drives a terminal. (Decoding does not refuse them,
// so releases signed before stay readable; the consumer escapes on output.)
func (r *Release) CheckPrintable() error {
	const k = KindRelease
	fields := map[string]string{"source.repository": r.Source.Repository, "source.revision": r.Source.Revision}
	for i, c := range r.Components {
		f := fmt.Sprintf("components[%d]", i)
		fields[f+".name"], fields[f+".repository"], fields[f+".tag"] = c.Name, c.Repository, c.Tag
		fields[f+".mediaType"], fields[f+".revision"] = c.MediaType, c.Revision
		for j, p := range c.Platforms {
			pf := fmt.Sprintf("%s.platforms[%d]", f, j)
			fields[pf+".os"], fields[pf+".architecture"], fields[pf+".variant"], fields[pf+".revision"] = p.OS, p.Architecture, p.Variant, p.Revision
		}
	}
	return checkPrintable(k, fields)
}

// CheckPrintable is Release.CheckPrintable for a channel index: its yank
// reasons are free text.
func (c *Channel) CheckPrintable() error {
	fields := map[string]string{}
	for i, e := range c.Releases {
		fields[fmt.Sprintf("releases[%d].reason", i)] = e.Reason
	}
	return checkPrintable(KindChannel, fields)
}

func checkPrintable(kind string, fields map[string]string) error {
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		if !termsafe.Printable(fields[f]) {
			return fieldErr(kind, f, "%q holds a control character, a line break, a bidirectional override or invalid UTF-8: pin does not sign text that could drive a terminal", fields[f])
		}
	}
	return nil
}

// MaxRevisionLength caps a recorded source revision (a git sha is 40
// characters, a SHA-256 object name 64).
const MaxRevisionLength = 128

// checkRevision accepts "" (not recorded) or a printable revision of at most
// MaxRevisionLength bytes without surrounding space.
func checkRevision(rev string) error {
	if rev == "" {
		return nil
	}
	if len(rev) > MaxRevisionLength {
		return fmt.Errorf("is %d bytes, over the %d-byte cap", len(rev), MaxRevisionLength)
	}
	return checkPlainText(rev)
}

// checkPlainText refuses surrounding space, control characters and invalid UTF-8.
func checkPlainText(rev string) error {
	if strings.TrimSpace(rev) != rev {
		return fmt.Errorf("%q has surrounding space", rev)
	}
	for _, r := range rev {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return fmt.Errorf("%q holds a control character or invalid UTF-8", rev)
		}
	}
	return nil
}

// Validate checks every field of the channel index.
func (c *Channel) Validate() error {
	const k = KindChannel
	if err := validateHeader(k, c.SchemaVersion, c.Kind, c.Product); err != nil {
		return err
	}
	if !ValidName(c.Channel) {
		return fieldErr(k, "channel", "%q is not a lowercase name", c.Channel)
	}
	if c.Sequence < 1 {
		return fieldErr(k, "sequence", "is %d, must be at least 1", c.Sequence)
	}
	if err := checkTime(k, "issued", c.Issued); err != nil {
		return err
	}
	if err := checkTime(k, "expires", c.Expires); err != nil {
		return err
	}
	// Compared as encoded (whole seconds): a decoded index must encode again.
	if !normTime(c.Expires).After(normTime(c.Issued)) {
		return fieldErr(k, "expires", "%s is not after issued %s", c.Expires.Format(time.RFC3339), c.Issued.Format(time.RFC3339))
	}
	seen := map[string]bool{}
	for i, e := range c.Releases {
		f := fmt.Sprintf("releases[%d]", i)
		if _, err := ParseVersion(e.Version); err != nil {
			return fieldErr(k, f+".version", "%v", err)
		}
		if seen[e.Version] {
			return fieldErr(k, f+".version", "%q is listed twice", e.Version)
		}
		seen[e.Version] = true
		if !ValidDigest(e.Digest) {
			return fieldErr(k, f+".digest", "%q is not a sha256 digest", e.Digest)
		}
		if err := checkTime(k, f+".created", e.Created); err != nil {
			return err
		}
		if !e.Yanked && e.Reason != "" {
			return fieldErr(k, f+".reason", "is set but the release is not yanked")
		}
	}
	return nil
}
