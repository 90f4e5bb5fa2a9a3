package testenv

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestRegistryPushAndReadBack(t *testing.T) {
	reg := Registry(t)
	if !strings.HasPrefix(reg, "127.0.0.1:") {
		t.Fatalf("Registry() = %q, want 127.0.0.1:PORT", reg)
	}

	t.Run("single image", func(t *testing.T) {
		ref := reg + "/storage/bags_api:latest"
		want := PushRandomImage(t, ref, 1)
		desc, err := remote.Get(mustRef(t, ref))
		if err != nil {
			t.Fatalf("read back %s: %v", ref, err)
		}
		if desc.Digest != want {
			t.Errorf("registry serves %s, pushed %s", desc.Digest, want)
		}
		if desc.MediaType.IsIndex() {
			t.Errorf("single image came back as index (%s)", desc.MediaType)
		}
	})

	t.Run("index", func(t *testing.T) {
		ref := reg + "/storage/ingests_api:latest"
		want := PushRandomImage(t, ref, 2)
		desc, err := remote.Get(mustRef(t, ref))
		if err != nil {
			t.Fatalf("read back %s: %v", ref, err)
		}
		if desc.Digest != want {
			t.Errorf("registry serves %s, pushed %s", desc.Digest, want)
		}
		idx, err := desc.ImageIndex()
		if err != nil {
			t.Fatalf("%s is not an index: %v", ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatalf("index manifest: %v", err)
		}
		var got []string
		for _, m := range im.Manifests {
			if m.Platform == nil {
				t.Fatalf("child %s has no platform", m.Digest)
			}
			got = append(got, m.Platform.String())
			// Every child must have been pushed too.
			if _, err := remote.Get(mustRef(t, reg+"/storage/ingests_api@"+m.Digest.String())); err != nil {
				t.Errorf("child %s: %v", m.Digest, err)
			}
		}
		if strings.Join(got, ",") != "linux/amd64,linux/arm64" {
			t.Errorf("platforms = %v, want linux/amd64, linux/arm64", got)
		}
	})

	t.Run("delete enabled", func(t *testing.T) {
		ref := reg + "/storage/notifier:latest"
		d := PushRandomImage(t, ref, 1)
		dr := mustRef(t, reg+"/storage/notifier@"+d.String())
		if err := remote.Delete(dr); err != nil {
			t.Fatalf("delete %s: %v", dr, err)
		}
		if _, err := remote.Get(dr); err == nil {
			t.Errorf("%s still served after delete", dr)
		}
	})
}

func TestRegistriesAreSeparateAndStopped(t *testing.T) {
	var first string
	t.Run("first", func(t *testing.T) {
		first = Registry(t)
		PushRandomImage(t, first+"/a:latest", 1)
		second := Registry(t)
		if second == first {
			t.Fatalf("two calls share %s", first)
		}
		if _, err := remote.Get(mustRef(t, second+"/a:latest")); err == nil {
			t.Errorf("image pushed to %s is visible in %s", first, second)
		}
	})
	// The subtest's cleanup has run: its registry must be gone.
	client := &http.Client{Timeout: time.Second}
	resp, err := client.Get("http://" + first + "/v2/")
	if err == nil {
		resp.Body.Close()
		t.Errorf("registry %s still answers after its test ended", first)
	}
}

func TestRegistryStartTime(t *testing.T) {
	if RegistryBinary() == "" {
		Registry(t) // skips or fails with the reason
	}
	const n = 5
	start := time.Now()
	for i := 0; i < n; i++ {
		t.Run("start", func(t *testing.T) { Registry(t) })
	}
	per := time.Since(start) / n
	t.Logf("docker-registry start+stop: %s each (mean of %d)", per.Round(time.Millisecond), n)
	if per > 3*time.Second {
		t.Errorf("starting a registry takes %s; tests assume well under a second", per)
	}
}

func TestMissingSkipsOrFails(t *testing.T) {
	t.Setenv(IntegrationEnv, "")
	ft := &fakeTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		missing(ft, "tool not installed")
	}()
	if !ft.skipped || ft.failed {
		t.Errorf("without %s: skipped=%v failed=%v, want a skip", IntegrationEnv, ft.skipped, ft.failed)
	}

	t.Setenv(IntegrationEnv, "1")
	ft = &fakeTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		missing(ft, "tool not installed")
	}()
	if ft.skipped || !ft.failed {
		t.Errorf("with %s=1: skipped=%v failed=%v, want a failure", IntegrationEnv, ft.skipped, ft.failed)
	}
	if !strings.Contains(ft.msg, "tool not installed") {
		t.Errorf("message %q does not give the reason", ft.msg)
	}
}

// fakeTB records Skip and Fatal instead of stopping the goroutine; it panics
// to unwind like runtime.Goexit would.
type fakeTB struct {
	testing.TB
	skipped, failed bool
	msg             string
}

type stop struct{}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Skip(args ...any) {
	f.skipped = true
	f.msg = fmt.Sprint(args...)
	panic(stop{})
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
	panic(stop{})
}

func TestCosignRuns(t *testing.T) {
	stdout, stderr, err := RunCosign(t, "version")
	if err != nil {
		t.Fatalf("cosign version: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout+stderr, "GitVersion") {
		t.Errorf("cosign version printed no GitVersion:\n%s%s", stdout, stderr)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return r
}
