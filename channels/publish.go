package channels

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing"
	"github.com/wellcomecollection/pin/trustroot"
)

// Publisher performs the producer's operations on a store: create, promote,
// yank and refresh. Every operation re-reads and verifies the current channel
// index with the publisher's own key, so a store that was tampered with is
// noticed rather than re-signed. On a store that is a PublishLocker, each
// operation holds the store's publishing lock throughout, and reads the
// index back after writing it. A Publisher is used by one goroutine at a time.
type Publisher struct {
	Store   Store
	Signer  *signing.Signer
	Product string
	Now     func() time.Time
	// AlsoTrust lists PEM public keys of earlier signing keys. During a key
	// rotation the current index and releases were signed by the old key;
	// the publisher accepts them and re-signs what it publishes with Signer.
	AlsoTrust map[string][]byte
	// Identities are the CI identities whose Sigstore bundles the publisher
	// accepts on what is already published: its own, when Signer is keyless
	// (release.yaml's identities), and earlier ones during a move.
	Identities signing.BundleVerifier
	// TTLs are the channels' configured TTLs, used when an operation on one
	// channel re-signs another (a yank that follows a promotion).
	TTLs map[string]time.Duration
	// LockWait is how long an operation waits for another publisher holding
	// the store's publishing lock (0: DefaultLockWait; negative: not at all).
	LockWait time.Duration
	// Waiting, when set, is told once that the operation waits for another
	// publisher (described by holder).
	Waiting func(holder string)
	// Root, when set, is the store's root of trust: current documents are
	// verified with its roles (index role per channel, release role), and a
	// signer the root does not list for the role it signs for is refused.
	Root *trustroot.Trusted
	// PreviousRoots are the roots before Root, newest first. The current
	// index was published under one of them when the index key has just
	// been rotated: it is accepted with their index role so that the next
	// publish, signed by the new key, can follow it.
	PreviousRoots []*trustroot.Trusted
	// IndexSigner signs channel indexes when set (the index role's online
	// key); otherwise Signer signs everything.
	IndexSigner *signing.Signer
	// CoSigners add their signatures to every channel index published, for
	// an index role whose threshold is over one (CI and a person for stable).
	CoSigners []*signing.Signer
	// Record, when set, is the publisher's own memory of what it published
	// (see Record): every index read from the store is checked against it
	// before it is extended, and every index published is saved to it.
	Record *Record
	// NewChannel starts a channel the store lost again, empty, after the
	// sequence the record holds (pin ... --new-channel).
	NewChannel bool
	// AdoptStore accepts the store's current indexes when there is no
	// record file yet, and records them (pin ... --adopt-store).
	AdoptStore bool

	holding bool     // the publishing lock is held (operations nest)
	op      *Trusted // the trusted state of the outermost operation under way
}

// Published is the outcome of a publishing operation.
type Published struct {
	Release       *manifest.Release `json:"release,omitempty"`
	ReleaseDigest string            `json:"releaseDigest,omitempty"`
	Channel       *manifest.Channel `json:"channel"`
	ChannelDigest string            `json:"channelDigest"`
	// Unchanged is true when the operation was a rerun of one already done
	// (same version, same content): nothing was written.
	Unchanged bool `json:"unchanged"`
}

func (p *Publisher) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC().Truncate(time.Second)
	}
	return time.Now().UTC().Truncate(time.Second)
}

// anchor is what the publisher trusts in the store: the store's root of
// trust (and, for an index, the roots before it), or else its own key (or,
// signing keylessly, its own identities) and the earlier keys of a rotation.
func (p *Publisher) anchor() (SignatureVerifier, error) {
	if p.Root != nil {
		return RootAnchor(p.Root, p.PreviousRoots...), nil
	}
	keys := map[string][]byte{}
	if !p.Signer.Keyless() {
		pub, err := p.Signer.PublicKeyPEM()
		if err != nil {
			return nil, err
		}
		keys["signing key"] = pub
	} else if p.Identities == nil {
		return nil, exitcode.UsageError(errors.New("keyless publishing needs the pipeline's own identity (identities: in release.yaml) to verify what is already published before re-signing it"))
	}
	for name, pem := range p.AlsoTrust {
		keys[name] = pem
	}
	v, err := signing.NewVerifierWithIdentities(keys, p.Identities)
	if err != nil {
		return nil, err
	}
	return Keys(v), nil
}

// trusted returns the trusted state of the operation under way (one per
// outermost operation, so that a promotion checks the release against the
// index it found it in), or a new one outside an operation. The publisher
// reads in ReportExpired mode: re-signing an expired index is what refresh is for.
func (p *Publisher) trusted() (*Trusted, error) {
	if p.op != nil {
		return p.op, nil
	}
	a, err := p.anchor()
	if err != nil {
		return nil, err
	}
	return NewTrusted(a, TrustOptions{Product: p.Product, Mode: ReportExpired, Now: p.Now, KnownSource: "this publisher's earlier read"})
}

// current returns the channel's index as published, trusted (any expiry),
// or an empty index when the channel does not exist yet.
func (p *Publisher) current(ctx context.Context, channel string) (*manifest.Channel, error) {
	doc, err := p.Store.GetChannel(ctx, channel)
	if errors.Is(err, ErrNotFound) {
		var after int64
		if p.Record != nil {
			if after, err = p.Record.CheckMissing(channel, p.Store.String(), p.NewChannel); err != nil {
				return nil, err
			}
		}
		return &manifest.Channel{SchemaVersion: manifest.SchemaVersion, Kind: manifest.KindChannel, Product: p.Product, Channel: channel, Sequence: after}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("fetch channel %s from %s: %w", channel, p.Store, err)
	}
	t, err := p.trusted()
	if err != nil {
		return nil, err
	}
	vc, err := t.UpdateChannel(ctx, channel, doc)
	if errors.Is(err, signing.ErrSignature) {
		return nil, fmt.Errorf("channel %s in %s is not signed by this key (rotating keys? list the old public key under previousKeys in release.yaml): %w", channel, p.Store, err)
	}
	if err != nil {
		return nil, fmt.Errorf("channel %s in %s: %w", channel, p.Store, err)
	}
	if p.Record != nil {
		if err := p.Record.CheckCurrent(vc, p.Store.String(), p.AdoptStore); err != nil {
			return nil, err
		}
	}
	// The caller edits the index it gets: hand it a copy of the trusted one.
	idx := *vc.Index
	idx.Releases = append([]manifest.Entry(nil), vc.Index.Releases...)
	return &idx, nil
}

// release fetches version and verifies it against the trusted index that lists it.
func (p *Publisher) release(ctx context.Context, version string) (*VerifiedRelease, error) {
	doc, err := p.Store.GetRelease(ctx, version)
	if err != nil {
		return nil, fmt.Errorf("fetch release %s from %s: %w", version, p.Store, err)
	}
	t, err := p.trusted()
	if err != nil {
		return nil, err
	}
	vr, err := t.UpdateRelease(ctx, version, doc)
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", version, err)
	}
	return vr, nil
}

// publishChannel signs and stores the next version of idx: sequence+1,
// issued now, expires now+ttl.
func (p *Publisher) publishChannel(ctx context.Context, idx *manifest.Channel, ttl time.Duration) (*manifest.Channel, string, error) {
	if ttl <= 0 {
		return nil, "", exitcode.UsageError(fmt.Errorf("channel %s: ttl must be positive, got %s", idx.Channel, ttl))
	}
	next := *idx
	next.Releases = append([]manifest.Entry(nil), idx.Releases...)
	next.Sequence++
	next.Issued = p.now()
	next.Expires = next.Issued.Add(ttl)
	if err := next.CheckPrintable(); err != nil {
		return nil, "", exitcode.UsageError(fmt.Errorf("channel %s: %w", idx.Channel, err))
	}
	b, err := next.Encode()
	if err != nil {
		return nil, "", fmt.Errorf("encode channel %s: %w", idx.Channel, err)
	}
	doc, err := p.signIndex(ctx, idx.Channel, b)
	if err != nil {
		return nil, "", err
	}
	if err := p.Store.PutChannel(ctx, idx.Channel, doc); err != nil {
		return nil, "", fmt.Errorf("publish channel %s to %s: %w", idx.Channel, p.Store, err)
	}
	if err := p.checkPublished(ctx, idx.Channel, next.Sequence, b); err != nil {
		return nil, "", err
	}
	final, err := manifest.DecodeChannel(b, manifest.Expect{})
	if err != nil {
		return nil, "", err
	}
	// Recorded after the store took it: a record ahead of the store would
	// read as a rollback next time, while a store ahead of the record (the
	// save failed) is accepted as long as it keeps the recorded history.
	if p.Record != nil {
		if err := p.Record.Save(p.Store.String(), final, manifest.Digest(b)); err != nil {
			return nil, "", fmt.Errorf("channel %s sequence %d is published, but %w: rerun with the same record to record it", idx.Channel, final.Sequence, err)
		}
	}
	return final, manifest.Digest(b), nil
}

// CheckCreate validates a release before anything is resolved or published:
// the version fits the channel and (on edge) is ahead of every stable
// release, since edge holds prereleases of the next version. A version the
// store already holds passes: whether this is a rerun of the same content
// (a no-op) or a clash is only known once the release is resolved, and
// Create decides it.
func (p *Publisher) CheckCreate(ctx context.Context, channel, version string) error {
	v, err := CheckVersion(channel, version)
	if err != nil {
		return exitcode.UsageError(err)
	}
	if _, err := p.Store.GetRelease(ctx, version); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("check release %s in %s: %w", version, p.Store, err)
	}
	if channel == Edge {
		stable, err := p.current(ctx, Stable)
		if err != nil {
			return err
		}
		for _, e := range stable.Releases {
			sv, err := semver.StrictNewVersion(e.Version)
			if err == nil && !v.GreaterThan(sv) {
				return exitcode.UsageError(fmt.Errorf("edge version %s is not ahead of stable %s: edge holds prereleases of the next version", version, e.Version))
			}
		}
	}
	return nil
}

// Create signs and publishes rel, then lists it on channel.
func (p *Publisher) Create(ctx context.Context, rel *manifest.Release, channel string, ttl time.Duration) (out *Published, err error) {
	err = p.exclusive(ctx, func() error {
		out, err = p.create(ctx, rel, channel, ttl)
		return err
	})
	return out, err
}

func (p *Publisher) create(ctx context.Context, rel *manifest.Release, channel string, ttl time.Duration) (*Published, error) {
	if rel.Product != p.Product {
		return nil, exitcode.UsageError(fmt.Errorf("release is for product %q, the store publishes %q", rel.Product, p.Product))
	}
	if _, err := CheckVersion(channel, rel.Version); err != nil {
		return nil, exitcode.UsageError(err)
	}
	if err := p.checkSigners(channel, true); err != nil {
		return nil, err
	}
	idx, err := p.current(ctx, channel)
	if err != nil {
		return nil, err
	}
	if out, err := p.rerun(ctx, rel, idx, ttl); err != nil || out != nil {
		return out, err
	}
	if err := p.CheckCreate(ctx, channel, rel.Version); err != nil {
		return nil, err
	}
	if _, ok := idx.Entry(rel.Version); ok {
		return nil, exitcode.UsageError(fmt.Errorf("channel %s already lists %s", channel, rel.Version))
	}
	if rel.Created.IsZero() {
		rel.Created = p.now()
	}
	if err := rel.CheckPrintable(); err != nil {
		return nil, exitcode.UsageError(fmt.Errorf("release %s: %w", rel.Version, err))
	}
	b, err := rel.Encode()
	if err != nil {
		return nil, exitcode.UsageError(fmt.Errorf("release %s: %w", rel.Version, err))
	}
	doc, err := p.signRelease(ctx, b)
	if err != nil {
		return nil, err
	}
	if err := p.Store.PutRelease(ctx, rel.Version, doc); err != nil {
		if errors.Is(err, ErrExists) {
			return nil, exitcode.UsageError(fmt.Errorf("publish release %s to %s: %w", rel.Version, p.Store, err))
		}
		return nil, fmt.Errorf("publish release %s to %s: %w", rel.Version, p.Store, err)
	}
	final, err := manifest.DecodeRelease(b, manifest.Expect{})
	if err != nil {
		return nil, err
	}
	digest := manifest.Digest(b)
	idx.Releases = append(idx.Releases, manifest.Entry{Version: rel.Version, Digest: digest, Created: final.Created})
	ch, chDigest, err := p.publishChannel(ctx, idx, ttl)
	if err != nil {
		return nil, fmt.Errorf("release %s is published but not listed: %w (rerunning the same create lists it)", rel.Version, err)
	}
	return &Published{Release: final, ReleaseDigest: digest, Channel: ch, ChannelDigest: chDigest}, nil
}

// PromoteTarget returns the version a release becomes when promoted to
// channel: for stable, the X.Y.Z of an edge prerelease.
func PromoteTarget(version, to string) (string, error) {
	v, err := manifest.ParseVersion(version)
	if err != nil {
		return "", err
	}
	if to == Stable {
		return fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), v.Patch()), nil
	}
	return "", fmt.Errorf("promotion goes to stable; %q is not a promotion target", to)
}

// Promote publishes a new release on channel to, named as, with exactly the
// component digests of version (which must be listed, unyanked, on another
// channel). Nothing is resolved again.
func (p *Publisher) Promote(ctx context.Context, version, to, as string, ttl time.Duration) (out *Published, err error) {
	err = p.exclusive(ctx, func() error {
		out, err = p.promote(ctx, version, to, as, ttl)
		return err
	})
	return out, err
}

func (p *Publisher) promote(ctx context.Context, version, to, as string, ttl time.Duration) (*Published, error) {
	if to != Stable {
		return nil, exitcode.UsageError(fmt.Errorf("promotion goes to stable; %q is not a promotion target", to))
	}
	if err := p.checkSigners(to, true); err != nil {
		return nil, err
	}
	if as == "" {
		t, err := PromoteTarget(version, to)
		if err != nil {
			return nil, exitcode.UsageError(err)
		}
		as = t
	}
	if want, err := PromoteTarget(version, to); err != nil {
		return nil, exitcode.UsageError(err)
	} else if as != want {
		return nil, exitcode.UsageError(fmt.Errorf("%s promotes to %s, not %s: a stable release keeps the X.Y.Z of the edge release it came from", version, want, as))
	}
	if _, err := p.findEntry(ctx, version, to); err != nil {
		return nil, err
	}
	// Checked against the digest the index findEntry trusted lists.
	vr, err := p.release(ctx, version)
	if err != nil {
		return nil, err
	}
	rel := *vr.Release
	rel.Version = as
	rel.Created = p.now()
	rel.PromotedFrom = &manifest.PromotedRef{Version: version, Digest: vr.Digest}
	rel.Components = append([]manifest.Component(nil), vr.Release.Components...)
	return p.Create(ctx, &rel, to, ttl)
}

// findEntry finds version on any channel other than exclude; yanked releases are refused.
func (p *Publisher) findEntry(ctx context.Context, version, exclude string) (manifest.Entry, error) {
	for _, name := range Names {
		if name == exclude {
			continue
		}
		idx, err := p.current(ctx, name)
		if err != nil {
			return manifest.Entry{}, err
		}
		if e, ok := idx.Entry(version); ok {
			if e.Yanked {
				return manifest.Entry{}, exitcode.UsageError(fmt.Errorf("release %s is yanked on %s (%s): it cannot be promoted", version, name, e.Reason))
			}
			return e, nil
		}
	}
	return manifest.Entry{}, exitcode.UsageError(fmt.Errorf("release %s is not listed on any channel other than %s in %s", version, exclude, p.Store))
}

// Yank marks version as yanked on channel with a reason. Consumers never
// select a yanked release, and `pin check --online` and `pin audit` report it.
func (p *Publisher) Yank(ctx context.Context, channel, version, reason string, ttl time.Duration) (out *Published, err error) {
	err = p.exclusive(ctx, func() error {
		out, err = p.yank(ctx, channel, version, reason, ttl)
		return err
	})
	return out, err
}

func (p *Publisher) yank(ctx context.Context, channel, version, reason string, ttl time.Duration) (*Published, error) {
	if err := ValidName(channel); err != nil {
		return nil, exitcode.UsageError(err)
	}
	if strings.TrimSpace(reason) == "" {
		return nil, exitcode.UsageError(errors.New("a yank needs a reason: consumers see it"))
	}
	if err := p.checkSigners(channel, false); err != nil {
		return nil, err
	}
	idx, err := p.current(ctx, channel)
	if err != nil {
		return nil, err
	}
	found := false
	for i, e := range idx.Releases {
		if e.Version == version {
			if e.Yanked {
				return nil, exitcode.UsageError(fmt.Errorf("release %s is already yanked on %s (%s)", version, channel, e.Reason))
			}
			idx.Releases[i].Yanked = true
			idx.Releases[i].Reason = reason
			found = true
		}
	}
	if !found {
		return nil, exitcode.UsageError(fmt.Errorf("channel %s in %s does not list %s", channel, p.Store, version))
	}
	ch, d, err := p.publishChannel(ctx, idx, ttl)
	if err != nil {
		return nil, err
	}
	out := &Published{Channel: ch, ChannelDigest: d}
	if err := p.yankPromotedFrom(ctx, channel, version, reason, ttl); err != nil {
		return out, fmt.Errorf("yanked %s on %s, but not the edge release it was promoted from: %w", version, channel, err)
	}
	return out, nil
}

// yankPromotedFrom yanks the release a yanked one was promoted from: it lists
// exactly the same digests, so leaving it selectable on edge would hand edge
// consumers the very images that were withdrawn.
func (p *Publisher) yankPromotedFrom(ctx context.Context, channel, version, reason string, ttl time.Duration) error {
	// Checked against the digest listed by the index yank just read.
	vr, err := p.release(ctx, version)
	if err != nil {
		return err
	}
	from := vr.Release.PromotedFrom
	if from == nil {
		return nil
	}
	for _, name := range Names {
		if name == channel {
			continue
		}
		idx, err := p.current(ctx, name)
		if err != nil {
			return err
		}
		e, ok := idx.Entry(from.Version)
		if !ok || e.Yanked || e.Digest != from.Digest {
			continue
		}
		otherTTL := ttl
		if t, ok := p.TTLs[name]; ok {
			otherTTL = t
		}
		if _, err := p.Yank(ctx, name, from.Version, reason+" (promoted as "+version+", which was yanked)", otherTTL); err != nil {
			return err
		}
	}
	return nil
}

// Refresh re-signs the channel index with a new expiry and sequence+1, so
// consumers can tell a live channel from a frozen one.
func (p *Publisher) Refresh(ctx context.Context, channel string, ttl time.Duration) (out *Published, err error) {
	err = p.exclusive(ctx, func() error {
		out, err = p.refresh(ctx, channel, ttl)
		return err
	})
	return out, err
}

func (p *Publisher) refresh(ctx context.Context, channel string, ttl time.Duration) (*Published, error) {
	if err := ValidName(channel); err != nil {
		return nil, exitcode.UsageError(err)
	}
	if err := p.checkSigners(channel, false); err != nil {
		return nil, err
	}
	idx, err := p.current(ctx, channel)
	if err != nil {
		return nil, err
	}
	if idx.Sequence == 0 {
		return nil, exitcode.UsageError(fmt.Errorf("channel %s does not exist in %s yet: create a release first", channel, p.Store))
	}
	ch, d, err := p.publishChannel(ctx, idx, ttl)
	if err != nil {
		return nil, err
	}
	return &Published{Channel: ch, ChannelDigest: d}, nil
}

// checkRole refuses a signer the root does not list for role: what it
// signed would be refused by every consumer.
func (p *Publisher) checkRole(role string, s *signing.Signer) error {
	if p.Root == nil {
		return nil
	}
	if s.Keyless() {
		// Which identity a keyless signature carries is known only once
		// Fulcio certifies it: here the role must list some identity, and
		// checkBundle verifies the signature itself before it is published.
		r := p.Root.Root.Roles[role]
		for _, id := range r.KeyIDs {
			if p.Root.Root.Keys[id].Type == manifest.KeyTypeSigstoreIdentity {
				return nil
			}
		}
		return exitcode.UsageError(&NoIdentityError{Role: role, RootVersion: p.Root.Root.Version, Store: fmt.Sprint(p.Store)})
	}
	id, err := trustroot.KeyID(s.PublicKey())
	if err != nil {
		return err
	}
	r := p.Root.Root.Roles[role]
	if !slices.Contains(r.KeyIDs, id) {
		return exitcode.UsageError(&KeyNotListedError{KeyID: id[:16], Role: role, RootVersion: p.Root.Root.Version, Store: fmt.Sprint(p.Store), Listed: r.KeyIDs})
	}
	return nil
}

// checkBundle verifies a keyless signature the publisher just made against
// the identities role lists, before anything is published: a pipeline whose
// certificate carries another identity (another repository, a branch the
// role does not name) is refused as every consumer would refuse it.
func (p *Publisher) checkBundle(ctx context.Context, role string, data, bundle []byte) error {
	if p.Root == nil || len(bundle) == 0 {
		return nil
	}
	if _, err := p.Root.VerifyIdentity(ctx, role, data, bundle); err != nil {
		if errors.Is(err, signing.ErrSignature) {
			return exitcode.TrustError(fmt.Errorf("the keyless signature does not carry an identity %s lists for role %s, so consumers would refuse it: %w", p.Store, role, err))
		}
		return err
	}
	return nil
}

// checkSigners refuses, before anything is written, signers the root does
// not list: the index signers for channel, and the release signer when the
// operation signs a release; a co-signer must be listed for one of the roles
// the operation signs for. Each role's threshold must be met by distinct keys.
func (p *Publisher) checkSigners(channel string, release bool) error {
	if p.Root == nil {
		return nil
	}
	role := p.Root.Root.IndexRole(channel)
	for _, s := range p.CoSigners {
		if p.listed(role, s) || (release && p.listed(manifest.RoleRelease, s)) {
			continue
		}
		return p.checkRole(role, s) // the refusal names the index role, as before
	}
	if release {
		if err := p.checkThreshold(manifest.RoleRelease, channel, p.Signer); err != nil {
			return err
		}
	}
	first := p.IndexSigner
	if first == nil {
		first = p.Signer
	}
	return p.checkThreshold(role, channel, first)
}

// checkThreshold checks that first is listed for role and that first with
// the co-signers role lists meet its threshold.
func (p *Publisher) checkThreshold(role, channel string, first *signing.Signer) error {
	if err := p.checkRole(role, first); err != nil {
		return err
	}
	distinct := map[string]bool{}
	for _, s := range append([]*signing.Signer{first}, p.coSigners(role)...) {
		if s.Keyless() {
			distinct["identity"] = true // one bundle: at most one identity
			continue
		}
		id, _ := trustroot.KeyID(s.PublicKey())
		distinct[id] = true
	}
	if need := p.Root.Root.Roles[role].Threshold; len(distinct) < need {
		return exitcode.UsageError(&ThresholdError{Role: role, RootVersion: p.Root.Root.Version, Need: need, Given: len(distinct), Channel: channel})
	}
	return nil
}

// listed reports whether the root lists s's key for role.
func (p *Publisher) listed(role string, s *signing.Signer) bool {
	if s.Keyless() {
		return false
	}
	id, err := trustroot.KeyID(s.PublicKey())
	return err == nil && slices.Contains(p.Root.Root.Roles[role].KeyIDs, id)
}

// coSigners are the CoSigners that sign documents of role: with a root, the
// ones it lists for role (a key listed for the release role and the index
// role signs both); without one, every co-signer signs indexes only, as
// before roles existed.
func (p *Publisher) coSigners(role string) []*signing.Signer {
	if p.Root == nil {
		if role == manifest.RoleRelease {
			return nil
		}
		return p.CoSigners
	}
	var out []*signing.Signer
	for _, s := range p.CoSigners {
		if p.listed(role, s) {
			out = append(out, s)
		}
	}
	return out
}

// signRelease signs a release manifest with Signer, and with every
// co-signer the root lists for the release role (for a threshold over one).
func (p *Publisher) signRelease(ctx context.Context, b []byte) (Document, error) {
	if err := p.checkRole(manifest.RoleRelease, p.Signer); err != nil {
		return Document{}, err
	}
	sig, bundle, err := p.Signer.SignDocument(ctx, b)
	if err != nil {
		return Document{}, err
	}
	if err := p.checkBundle(ctx, manifest.RoleRelease, b, bundle); err != nil {
		return Document{}, err
	}
	doc := Document{Bytes: b, Signature: sig, Bundle: bundle}
	return coSign(ctx, doc, p.coSigners(manifest.RoleRelease), p.Signer)
}

// coSign adds each signer's signature, with its key id, to doc.More
// (never to Signature: a keyless first signer leaves that empty and its
// bundle stands for it), skipping the key that made doc's own signature (a
// key counts once).
func coSign(ctx context.Context, doc Document, signers []*signing.Signer, first *signing.Signer) (Document, error) {
	for _, s := range signers {
		if s.KeyID() == first.KeyID() {
			continue
		}
		id, err := trustroot.KeyID(s.PublicKey())
		if err != nil {
			return Document{}, err
		}
		sig, err := s.SignBlob(ctx, doc.Bytes)
		if err != nil {
			return Document{}, err
		}
		doc.More = append(doc.More, manifest.Signature{KeyID: id, Sig: string(sig)})
	}
	return doc, nil
}

// signIndex signs an index with IndexSigner (or Signer) and every CoSigner
// the root lists for the channel's index role (checkSigners has refused,
// before anything was written, a co-signer listed for no role in use).
func (p *Publisher) signIndex(ctx context.Context, channel string, b []byte) (Document, error) {
	first := p.IndexSigner
	if first == nil {
		first = p.Signer
	}
	role := manifest.RoleIndex
	if p.Root != nil {
		role = p.Root.Root.IndexRole(channel)
	}
	if err := p.checkRole(role, first); err != nil {
		return Document{}, err
	}
	// The first signer may be keyless: its bundle goes with the document.
	sig, bundle, err := first.SignDocument(ctx, b)
	if err != nil {
		return Document{}, err
	}
	if err := p.checkBundle(ctx, role, b, bundle); err != nil {
		return Document{}, err
	}
	return coSign(ctx, Document{Bytes: b, Signature: sig, Bundle: bundle}, p.coSigners(role), first)
}
