package pin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
)

// ReleaseSetOptions say which releases to load for an audit.
type ReleaseSetOptions struct {
	Source     string
	Product    string // required product; empty accepts the index's own
	Channel    string
	Constraint string
	Verifier   *signing.Verifier
	// Anchor, when set, is the trust anchor instead of Verifier (pin.yaml's
	// root of trust, followed through pin.lock's roots).
	Anchor channels.SignatureVerifier
	// CacheDir holds verified documents by digest; empty disables the cache.
	CacheDir string
	// Offline reads only the cache and Lock.
	Offline bool
	Lock    *Lock
	Now     func() time.Time
	Store   channels.ReadStore
	Open    channels.OpenOptions
}

// ReleaseSet is every verified release visible on a channel.
type ReleaseSet struct {
	Product  string
	Channel  string
	Entries  []channels.Candidate         // ascending SemVer
	Releases map[string]*manifest.Release // by version
	Newest   string                       // newest allowed, unyanked version
	Expired  []string                     // channels whose index has expired
	// IndexFetches and ManifestFetches count documents read from the store (not the cache).
	IndexFetches    int
	ManifestFetches int
}

// cachingStore serves release manifests from a digest-addressed cache and
// remembers every index it fetches, so later offline runs can use them.
type cachingStore struct {
	dir     string
	source  string
	inner   channels.ReadStore // nil when offline
	rs      *ReleaseSet
	digests map[string]string // version → digest the verified index lists
	// fromCache lists the versions the cache answered, so a second read of
	// one (after its signatures failed) goes to the store.
	fromCache map[string]bool
}

func (c *cachingStore) String() string { return c.source }

func (c *cachingStore) indexPath(channel string) string {
	sum := sha256.Sum256([]byte(c.source))
	return filepath.Join(c.dir, "channels", hex.EncodeToString(sum[:8]), channel+".json")
}

func (c *cachingStore) manifestPath(digest string) string {
	return filepath.Join(c.dir, "manifests", strings.TrimPrefix(digest, "sha256:")+".json")
}

func (c *cachingStore) GetChannel(ctx context.Context, channel string) (channels.Document, error) {
	if c.inner == nil {
		return readDoc(c.indexPath(channel))
	}
	doc, err := c.inner.GetChannel(ctx, channel)
	if err == nil {
		c.rs.IndexFetches++
	}
	return doc, err
}

// remember caches an index once it has verified, so a bad fetch never
// replaces a good cached copy.
func (c *cachingStore) remember(channel string, doc channels.Document) {
	if c.inner != nil && c.dir != "" {
		writeDoc(c.indexPath(channel), doc) // best effort: a cache that cannot be written is only slower
	}
}

func (c *cachingStore) GetRelease(ctx context.Context, version string) (channels.Document, error) {
	// A second read of a version the cache answered goes to the store: the
	// reader asks again when the cached signatures no longer verify (the
	// release was re-signed after a release-key rotation).
	if d := c.digests[version]; d != "" && c.dir != "" && (c.inner == nil || !c.fromCache[version]) {
		if doc, err := readDoc(c.manifestPath(d)); err == nil && manifest.Digest(doc.Bytes) == d {
			if c.fromCache == nil {
				c.fromCache = map[string]bool{}
			}
			c.fromCache[version] = true
			return doc, nil
		}
	}
	if c.inner == nil {
		return channels.Document{}, fmt.Errorf("release %s is not cached (offline): %w", version, channels.ErrNotFound)
	}
	doc, err := c.inner.GetRelease(ctx, version)
	if err == nil {
		c.rs.ManifestFetches++
		if d := c.digests[version]; d != "" && c.dir != "" && manifest.Digest(doc.Bytes) == d {
			writeDoc(c.manifestPath(d), doc)
		}
	}
	return doc, err
}

func readDoc(p string) (channels.Document, error) {
	return channels.ReadDocument(p) // capped like any store read: the cache is not trusted more than the network
}

func writeDoc(p string, doc channels.Document) {
	_ = channels.WriteDocument(p, doc) // with its further signatures, for a threshold over one
}

// LoadReleaseSet fetches (or reads from the cache) and verifies the channel
// indexes and every release they list. Cached documents are verified again on
// every read: the cache saves bandwidth, never trust.
func LoadReleaseSet(ctx context.Context, o ReleaseSetOptions) (*ReleaseSet, error) {
	rs := &ReleaseSet{Product: o.Product, Channel: o.Channel, Releases: map[string]*manifest.Release{}}
	cs := &cachingStore{dir: o.CacheDir, source: o.Source, rs: rs, digests: map[string]string{}}
	if !o.Offline {
		inner, err := openStore(o.Store, o.Source, o.Open)
		if err != nil {
			return nil, err
		}
		cs.inner = inner
	}
	floor, floorSource := o.Lock, "pin.lock"
	if !o.Offline {
		floor, floorSource = withCacheFloor(ctx, cs, o)
	}
	anchor := o.Anchor
	if anchor == nil && o.Verifier != nil {
		anchor = channels.Keys(o.Verifier)
	}
	rd, err := newAnchoredReader(cs, anchor, o.Product, floor, floorSource, channels.ReportExpired, o.Now)
	if err != nil {
		return nil, err
	}
	indexes, err := fetchVerified(ctx, o.Channel, rd, o.Offline)
	if err != nil {
		return nil, err
	}
	rs.Product = rd.Trust.Product()
	idx := map[string]*manifest.Channel{}
	for n, vc := range indexes {
		cs.remember(n, vc.Doc)
		if vc.Expired {
			rs.Expired = append(rs.Expired, n)
		}
		idx[n] = vc.Index
		for _, e := range vc.Index.Releases {
			cs.digests[e.Version] = e.Digest
		}
	}
	sort.Strings(rs.Expired)
	rs.Entries = channels.Visible(o.Channel, idx)
	for _, e := range rs.Entries {
		vr, err := rd.Release(ctx, e.Entry)
		if err != nil {
			if o.Offline && channels.IsNotFound(err) {
				continue
			}
			return nil, err
		}
		rs.Releases[e.Version] = vr.Release
	}
	if o.Lock != nil && rs.Releases[o.Lock.Version] == nil {
		if err := checkLockedManifestDigest(o.Lock, "pin.lock"); err != nil {
			return nil, err
		}
		vr, err := rd.Trust.UpdatePinnedRelease(ctx, o.Lock.Version, o.Lock.ManifestDigest, o.Lock.Document())
		if err != nil {
			return nil, err
		}
		rs.Releases[o.Lock.Version] = vr.Release
		if len(rs.Entries) == 0 {
			rs.Entries = []channels.Candidate{{Entry: manifest.Entry{Version: o.Lock.Version, Digest: o.Lock.ManifestDigest, Created: vr.Release.Created}, Channel: o.Lock.ReleaseChannel}}
		}
	}
	cons, err := channels.ParseConstraint(o.Constraint)
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	if sel, ok := channels.Select(rs.Entries, cons); ok {
		rs.Newest = sel.Version
	}
	return rs, nil
}

// Newer counts the unyanked versions in the set above version.
func (rs *ReleaseSet) Newer(version string) int {
	v, err := semver.StrictNewVersion(version)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range rs.Entries {
		if ev, err := semver.StrictNewVersion(e.Version); err == nil && !e.Yanked && ev.GreaterThan(v) {
			n++
		}
	}
	return n
}

// UnverifiedRelease reads, without trusting it (channels.Unverified mode), a
// release that names the product's components: the lock's, or the newest on
// the channel. Audit uses it after a trust failure, only to tell which
// references belong to the product; nothing read here is trusted.
func UnverifiedRelease(ctx context.Context, o ReleaseSetOptions) *manifest.Release {
	if o.Lock != nil {
		t, err := channels.NewTrusted(nil, channels.TrustOptions{Mode: channels.Unverified, KnownSource: "pin.lock"})
		if err == nil {
			if vr, err := t.UpdatePinnedRelease(ctx, o.Lock.Version, o.Lock.ManifestDigest, o.Lock.Document()); err == nil {
				return vr.Release
			}
		}
	}
	if o.Offline {
		return nil
	}
	st, err := openStore(o.Store, o.Source, o.Open)
	if err != nil {
		return nil
	}
	rd, err := newReader(st, nil, "", nil, channels.Unverified, o.Now)
	if err != nil {
		return nil
	}
	vc, err := rd.Channel(ctx, o.Channel)
	if err != nil || len(vc.Index.Releases) == 0 {
		return nil
	}
	vr, err := rd.Release(ctx, vc.Index.Releases[len(vc.Index.Releases)-1])
	if err != nil {
		return nil
	}
	return vr.Release
}
