package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/wellcomecollection/pin/signing"
)

func TestHeadFallback(t *testing.T) {
	host := newRegistry(t)
	s := seed(t, host, "x")
	tests := []struct {
		name string
		head func(w http.ResponseWriter)
	}{
		{"405", func(w http.ResponseWriter) { w.WriteHeader(http.StatusMethodNotAllowed) }},
		{"no digest header", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			w.Header().Set("Content-Length", "10")
			w.WriteHeader(http.StatusOK)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gets int
			p := proxy(t, host, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
				if strings.Contains(r.URL.Path, "/manifests/") {
					if r.Method == http.MethodHead {
						tt.head(w)
						return
					}
					gets++
				}
				next.ServeHTTP(w, r)
			})
			res, err := NewResolver(fast).ResolveOne(context.Background(), p+"/x:img")
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest != s.image.String() || gets != 1 {
				t.Errorf("digest %s after %d GETs, want %s after 1", res.Digest, gets, s.image)
			}
		})
	}
}

func TestArtifactRoundTrip(t *testing.T) {
	host := newRegistry(t)
	repo, err := name.NewRepository(host + "/releases/storage-service")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := NewClient(fast)
	data := []byte(`{"kind":"Release","version":"1.5.0"}`)
	const mt = "application/vnd.example.release.v1+json"
	ann := map[string]string{"dev.wellcomecollection.pin/signature": "c2ln"}
	d, err := c.PushArtifact(ctx, repo, "1.5.0", mt, data, ann)
	if err != nil {
		t.Fatal(err)
	}

	// The manifest is what the comment on PushArtifact promises.
	desc, err := remote.Get(repo.Tag("1.5.0"))
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != d {
		t.Errorf("pushed digest %s, registry has %s", d, desc.Digest)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.ArtifactType != mt || m.Config.MediaType != EmptyConfigMediaType || m.Config.Size != 2 ||
		len(m.Layers) != 1 || m.Layers[0].MediaType != mt || m.Layers[0].Size != int64(len(data)) {
		t.Errorf("unexpected manifest %s", desc.Manifest)
	}

	tests := []struct {
		name    string
		ref     name.Reference
		max     int64
		wantErr error
		errText string
	}{
		{name: "by tag", ref: repo.Tag("1.5.0"), max: 1 << 20},
		{name: "by digest", ref: repo.Digest(d.String()), max: 1 << 20},
		{name: "exact cap", ref: repo.Tag("1.5.0"), max: int64(len(data))},
		{name: "over cap", ref: repo.Tag("1.5.0"), max: int64(len(data)) - 1, errText: "over the"},
		{name: "missing tag", ref: repo.Tag("9.9.9"), max: 1 << 20, wantErr: ErrNotFound},
		{name: "missing repo", ref: repo.Registry.Repo("nope").Tag("1"), max: 1 << 20, wantErr: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blobsBefore := c.Stats().Blobs
			got, gotAnn, gotD, err := c.PullArtifact(ctx, tt.ref, tt.max)
			switch {
			case tt.wantErr != nil || tt.errText != "":
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %v %q", err, tt.wantErr, tt.errText)
				}
				if !strings.Contains(err.Error(), tt.ref.String()) {
					t.Errorf("error %q does not name %s", err, tt.ref)
				}
				if tt.errText != "" && c.Stats().Blobs != blobsBefore {
					t.Errorf("an over-cap layer was downloaded")
				}
			case err != nil:
				t.Fatal(err)
			default:
				if !bytes.Equal(got, data) || gotD != d || gotAnn["dev.wellcomecollection.pin/signature"] != "c2ln" {
					t.Errorf("got %q %v %s", got, gotAnn, gotD)
				}
			}
		})
	}

	if _, err := c.PushArtifact(ctx, repo, "bad tag!", mt, data, nil); err == nil {
		t.Error("an invalid tag was accepted")
	}
	ok, err := c.Exists(ctx, repo.Tag("1.5.0"))
	if err != nil || !ok {
		t.Errorf("Exists(1.5.0) = %v, %v", ok, err)
	}
	ok, err = c.Exists(ctx, repo.Tag("2.0.0"))
	if err != nil || ok {
		t.Errorf("Exists(2.0.0) = %v, %v", ok, err)
	}
	if _, err := c.PushArtifact(ctx, repo, "channel-stable", mt, []byte("{}"), nil); err != nil {
		t.Fatal(err)
	}
	tags, err := c.Tags(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(tags)
	if !slices.Equal(tags, []string{"1.5.0", "channel-stable"}) {
		t.Errorf("tags %v", tags)
	}
}

func TestArtifactTamperedLayer(t *testing.T) {
	host := newRegistry(t)
	repo, _ := name.NewRepository(host + "/r")
	ctx := context.Background()
	c := NewClient(fast)
	if _, err := c.PushArtifact(ctx, repo, "1", "application/x-test", []byte("genuine"), nil); err != nil {
		t.Fatal(err)
	}
	p := proxy(t, host, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if strings.Contains(r.URL.Path, "/blobs/") && r.Method == http.MethodGet {
			w.Write([]byte("forgery"))
			return
		}
		next.ServeHTTP(w, r)
	})
	prepo, _ := name.NewRepository(p + "/r")
	if _, _, _, err := c.PullArtifact(ctx, prepo.Tag("1"), 1<<20); err == nil {
		t.Fatal("a layer whose bytes do not match its digest was accepted")
	}
}

func TestSignatures(t *testing.T) {
	host := newRegistry(t)
	repo, _ := name.NewRepository(host + "/releases")
	ctx := context.Background()
	c := NewClient(fast)
	d, err := c.PushArtifact(ctx, repo, "1.5.0", "application/x-test", []byte("doc"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := c.PullSignatures(ctx, repo, d)
	if err != nil || len(sigs) != 0 {
		t.Fatalf("before signing: %v, %v", sigs, err)
	}

	var signers []*signing.Signer
	pubs := map[string][]byte{}
	for _, k := range []string{"a", "b"} {
		priv, pub, err := signing.GenerateKeyPair([]byte("pw"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := signing.LoadPrivateKey(priv, []byte("pw"))
		if err != nil {
			t.Fatal(err)
		}
		signers = append(signers, s)
		pubs[k] = pub
	}
	dref := repo.Digest(d.String())
	payloadA, sigA, err := signers[0].SignImage(ctx, dref)
	if err != nil {
		t.Fatal(err)
	}
	payloadB, sigB, err := signers[1].SignImage(ctx, dref)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		payload, sig []byte
		want         int
	}{
		{payloadA, sigA, 1},
		{payloadA, sigA, 1}, // identical: not duplicated
		{payloadB, sigB, 2}, // another key: appended
	}
	for i, st := range steps {
		if err := c.PushSignature(ctx, repo, d, st.payload, st.sig); err != nil {
			t.Fatal(err)
		}
		sigs, err = c.PullSignatures(ctx, repo, d)
		if err != nil {
			t.Fatal(err)
		}
		if len(sigs) != st.want {
			t.Fatalf("step %d: %d signatures, want %d", i, len(sigs), st.want)
		}
	}
	for i, pk := range []string{"a", "b"} {
		v, err := signing.NewVerifier(map[string][]byte{pk: pubs[pk]})
		if err != nil {
			t.Fatal(err)
		}
		if err := v.VerifyImage(ctx, sigs[i].Payload, sigs[i].Base64, dref); err != nil {
			t.Errorf("signature %d: %v", i, err)
		}
	}

	// The signature manifest has the shape cosign writes and reads.
	if got, want := SignatureTag(repo, d).TagStr(), "sha256-"+d.Hex+".sig"; got != want {
		t.Errorf("signature tag %s, want %s", got, want)
	}
	desc, err := remote.Get(repo.Tag("sha256-" + d.Hex + ".sig"))
	if err != nil {
		t.Fatal(err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON || len(m.Layers) != 2 ||
		m.Layers[0].MediaType != SimpleSigningMediaType || m.Layers[0].Annotations[CosignSignatureAnnotation] != string(sigA) {
		t.Errorf("signature manifest %s", desc.Manifest)
	}
}

func TestWriteImageIndex(t *testing.T) {
	host := newRegistry(t)
	c := NewClient(fast)
	ctx := context.Background()
	src := newRegistry(t)
	s := seed(t, src, "x")
	img, err := remote.Image(mustRef(t, src+"/x:img"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(mustRef(t, src+"/x:idx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteImage(ctx, mustRef(t, host+"/y:img"), img); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteIndex(ctx, mustRef(t, host+"/y:idx"), idx); err != nil {
		t.Fatal(err)
	}
	res := NewResolver().Resolve(ctx, []string{host + "/y:img", host + "/y:idx"}, nil)
	if res[0].Digest != s.image.String() || res[1].Digest != s.index.String() {
		t.Errorf("copied %s %s, want %s %s", res[0].Digest, res[1].Digest, s.image, s.index)
	}
}

func mustRef(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
