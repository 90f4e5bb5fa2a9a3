package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	awskms "github.com/sigstore/sigstore/pkg/signature/kms/aws"
)

// LocalKMSVersion is the local-kms (an AWS KMS API emulator) that
// scripts/install-test-deps.sh installs with go install.
const LocalKMSVersion = "v0.0.0-20260228092603-2a5e92d09ab6"

// kmsStartTimeout bounds how long LocalKMS waits for the emulator to answer.
const kmsStartTimeout = 15 * time.Second

// kmsStartedRE matches the line local-kms logs once it is listening; with
// PORT=0 the kernel picks the port and this line is the only place it shows.
var kmsStartedRE = regexp.MustCompile(`Local KMS started on [0-9.]+:([0-9]+)`)

// LocalKMSBinary returns the path of local-kms (PATH first, then
// $(go env GOPATH)/bin), or "" when it is not installed.
func LocalKMSBinary() string {
	if p, err := exec.LookPath("local-kms"); err == nil {
		return p
	}
	for _, dir := range gopathBins() {
		p := filepath.Join(dir, "local-kms")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// LocalKMS starts a fresh local-kms with its data in t.TempDir(), waits until
// it answers a KMS API call, and stops it when the test ends. It returns the
// endpoint, "http://127.0.0.1:PORT", for AWS_ENDPOINT_URL.
//
// local-kms listens on every interface of the machine (it has no option to
// bind loopback only); tests speak to it over 127.0.0.1 and it holds only
// throwaway keys. Use it in tests only.
//
// Callers point the AWS SDK at it with SetAWSEnv.
func LocalKMS(t testing.TB) string {
	t.Helper()
	bin := LocalKMSBinary()
	if bin == "" {
		missing(t, "local-kms not installed: run make test, which installs it (scripts/install-test-deps.sh kms)")
	}
	dir := t.TempDir()
	started := time.Now()
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PORT=0",
		"KMS_DATA_PATH="+filepath.Join(dir, "data"),
		"KMS_SEED_PATH="+filepath.Join(dir, "no-seed.yaml"),
		"KMS_REGION=eu-west-1",
	)
	out := &lockedBuffer{}
	cmd.Stdout = out
	cmd.Stderr = out
	setProcAttr(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("run %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	endpoint, err := waitKMS(out, exited)
	if err != nil {
		stop()
		t.Fatalf("start %s: %v; its output:\n%s", bin, err, out.String())
	}
	t.Logf("local-kms on %s ready in %s", endpoint, time.Since(started).Round(time.Millisecond))
	t.Cleanup(stop)
	return endpoint
}

// waitKMS waits for local-kms to log its port, then until a ListKeys call
// answers 200.
func waitKMS(out *lockedBuffer, exited <-chan error) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kmsStartTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	endpoint := ""
	var last error
	for {
		if endpoint == "" {
			if m := kmsStartedRE.FindStringSubmatch(out.String()); m != nil {
				endpoint = "http://127.0.0.1:" + m[1]
			}
		}
		if endpoint != "" {
			if _, last = listKeys(ctx, client, endpoint); last == nil {
				return endpoint, nil
			}
		}
		select {
		case err := <-exited:
			return "", fmt.Errorf("local-kms exited before it answered: %v", err)
		case <-ctx.Done():
			if endpoint == "" {
				return "", fmt.Errorf("local-kms did not say which port it listens on within %s", kmsStartTimeout)
			}
			return "", fmt.Errorf("%s did not answer within %s: %v", endpoint, kmsStartTimeout, last)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// listKeys makes one unsigned KMS API call (local-kms checks no signatures)
// and returns the JSON answer.
func listKeys(ctx context.Context, client *http.Client, endpoint string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader("{}"))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService.ListKeys")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ListKeys: %s", resp.Status)
	}
	return body, nil
}

// SetAWSEnv points the AWS SDK of this test process at a local-kms endpoint
// with dummy credentials, for the rest of the test (t.Setenv: the test must
// not be parallel). Shared config and credentials files are pointed at paths
// that do not exist, so no profile of the machine's user is read and nothing
// can reach AWS.
func SetAWSEnv(t testing.TB, endpoint string) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL":            endpoint,
		"AWS_ACCESS_KEY_ID":           "pin-test",
		"AWS_SECRET_ACCESS_KEY":       "pin-test-secret",
		"AWS_SESSION_TOKEN":           "",
		"AWS_REGION":                  "eu-west-1",
		"AWS_DEFAULT_REGION":          "eu-west-1",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             none,
		"AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL_KMS":        "",
	} {
		setenv(t, k, v)
	}
}

// setenv is t.Setenv for the testing.TB interface.
func setenv(t testing.TB, k, v string) {
	t.Helper()
	if s, ok := t.(interface{ Setenv(string, string) }); ok {
		s.Setenv(k, v)
		return
	}
	t.Fatalf("SetAWSEnv needs a *testing.T or *testing.B to set %s", k)
}

// CreateKMSKey creates a signing key of spec (ECC_NIST_P256, say) in the
// KMS that SetAWSEnv pointed the SDK at, under alias (alias/NAME), the way
// `cosign generate-key-pair --kms` does, and returns its reference
// awskms:///alias/NAME.
func CreateKMSKey(t testing.TB, alias, spec string) string {
	t.Helper()
	ref := "awskms:///" + alias
	ctx, cancel := context.WithTimeout(context.Background(), kmsStartTimeout)
	defer cancel()
	sv, err := awskms.LoadSignerVerifier(ctx, ref)
	if err != nil {
		t.Fatalf("load %s: %v", ref, err)
	}
	if _, err := sv.CreateKey(ctx, spec); err != nil {
		t.Fatalf("create %s key %s: %v", spec, ref, err)
	}
	return ref
}
