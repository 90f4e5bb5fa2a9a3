package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// updateRefs is the demo's size: the storage service's 18 applications and
// 2 sidecars.
const updateRefs = 20

// Names of the `pin update` cases: a consumer trusting a plain key on a
// store without a root (as every consumer did before roots of trust), and
// one trusting a root of trust that is current (the probe for root N+1).
const (
	updateKeys = "pin update, keys: list"
	updateRoot = "pin update, root of trust (current)"
)

// benchUpdate measures `pin update` of a project that pins 20 references,
// already pinned (the run changes nothing: what a scheduled update costs),
// reading its release store, an OCI repository, through the proxy. The store
// is published with pin itself straight to the registry (the proxy grants
// pull only): release 1.0.0 on stable, then, for the second case, a root of
// trust.
func benchUpdate(ctx context.Context, c config, e *env, pin, dir string, logf func(string, ...any)) ([]result, error) {
	if len(e.Refs) < updateRefs {
		return nil, fmt.Errorf("pin update needs %d seeded repositories, %d were", updateRefs, len(e.Refs))
	}
	producer := filepath.Join(dir, "producer")
	if err := os.MkdirAll(producer, 0o755); err != nil {
		return nil, err
	}
	keyEnv, err := benchKey(producer)
	if err != nil {
		return nil, err
	}
	environ := append(e.Env(), keyEnv)
	run := func(wd string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, pin, args...)
		cmd.Dir, cmd.Env = wd, environ
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("pin %s: %w\n%s", strings.Join(args, " "), err, tail(string(out)))
		}
		return string(out), nil
	}
	repo := "bench/pin-releases"
	var rc, tf strings.Builder
	fmt.Fprintf(&rc, "product: storage-service\nsource: https://github.com/wellcomecollection/storage-service\nstore: oci://%s/%s\nchannels:\n  stable: {ttl: 720h}\ncomponents:\n", e.Direct, repo)
	tf.WriteString("locals {\n  images = {\n")
	for i, ref := range e.Refs[:updateRefs] {
		direct := e.Direct + strings.TrimPrefix(ref, e.Addr)
		fmt.Fprintf(&rc, "  - name: svc-%04d\n    image: %s\n", i, direct)
		fmt.Fprintf(&tf, "    svc_%04d = %q\n", i, direct)
	}
	tf.WriteString("  }\n}\n")
	if err := os.WriteFile(filepath.Join(producer, "release.yaml"), []byte(rc.String()), 0o644); err != nil {
		return nil, err
	}
	logf("pin update: publishing release 1.0.0 with pin")
	if _, err := run(producer, "release", "create", "1.0.0", "--channel", "stable", "--key", "env://PIN_BENCH_KEY"); err != nil {
		return nil, err
	}
	source := "oci://" + e.Addr + "/" + repo
	project := func(name string, trust ...string) (string, error) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(p, "main.tf"), []byte(tf.String()), 0o644); err != nil {
			return "", err
		}
		if _, err := run(p, append([]string{"init", "--source", source, "--channel", "stable"}, trust...)...); err != nil {
			return "", err
		}
		_, err := run(p, "update") // pins the 20 references: the measured runs change nothing
		return p, err
	}
	measureUpdate := func(tool, wd, trust string) (result, error) {
		logf("%s: %d runs", tool, c.Runs)
		r := result{Tool: tool, Refs: updateRefs, Command: "pin update (pin.yaml: " + trust + ")"}
		inv := invocation{argv: []string{pin, "update"}, dir: wd, env: []string{keyEnv}, check: func(out string) error {
			if !strings.Contains(out, "1.0.0") {
				return fmt.Errorf("does not name release 1.0.0: %q", out)
			}
			return nil
		}}
		s, err := measure(ctx, e, c.Runs, inv)
		if err != nil {
			return r, fmt.Errorf("%s: %w", tool, err)
		}
		r.Samples = s
		logf("  median %s, %d requests", r.median().Round(1e6), r.last().requests)
		return r, nil
	}

	keysProject, err := project("consumer-keys", "--key-file", filepath.Join(producer, "release.pub"))
	if err != nil {
		return nil, err
	}
	keys, err := measureUpdate(updateKeys, keysProject, "keys: [release.pub], store without a root")
	if err != nil {
		return nil, err
	}

	logf("pin update: publishing a root of trust with pin")
	pub := filepath.Join(producer, "release.pub")
	if _, err := run(producer, "root", "init", "--product", "storage-service", "--root-key", pub, "--release-key", pub, "--index-key", pub); err != nil {
		return nil, err
	}
	if _, err := run(producer, "root", "sign", "root.json", "--key", "env://PIN_BENCH_KEY"); err != nil {
		return nil, err
	}
	out, err := run(producer, "root", "publish", "root.json")
	if err != nil {
		return nil, err
	}
	m := regexp.MustCompile(`sha256 ([0-9a-f]{64})`).FindStringSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("pin root publish printed no fingerprint: %s", out)
	}
	rootProject, err := project("consumer-root", "--root-sha256", m[1])
	if err != nil {
		return nil, err
	}
	rooted, err := measureUpdate(updateRoot, rootProject, "root: version 1, current")
	if err != nil {
		return nil, err
	}
	return []result{keys, rooted}, nil
}

// benchKey makes an unencrypted P-256 key for env:// (no scrypt: the
// harness measures updates, not key loading) and writes release.pub.
func benchKey(dir string) (string, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "release.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		return "", err
	}
	return "PIN_BENCH_KEY=" + string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
}
