package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/wellcomecollection/pin/internal/exitcode"
)

// Media types and annotations of artifacts and cosign signatures.
const (
	// EmptyConfigMediaType is the OCI 1.1 empty descriptor's media type; its blob is "{}".
	EmptyConfigMediaType = "application/vnd.oci.empty.v1+json"
	// SimpleSigningMediaType is the media type of a cosign signature payload layer.
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// CosignSignatureAnnotation holds a layer's base64 signature in a cosign signature manifest.
	CosignSignatureAnnotation = "dev.cosignproject.cosign/signature"
	// maxSignatureManifestLayers bounds how many signatures one .sig tag may carry.
	maxSignatureManifestLayers = 256
	// maxSignaturePayload caps one simple-signing payload (a few hundred bytes in practice).
	maxSignaturePayload = 64 << 10
)

var emptyConfig = []byte("{}")

// Signature is one cosign-style signature of a manifest digest.
type Signature struct {
	Payload []byte // simple-signing JSON
	Base64  []byte // base64 signature over Payload
}

// Client pushes and pulls artifacts and cosign-style signatures.
type Client struct {
	h *hub
}

// NewClient returns a Client; it takes the same options as NewResolver
// (WithJobs, WithPlatform and WithVerifiedDigests do not apply: a Client
// always hashes what it fetches).
func NewClient(opts ...Option) *Client {
	return &Client{h: newHub(opts)}
}

// Requests returns how many HTTP requests the Client has made (every attempt).
func (c *Client) Requests() int64 { return c.h.c.total.Load() }

// Stats returns the Client's requests by kind.
func (c *Client) Stats() RequestStats { return c.h.c.stats() }

func (c *Client) remote(ctx context.Context, repo name.Repository, push bool) ([]remote.Option, error) {
	scope, key := repo.Scope(transport.PullScope), "pull "+repo.Name()
	if push {
		scope, key = repo.Scope(transport.PushScope), "push "+repo.Name()
	}
	rt, err := c.h.transport(ctx, key, repo.Registry, []string{scope})
	if err != nil {
		return nil, err
	}
	return remoteOptions(ctx, rt), nil
}

// RawManifest is a manifest pushed byte for byte (remote.Put), with its
// media type: pushing never re-encodes, so the digest is the one computed.
type RawManifest struct {
	Bytes []byte
	Type  types.MediaType
}

// RawManifest returns the bytes as given.
func (m RawManifest) RawManifest() ([]byte, error) { return m.Bytes, nil }

// MediaType returns the media type as given.
func (m RawManifest) MediaType() (types.MediaType, error) { return m.Type, nil }

// PushArtifact pushes data as an OCI artifact and tags it: an OCI image
// manifest with artifactType, the OCI 1.1 empty config
// (application/vnd.oci.empty.v1+json, "{}"), one layer of media type
// artifactType holding data, and annotations on the manifest. Both
// distribution 2.8 (Debian's docker-registry; it ignores artifactType but
// stores the bytes as sent, and accepts any config and layer media type whose
// blob exists) and go-containerregistry's pkg/registry accept it. It returns
// the manifest digest.
func (c *Client) PushArtifact(ctx context.Context, repo name.Repository, tag, artifactType string, data []byte, annotations map[string]string) (v1.Hash, error) {
	ref := repo.Tag(tag)
	fail := func(err error) (v1.Hash, error) {
		return v1.Hash{}, fmt.Errorf("push %s: %w", ref, classify(ctx, repo.RegistryStr(), err))
	}
	if _, err := name.NewTag(ref.String(), name.StrictValidation); err != nil {
		return fail(err)
	}
	ropts, err := c.remote(ctx, repo, true)
	if err != nil {
		return fail(err)
	}
	cfg := static.NewLayer(emptyConfig, EmptyConfigMediaType)
	layer := static.NewLayer(data, types.MediaType(artifactType))
	for _, l := range []v1.Layer{cfg, layer} {
		if err := remote.WriteLayer(repo, l, ropts...); err != nil {
			return fail(err)
		}
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  artifactType,
		Config:        describe(cfg),
		Layers:        []v1.Descriptor{describe(layer)},
	}
	if len(annotations) > 0 {
		m.Annotations = annotations
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fail(err)
	}
	if err := remote.Put(ref, RawManifest{Bytes: b, Type: types.OCIManifestSchema1}, ropts...); err != nil {
		return fail(err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(b))
	return h, err
}

func describe(l v1.Layer) v1.Descriptor {
	// static layers cannot fail these.
	d, _ := l.Digest()
	sz, _ := l.Size()
	mt, _ := l.MediaType()
	return v1.Descriptor{MediaType: mt, Size: sz, Digest: d}
}

// maxArtifactManifest caps the manifest of a pin artifact: one layer and a
// signature annotation fit in a few kilobytes.
const maxArtifactManifest = 64 << 10

// PullArtifact fetches an artifact pushed by PushArtifact: the manifest (its
// digest computed from the bytes), then its single layer, refused before
// download when the manifest says it is over maxSize, and checked against
// its digest and size. Errors wrap ErrNotFound when the tag or manifest does
// not exist.
func (c *Client) PullArtifact(ctx context.Context, ref name.Reference, maxSize int64) (data []byte, annotations map[string]string, digest v1.Hash, err error) {
	fail := func(err error) ([]byte, map[string]string, v1.Hash, error) {
		err = fmt.Errorf("pull %s: %w", ref, classify(ctx, ref.Context().RegistryStr(), err))
		// More data than any artifact holds is an attack on the reader
		// (endless data), not an outage.
		if tl := (*TooLargeError)(nil); errors.As(err, &tl) {
			err = exitcode.TrustError(err)
		}
		return nil, nil, v1.Hash{}, err
	}
	// The transport cuts an artifact's manifest off at its cap, whatever the
	// HEAD below said.
	ctx = withManifestLimit(ctx, maxArtifactManifest)
	ropts, err := c.remote(ctx, ref.Context(), false)
	if err != nil {
		return fail(err)
	}
	// Refuse an announced oversized manifest before GETting it.
	head, err := remote.Head(ref, ropts...)
	if err != nil {
		return fail(err)
	}
	if head.Size > maxArtifactManifest {
		return fail(&TooLargeError{What: "manifest", Size: head.Size, Limit: maxArtifactManifest})
	}
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return fail(err)
	}
	if int64(len(desc.Manifest)) > maxArtifactManifest {
		return fail(&TooLargeError{What: "manifest", Size: int64(len(desc.Manifest)), Limit: maxArtifactManifest})
	}
	// The digest is the hash of the bytes received, never a header.
	if desc.Digest, _, err = v1.SHA256(bytes.NewReader(desc.Manifest)); err != nil {
		return fail(err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return fail(fmt.Errorf("manifest %s: %w", desc.Digest, err))
	}
	if mt := bodyMediaType(desc.Manifest, desc.MediaType); !mt.IsImage() {
		return fail(fmt.Errorf("manifest %s has media type %s, not an artifact manifest", desc.Digest, mt))
	}
	if len(m.Layers) != 1 {
		return fail(fmt.Errorf("manifest %s has %d layers, want exactly 1", desc.Digest, len(m.Layers)))
	}
	data, err = c.blob(ctx, ref.Context(), m.Layers[0], maxSize, ropts)
	if err != nil {
		return fail(err)
	}
	return data, m.Annotations, desc.Digest, nil
}

// blob downloads the blob d describes, refusing it when d.Size is over max,
// and checks its size and digest.
func (c *Client) blob(ctx context.Context, repo name.Repository, d v1.Descriptor, maxSize int64, ropts []remote.Option) ([]byte, error) {
	if d.Size < 0 || d.Size > maxSize {
		return nil, &TooLargeError{What: "blob " + d.Digest.String(), Size: d.Size, Limit: maxSize}
	}
	if d.Digest.Algorithm != "sha256" {
		return nil, fmt.Errorf("blob %s: unsupported digest algorithm %q", d.Digest, d.Digest.Algorithm)
	}
	l, err := remote.Layer(repo.Digest(d.Digest.String()), ropts...)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, d.Size+1))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	if int64(len(b)) > d.Size {
		return nil, &TooLargeError{What: "blob " + d.Digest.String(), Size: -1, Limit: d.Size}
	}
	if int64(len(b)) != d.Size {
		return nil, fmt.Errorf("blob %s: got %d bytes, manifest says %d", d.Digest, len(b), d.Size)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != d.Digest.Hex {
		return nil, fmt.Errorf("blob %s: content hashes to sha256:%s", d.Digest, got)
	}
	return b, nil
}

// SignatureTag returns the cosign signature tag of digest in repo: sha256-<hex>.sig.
func SignatureTag(repo name.Repository, digest v1.Hash) name.Tag {
	return repo.Tag(digest.Algorithm + "-" + digest.Hex + ".sig")
}

// cosignSignatures is cosign's empty signature image: an OCI image manifest
// with config media type application/vnd.oci.image.config.v1+json, the form
// `cosign sign` writes and `cosign verify` reads.
func cosignSignatures() v1.Image {
	return mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
}

// PushSignature stores a cosign-style signature of digest in repo (tag
// sha256-<hex>.sig): a layer holding payload (media type
// application/vnd.dev.cosign.simplesigning.v1+json) annotated with the base64
// signature. An existing tag gets the layer appended, unless an identical
// signature is already there. Concurrent pushes to one tag may lose one
// signature (the registry has no compare-and-swap).
func (c *Client) PushSignature(ctx context.Context, repo name.Repository, digest v1.Hash, payload, sigB64 []byte) error {
	return c.PushSignatureAnnotated(ctx, repo, digest, payload, map[string]string{CosignSignatureAnnotation: string(sigB64)})
}

// PushSignatureAnnotated is PushSignature with the signature layer's
// annotations given whole: a keyless signature carries its certificate and
// Rekor entry beside the signature (cosign's dev.sigstore.cosign/certificate
// and dev.sigstore.cosign/bundle).
func (c *Client) PushSignatureAnnotated(ctx context.Context, repo name.Repository, digest v1.Hash, payload []byte, annotations map[string]string) error {
	sigB64 := annotations[CosignSignatureAnnotation]
	tag := SignatureTag(repo, digest)
	fail := func(err error) error {
		return fmt.Errorf("push signature %s: %w", tag, classify(ctx, repo.RegistryStr(), err))
	}
	ropts, err := c.remote(ctx, repo, true)
	if err != nil {
		return fail(err)
	}
	layer := static.NewLayer(payload, SimpleSigningMediaType)
	ld, _ := layer.Digest()
	base := cosignSignatures()
	existing, err := remote.Image(tag, ropts...)
	switch {
	case err == nil:
		m, err := existing.Manifest()
		if err != nil {
			return fail(err)
		}
		for _, l := range m.Layers {
			if l.Digest == ld && l.Annotations[CosignSignatureAnnotation] == sigB64 {
				return nil
			}
		}
		if len(m.Layers) >= maxSignatureManifestLayers {
			return fail(fmt.Errorf("already holds %d signatures", len(m.Layers)))
		}
		base = existing
	case !errors.Is(classify(ctx, repo.RegistryStr(), err), ErrNotFound):
		return fail(err)
	}
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:       layer,
		Annotations: annotations,
	})
	if err != nil {
		return fail(err)
	}
	if err := remote.Write(tag, img, ropts...); err != nil {
		return fail(err)
	}
	return nil
}

// PullSignatures returns the cosign-style signatures of digest in repo;
// none (and no error) when the signature tag does not exist. Payloads are
// checked against their layer digests.
func (c *Client) PullSignatures(ctx context.Context, repo name.Repository, digest v1.Hash) ([]Signature, error) {
	tag := SignatureTag(repo, digest)
	fail := func(err error) ([]Signature, error) {
		return nil, fmt.Errorf("pull signatures %s: %w", tag, classify(ctx, repo.RegistryStr(), err))
	}
	ropts, err := c.remote(ctx, repo, false)
	if err != nil {
		return fail(err)
	}
	desc, err := remote.Get(tag, ropts...)
	if err != nil {
		if errors.Is(classify(ctx, repo.RegistryStr(), err), ErrNotFound) {
			return nil, nil
		}
		return fail(err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return fail(fmt.Errorf("manifest %s: %w", desc.Digest, err))
	}
	if len(m.Layers) > maxSignatureManifestLayers {
		return fail(fmt.Errorf("manifest %s has %d layers, over the cap of %d", desc.Digest, len(m.Layers), maxSignatureManifestLayers))
	}
	var sigs []Signature
	for _, l := range m.Layers {
		if l.MediaType != SimpleSigningMediaType {
			continue
		}
		b, err := c.blob(ctx, repo, l, maxSignaturePayload, ropts)
		if err != nil {
			return fail(err)
		}
		sigs = append(sigs, Signature{Payload: b, Base64: []byte(l.Annotations[CosignSignatureAnnotation])})
	}
	return sigs, nil
}

// Tags lists repo's tags; errors wrap ErrNotFound when the repository does not exist.
func (c *Client) Tags(ctx context.Context, repo name.Repository) ([]string, error) {
	ropts, err := c.remote(ctx, repo, false)
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", repo, err)
	}
	tags, err := remote.List(repo, ropts...)
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", repo, classify(ctx, repo.RegistryStr(), err))
	}
	return tags, nil
}

// Exists reports whether ref names a manifest in the registry.
func (c *Client) Exists(ctx context.Context, ref name.Reference) (bool, error) {
	ropts, err := c.remote(ctx, ref.Context(), false)
	if err != nil {
		return false, fmt.Errorf("check %s: %w", ref, err)
	}
	_, err = remote.Head(ref, ropts...)
	if err != nil {
		var terr *transport.Error
		if errors.As(err, &terr) && terr.StatusCode == http.StatusMethodNotAllowed {
			_, err = remote.Get(ref, ropts...)
		}
	}
	switch err = classify(ctx, ref.Context().RegistryStr(), err); {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("check %s: %w", ref, err)
	}
}

// WriteImage pushes img to ref (tests and the demo seed registries with it).
func (c *Client) WriteImage(ctx context.Context, ref name.Reference, img v1.Image) error {
	return c.write(ctx, ref, func(ropts []remote.Option) error { return remote.Write(ref, img, ropts...) })
}

// WriteIndex pushes idx and its children to ref.
func (c *Client) WriteIndex(ctx context.Context, ref name.Reference, idx v1.ImageIndex) error {
	return c.write(ctx, ref, func(ropts []remote.Option) error { return remote.WriteIndex(ref, idx, ropts...) })
}

// write runs put with the options for pushing to ref's repository, and
// classifies its failure as every other registry call does.
func (c *Client) write(ctx context.Context, ref name.Reference, put func([]remote.Option) error) error {
	ropts, err := c.remote(ctx, ref.Context(), true)
	if err != nil {
		return fmt.Errorf("write %s: %w", ref, err)
	}
	if err := put(ropts); err != nil {
		return fmt.Errorf("write %s: %w", ref, classify(ctx, ref.Context().RegistryStr(), err))
	}
	return nil
}

// Transport returns the Client's authenticated transport for repo (pull, or
// push and pull), with its retries, timeouts and request counting: for a
// package that drives go-containerregistry's remote itself (mirror copies
// blob by blob) without losing what the Client layers on top.
func (c *Client) Transport(ctx context.Context, repo name.Repository, push bool) (http.RoundTripper, error) {
	scope, key := repo.Scope(transport.PullScope), "pull "+repo.Name()
	if push {
		scope, key = repo.Scope(transport.PushScope), "push "+repo.Name()
	}
	return c.h.transport(ctx, key, repo.Registry, []string{scope})
}

// Classify wraps err from a request to host with the registry package's
// sentinels (ErrNotFound, ErrUnreachable), as the Client's own methods do.
func Classify(ctx context.Context, host string, err error) error { return classify(ctx, host, err) }
