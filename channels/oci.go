package channels

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
	"github.com/wellcomecollection/pin/signing"
	"github.com/wellcomecollection/pin/signing/keyless"
)

// SignatureAnnotation carries a document's base64 blob signature on the
// artifact manifest, so that one manifest fetch yields bytes and signature.
const SignatureAnnotation = "dev.wellcomecollection.pin/signature"

// BundleAnnotation carries a keylessly signed document's Sigstore bundle
// (protobuf JSON) on the artifact manifest, beside or instead of the signature.
const BundleAnnotation = "dev.wellcomecollection.pin/sigstore-bundle"

// channelTagPrefix names channel index tags: channel-stable, channel-edge.
const channelTagPrefix = "channel-"

// maxSignatureSize caps the signature annotation, like a .sig file.
const maxSignatureSize = 64 << 10

// OCIStore keeps releases and channel indexes as OCI artifacts in one
// registry repository, next to the images: release 1.5.0 is tag 1.5.0, the
// stable channel index is tag channel-stable. Each is a single-layer artifact
// (artifactType manifest.ReleaseMediaType or manifest.ChannelMediaType) whose
// layer is the document's bytes and whose manifest annotation
// dev.wellcomecollection.pin/signature is its base64 signature. With an image
// signer, every artifact is also signed cosign-style (tag sha256-<hex>.sig),
// so `cosign verify --key K.pub --insecure-ignore-tlog=true HOST/REPO:1.5.0`
// accepts it. Only plain tags are used: registries without the referrers API
// (distribution 2.8) work.
type OCIStore struct {
	repo   name.Repository
	client *registry.Client
	signer *signing.Signer
	lease  LeaseTiming
	mu     sync.Mutex
	held   *heldLease // the publishing lease, while this store holds it
}

// OCIOption configures an OCIStore.
type OCIOption func(*ociConfig)

type ociConfig struct {
	registry []registry.Option
	signer   *signing.Signer
	lease    LeaseTiming
}

// WithRegistryOptions passes options (transport, keychain, retries) to the registry client.
func WithRegistryOptions(opts ...registry.Option) OCIOption {
	return func(c *ociConfig) { c.registry = append(c.registry, opts...) }
}

// WithImageSigner signs every artifact pushed cosign-style with s.
func WithImageSigner(s *signing.Signer) OCIOption {
	return func(c *ociConfig) { c.signer = s }
}

// NewOCIStore returns the store in repository repo (host/path; an oci://
// prefix is accepted).
func NewOCIStore(repo string, opts ...OCIOption) (*OCIStore, error) {
	var c ociConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	loc := strings.TrimPrefix(repo, ociScheme)
	r, err := name.NewRepository(loc)
	if err != nil {
		return nil, fmt.Errorf("store oci://%s: %w", loc, err)
	}
	return &OCIStore{repo: r, client: registry.NewClient(c.registry...), signer: c.signer, lease: c.lease}, nil
}

// String names the store as oci://host/repo.
func (s *OCIStore) String() string { return ociScheme + s.repo.Name() }

// ReleaseTag and ChannelTag name the tags an OCI store keeps a release and
// a channel index under.
func ReleaseTag(version string) string { return version }

// ChannelTag names the tag of a channel index: channel-<name>.
func ChannelTag(channel string) string { return channelTagPrefix + channel }

// Repository is the registry repository the store lives in.
func (s *OCIStore) Repository() name.Repository { return s.repo }

// Client is the registry client the store uses (request counters, signatures).
func (s *OCIStore) Client() *registry.Client { return s.client }

func (s *OCIStore) tag(kind, t string) (name.Tag, error) {
	tag, err := name.NewTag(s.repo.Name()+":"+t, name.StrictValidation)
	if err != nil || tag.Context() != s.repo {
		return name.Tag{}, fmt.Errorf("%s %q cannot be a tag in %s", kind, strings.TrimPrefix(t, channelTagPrefix), s)
	}
	return tag, nil
}

// GetChannel fetches the channel index; errors wrap ErrNotFound when absent.
func (s *OCIStore) GetChannel(ctx context.Context, channel string) (Document, error) {
	tag, err := s.tag("channel", channelTagPrefix+channel)
	if err != nil {
		return Document{}, err
	}
	return s.get(ctx, "channel "+channel, tag)
}

// GetRelease fetches a release manifest; errors wrap ErrNotFound when absent.
func (s *OCIStore) GetRelease(ctx context.Context, version string) (Document, error) {
	tag, err := s.tag("release", version)
	if err != nil {
		return Document{}, err
	}
	return s.get(ctx, "release "+version, tag)
}

func (s *OCIStore) get(ctx context.Context, what string, tag name.Tag) (Document, error) {
	data, ann, _, err := s.client.PullArtifact(ctx, tag, manifest.MaxDocumentSize)
	if errors.Is(err, registry.ErrNotFound) {
		return Document{}, fmt.Errorf("%s in %s: %w", what, s, ErrNotFound)
	}
	if err != nil {
		return Document{}, err // callers say what they fetched from which store; err names the tag and host
	}
	sig := ann[SignatureAnnotation]
	if len(sig) > maxSignatureSize {
		return Document{}, fmt.Errorf("%s in %s: signature annotation is %d bytes, over the %d-byte cap", what, s, len(sig), maxSignatureSize)
	}
	bundle := ann[BundleAnnotation]
	if len(bundle) > keyless.MaxBundleSize {
		return Document{}, fmt.Errorf("%s in %s: bundle annotation is %d bytes, over the %d-byte cap", what, s, len(bundle), keyless.MaxBundleSize)
	}
	doc := Document{Bytes: data, Signature: []byte(sig)}
	if bundle != "" {
		doc.Bundle = []byte(bundle)
	}
	if more, ok := ann[SignaturesAnnotation]; ok {
		if doc.More, err = manifest.DecodeSignatures([]byte(more)); err != nil {
			return Document{}, fmt.Errorf("%s in %s: %w", what, s, err)
		}
	}
	return doc, nil
}

// PutChannel replaces the channel index (moves its tag).
func (s *OCIStore) PutChannel(ctx context.Context, channel string, doc Document) error {
	tag, err := s.tag("channel", channelTagPrefix+channel)
	if err != nil {
		return err
	}
	if err := s.checkLease(ctx); err != nil {
		return fmt.Errorf("publish channel %s: %w", channel, err)
	}
	return s.put(ctx, "channel "+channel, tag, manifest.ChannelMediaType, doc)
}

// PutRelease publishes a release manifest; errors wrap ErrExists when the
// tag is taken. The check and the push are two requests: two publishers
// racing on one version could both pass the check (registries offer no
// create-only tag); Publisher holds the store's publishing lease around
// both (LockPublishing).
func (s *OCIStore) PutRelease(ctx context.Context, version string, doc Document) error {
	tag, err := s.tag("release", version)
	if err != nil {
		return err
	}
	exists, err := s.client.Exists(ctx, tag)
	if err != nil {
		return fmt.Errorf("release %s in %s: %w", version, s, err)
	}
	if exists {
		return fmt.Errorf("release %s in %s: %w", version, s, ErrExists)
	}
	return s.put(ctx, "release "+version, tag, manifest.ReleaseMediaType, doc)
}

func (s *OCIStore) put(ctx context.Context, what string, tag name.Tag, mediaType string, doc Document) error {
	if len(doc.Bytes) > manifest.MaxDocumentSize {
		return fmt.Errorf("%s is %d bytes, over the %d-byte cap", what, len(doc.Bytes), manifest.MaxDocumentSize)
	}
	ann := map[string]string{SignatureAnnotation: strings.TrimSpace(string(doc.Signature))}
	if len(doc.Bundle) > 0 {
		ann[BundleAnnotation] = string(doc.Bundle)
	}
	if len(doc.More) > 0 {
		more, err := manifest.EncodeSignatures(doc.More)
		if err != nil {
			return err
		}
		ann[SignaturesAnnotation] = strings.TrimSpace(string(more))
	}
	d, err := s.client.PushArtifact(ctx, s.repo, tag.TagStr(), mediaType, doc.Bytes, ann)
	if err != nil {
		return fmt.Errorf("publish %s to %s: %w", what, s, err)
	}
	if s.signer == nil {
		return nil
	}
	payload, ann, err := s.signer.SignImageAnnotated(ctx, s.repo.Digest(d.String()))
	if err != nil {
		return fmt.Errorf("sign %s (%s) in %s: %w", what, d, s, err)
	}
	if err := s.client.PushSignatureAnnotated(ctx, s.repo, d, payload, ann); err != nil {
		return fmt.Errorf("%s was published as %s but its cosign signature was not: %w", what, d, err)
	}
	return nil
}

var (
	_ Store         = (*OCIStore)(nil)
	_ InRegistry    = (*OCIStore)(nil)
	_ PublishLocker = (*OCIStore)(nil)
)
