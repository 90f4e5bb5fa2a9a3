package channels_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
	"github.com/wellcomecollection/pin/signing"
)

func ociRegistry(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func ociKey(t *testing.T) (*signing.Signer, *signing.Verifier) {
	t.Helper()
	s, err := signing.NewEphemeralSigner()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := s.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	v, err := signing.NewVerifier(map[string][]byte{"test.pub": pub})
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func signedDoc(t *testing.T, s *signing.Signer, body string) channels.Document {
	t.Helper()
	sig, err := s.SignBlob(context.Background(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return channels.Document{Bytes: []byte(body), Signature: sig}
}

func TestOCIStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	host := ociRegistry(t)
	signer, verifier := ociKey(t)
	fastRetry := registry.WithRetry(time.Millisecond, 2)
	tests := []struct {
		name     string
		location string
		signer   *signing.Signer
	}{
		{"unsigned, oci:// prefix", "oci://" + host + "/releases/a", nil},
		{"image-signed, bare", host + "/releases/b", signer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []channels.OCIOption
			opts = append(opts, channels.WithRegistryOptions(fastRetry))
			if tt.signer != nil {
				opts = append(opts, channels.WithImageSigner(tt.signer))
			}
			st, err := channels.NewOCIStore(tt.location, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if want := "oci://" + strings.TrimPrefix(tt.location, "oci://"); st.String() != want {
				t.Errorf("String() = %q, want %q", st.String(), want)
			}

			rel := signedDoc(t, signer, `{"kind":"Release","version":"1.5.0-edge.3"}`)
			ch1 := signedDoc(t, signer, `{"kind":"Channel","sequence":1}`)
			ch2 := signedDoc(t, signer, `{"kind":"Channel","sequence":2}`)

			if _, err := st.GetRelease(ctx, "1.5.0-edge.3"); !errors.Is(err, channels.ErrNotFound) {
				t.Errorf("GetRelease before publishing: %v, want ErrNotFound", err)
			}
			if _, err := st.GetChannel(ctx, "edge"); !errors.Is(err, channels.ErrNotFound) {
				t.Errorf("GetChannel before publishing: %v, want ErrNotFound", err)
			}
			if err := st.PutRelease(ctx, "1.5.0-edge.3", rel); err != nil {
				t.Fatal(err)
			}
			if err := st.PutRelease(ctx, "1.5.0-edge.3", ch1); !errors.Is(err, channels.ErrExists) {
				t.Errorf("second PutRelease: %v, want ErrExists", err)
			}
			for _, doc := range []channels.Document{ch1, ch2} {
				if err := st.PutChannel(ctx, "edge", doc); err != nil {
					t.Fatal(err)
				}
			}

			got, err := st.GetRelease(ctx, "1.5.0-edge.3")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes, rel.Bytes) || !bytes.Equal(got.Signature, rel.Signature) {
				t.Errorf("release round trip: got %q / %q", got.Bytes, got.Signature)
			}
			if _, err := verifier.VerifyBlob(ctx, got.Bytes, got.Signature); err != nil {
				t.Errorf("release signature: %v", err)
			}
			got, err = st.GetChannel(ctx, "edge")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes, ch2.Bytes) || !bytes.Equal(got.Signature, ch2.Signature) {
				t.Errorf("channel is %q, want the second publish", got.Bytes)
			}

			// Layout: tags, artifact types.
			repo := st.Repository()
			tags, err := st.Client().Tags(ctx, repo)
			if err != nil {
				t.Fatal(err)
			}
			var sigTags int
			for _, tg := range tags {
				if strings.HasSuffix(tg, ".sig") {
					sigTags++
				}
			}
			wantSigTags := 0
			if tt.signer != nil {
				wantSigTags = 3 // the release and both channel versions
			}
			if len(tags) != 2+wantSigTags || sigTags != wantSigTags {
				t.Errorf("tags %v", tags)
			}
			for tag, mt := range map[string]string{"1.5.0-edge.3": manifest.ReleaseMediaType, "channel-edge": manifest.ChannelMediaType} {
				desc, err := remote.Get(repo.Tag(tag))
				if err != nil {
					t.Fatal(err)
				}
				if desc.ArtifactType != mt {
					t.Errorf("%s: artifactType %q, want %q", tag, desc.ArtifactType, mt)
				}
				sigs, err := st.Client().PullSignatures(ctx, repo, desc.Digest)
				if err != nil {
					t.Fatal(err)
				}
				if wantSigs := min(wantSigTags, 1); len(sigs) != wantSigs {
					t.Errorf("%s: %d cosign signatures", tag, len(sigs))
				}
				for _, sg := range sigs {
					if err := verifier.VerifyImage(ctx, sg.Payload, sg.Base64, repo.Digest(desc.Digest.String())); err != nil {
						t.Errorf("%s: cosign signature: %v", tag, err)
					}
				}
			}
		})
	}
}

func TestOCIStoreBadInput(t *testing.T) {
	ctx := context.Background()
	host := ociRegistry(t)
	if _, err := channels.NewOCIStore("oci://" + host + "/UPPER case"); err == nil {
		t.Error("an invalid repository was accepted")
	}
	st, err := channels.NewOCIStore(host+"/r", channels.WithRegistryOptions(registry.WithRetry(time.Millisecond, 2)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  func() error
	}{
		{"release version with build metadata", func() error {
			return st.PutRelease(ctx, "1.5.0+build", channels.Document{Bytes: []byte("x")})
		}},
		{"channel with a slash", func() error { _, err := st.GetChannel(ctx, "../x"); return err }},
		{"release over the cap", func() error {
			return st.PutRelease(ctx, "1.0.0", channels.Document{Bytes: make([]byte, manifest.MaxDocumentSize+1)})
		}},
	}
	for _, tt := range tests {
		if err := tt.err(); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	// An artifact over the cap pushed by someone else is refused on read.
	c := registry.NewClient()
	big := bytes.Repeat([]byte("a"), manifest.MaxDocumentSize+1)
	if _, err := c.PushArtifact(ctx, st.Repository(), "9.9.9", manifest.ReleaseMediaType, big, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetRelease(ctx, "9.9.9"); err == nil || errors.Is(err, channels.ErrNotFound) || !strings.Contains(err.Error(), "cap") {
		t.Errorf("over-cap release: %v", err)
	}
}

func TestOCIStoreUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close()
	st, err := channels.NewOCIStore(host+"/r", channels.WithRegistryOptions(registry.WithRetry(time.Millisecond, 1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.GetChannel(context.Background(), "stable")
	if !errors.Is(err, registry.ErrUnreachable) || errors.Is(err, channels.ErrNotFound) || !strings.Contains(err.Error(), host) {
		t.Errorf("err = %v, want ErrUnreachable naming %s", err, host)
	}
}

// TestOCIStorePublishAndRead runs the producer and consumer halves of the
// channels package over the OCI store.
func TestOCIStorePublishAndRead(t *testing.T) {
	ctx := context.Background()
	signer, verifier := ociKey(t)
	st, err := channels.NewOCIStore(ociRegistry(t)+"/storage-service-releases", channels.WithImageSigner(signer))
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }
	pub := &channels.Publisher{Store: st, Signer: signer, Product: "storage-service", Now: now}
	rel := &manifest.Release{
		SchemaVersion: manifest.SchemaVersion,
		Kind:          manifest.KindRelease,
		Product:       "storage-service",
		Version:       "1.5.0-edge.1",
		Source:        manifest.Source{Repository: "https://github.com/wellcomecollection/storage-service"},
		Components: []manifest.Component{{
			Name: "bags_api", Repository: "public.ecr.aws/y1p3h6z3/bags_api", Tag: "latest",
			Digest: manifest.Digest([]byte("bags")), MediaType: "application/vnd.oci.image.manifest.v1+json",
		}},
	}
	p, err := pub.Create(ctx, rel, "edge", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := channels.NewReader(st, channels.Keys(verifier), channels.TrustOptions{Product: "storage-service", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	vc, err := rd.Channel(ctx, "edge")
	if err != nil {
		t.Fatal(err)
	}
	if len(vc.Index.Releases) != 1 || vc.Index.Releases[0].Digest != p.ReleaseDigest {
		t.Fatalf("edge lists %+v, want %s", vc.Index.Releases, p.ReleaseDigest)
	}
	vr, err := rd.Release(ctx, vc.Index.Releases[0])
	if err != nil {
		t.Fatal(err)
	}
	if vr.Release.Version != "1.5.0-edge.1" {
		t.Errorf("read back %s", vr.Release.Version)
	}
}
