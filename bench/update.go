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
// reading its release store, an OCI repository, through the proxy. pin itself
// publishes two stores straight to the registry (the proxy grants pull only),
// each with release 1.0.0 on stable: one without a root, read by a project
// whose pin.yaml lists the key, and one under a root of trust, read by a
// project that trusts the root. The two cases' runs alternate, so a change
// of the machine's load weighs on both alike.
func benchUpdate(ctx context.Context, c config, e *env, pin, dir string, logf func(string, ...any)) ([]result, error) {
	if len(e.Refs) < updateRefs {
		return nil, fmt.Errorf("pin update needs %d seeded repositories, %d were", updateRefs, len(e.Refs))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	keyEnv, err := benchKey(dir)
	if err != nil {
		return nil, err
	}
	pub := filepath.Join(dir, "release.pub")
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
	var tf strings.Builder
	tf.WriteString("locals {\n  images = {\n")
	for i, ref := range e.Refs[:updateRefs] {
		fmt.Fprintf(&tf, "    svc_%04d = %q\n", i, e.Direct+strings.TrimPrefix(ref, e.Addr))
	}
	tf.WriteString("  }\n}\n")
	// store publishes release 1.0.0 into repo (after a root of trust, when
	// rooted) and pins a project to it; it returns the project's directory.
	store := func(name string, rooted bool) (string, error) {
		producer := filepath.Join(dir, "producer-"+name)
		if err := os.MkdirAll(producer, 0o755); err != nil {
			return "", err
		}
		repo := "bench/pin-releases-" + name
		var rc strings.Builder
		fmt.Fprintf(&rc, "product: storage-service\nsource: https://github.com/wellcomecollection/storage-service\nstore: oci://%s/%s\nchannels:\n  stable: {ttl: 720h}\ncomponents:\n", e.Direct, repo)
		for i, ref := range e.Refs[:updateRefs] {
			fmt.Fprintf(&rc, "  - name: svc-%04d\n    image: %s\n", i, e.Direct+strings.TrimPrefix(ref, e.Addr))
		}
		if err := os.WriteFile(filepath.Join(producer, "release.yaml"), []byte(rc.String()), 0o644); err != nil {
			return "", err
		}
		trust := []string{"--key-file", pub}
		if rooted {
			logf("pin update: publishing a root of trust with pin")
			if _, err := run(producer, "root", "init", "--product", "storage-service", "--root-key", pub, "--release-key", pub, "--index-key", pub); err != nil {
				return "", err
			}
			if _, err := run(producer, "root", "sign", "root.json", "--key", "env://PIN_BENCH_KEY"); err != nil {
				return "", err
			}
			out, err := run(producer, "root", "publish", "root.json")
			if err != nil {
				return "", err
			}
			m := regexp.MustCompile(`sha256 ([0-9a-f]{64})`).FindStringSubmatch(out)
			if m == nil {
				return "", fmt.Errorf("pin root publish printed no fingerprint: %s", out)
			}
			trust = []string{"--root-sha256", m[1]}
		}
		logf("pin update: publishing release 1.0.0 to %s with pin", repo)
		if _, err := run(producer, "release", "create", "1.0.0", "--channel", "stable", "--key", "env://PIN_BENCH_KEY"); err != nil {
			return "", err
		}
		project := filepath.Join(dir, "consumer-"+name)
		if err := os.MkdirAll(project, 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(project, "main.tf"), []byte(tf.String()), 0o644); err != nil {
			return "", err
		}
		source := "oci://" + e.Addr + "/" + repo
		if _, err := run(project, append([]string{"init", "--source", source, "--channel", "stable"}, trust...)...); err != nil {
			return "", err
		}
		_, err := run(project, "update") // pins the 20 references: the measured runs change nothing
		return project, err
	}
	keysProject, err := store("keys", false)
	if err != nil {
		return nil, err
	}
	rootProject, err := store("root", true)
	if err != nil {
		return nil, err
	}
	cases := []result{
		{Tool: updateKeys, Refs: updateRefs, Command: "pin update (pin.yaml: keys: [release.pub]; the store has no root)"},
		{Tool: updateRoot, Refs: updateRefs, Command: "pin update (pin.yaml: root: version 1, the store's newest)"},
	}
	invs := []invocation{}
	for _, wd := range []string{keysProject, rootProject} {
		invs = append(invs, invocation{argv: []string{pin, "update"}, dir: wd, env: []string{keyEnv}, check: func(out string) error {
			if !strings.Contains(out, "1.0.0") {
				return fmt.Errorf("does not name release 1.0.0: %q", out)
			}
			return nil
		}})
	}
	logf("pin update, keys against root: %d runs each, alternating", c.Runs)
	samples, err := measureAlternating(ctx, e, c.Runs, invs)
	if err != nil {
		return nil, fmt.Errorf("pin update: %w", err)
	}
	for i := range cases {
		cases[i].Samples = samples[i]
		logf("  %s: median %s, %d requests", cases[i].Tool, cases[i].median().Round(1e6), cases[i].last().requests)
	}
	return cases, nil
}

// measureAlternating is measure for several invocations whose runs take
// turns (after one warm-up run each), the first to go changing every round.
func measureAlternating(ctx context.Context, e *env, runs int, invs []invocation) ([][]sample, error) {
	out := make([][]sample, len(invs))
	for round := -1; round < runs; round++ {
		for k := range invs {
			i := (k + max(round, 0)) % len(invs)
			e.Proxy.reset()
			s, err := runOnce(ctx, e.Env(), invs[i])
			if err != nil {
				return nil, err
			}
			s.counts = e.Proxy.counts()
			if round >= 0 {
				out[i] = append(out[i], s)
			}
		}
	}
	return out, nil
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
