package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/registry"
)

// sourceFlags are the read-only commands' flags: the source and trust
// group (a release.yaml's store or a pin.yaml's source, or --source;
// --key-file), a root of trust to verify with (see storeTrust), and
// -o/--output.
type sourceFlags struct {
	trustFlags
	Root       string
	RootSHA256 string
	Output     string
}

func (f *sourceFlags) bind(cmd *cobra.Command) {
	f.trustFlags.bind(cmd, inspectedConfig, trustUsage{source: " (instead of --config's)", keyFile: " (repeatable; without it, --root or --root-sha256, what --config trusts, or nothing)"})
	cmd.Flags().StringVar(&f.Root, "root", "", "root of trust (root.json) to verify with, following the store's newer roots")
	cmd.Flags().StringVar(&f.RootSHA256, "root-sha256", "", "fingerprint of the store's root of trust to verify with (as pin init takes it)")
	bindOutput(cmd, &f.Output, textOrJSON...)
}

// source is an opened store read through one channels.Trusted: in Inspect
// mode when something to verify with is given (expiry is reported, not
// enforced; a release no index lists is shown), or Unverified without.
type source struct {
	store  channels.ReadStore
	reader *channels.Reader
}

func (f *sourceFlags) open(ctx context.Context, a *app) (*source, error) {
	if err := checkOutput(f.Output, textOrJSON...); err != nil {
		return nil, err
	}
	config := f.Config
	switch {
	case f.configGiven():
	case f.Source != "":
		config = "" // --source replaces the default config
	default:
		// The project's config, when there is one: ./release.yaml, else
		// the nearest pin.yaml.
		config = ""
		if p := a.path(producerConfig.name); fileExists(p) {
			config = p
		} else if p := a.findConfig(consumerConfig.name); fileExists(p) {
			config = p
		}
	}
	cfg, err := loadSourceConfig(config)
	if err != nil {
		return nil, err
	}
	loc := a.path(f.Source)
	if loc == "" {
		loc = cfg.store
	}
	if loc == "" {
		return nil, exitcode.UsageError(errors.New("say where to read from: --source STORE or --config release.yaml|pin.yaml (there is neither here)"))
	}
	st, err := channels.Open(loc, channels.OpenOptions{Registry: registryOptions(a)})
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	anchor, product, err := f.trust(ctx, a, st, cfg)
	if err != nil {
		return nil, err
	}
	mode := channels.Inspect
	if anchor == nil {
		mode = channels.Unverified
		fmt.Fprintln(a.Err, "pin: note: signatures not verified; pass --key-file PUB, --root-sha256 FINGERPRINT or --root root.json to verify them")
	}
	rd, err := channels.NewReader(st, anchor, channels.TrustOptions{Product: product, Mode: mode, Now: a.now})
	if err != nil {
		return nil, err
	}
	return &source{store: st, reader: rd}, nil
}

// channel fetches a channel index and checks it as the source's mode says.
func (s *source) channel(ctx context.Context, name string) (*manifest.Channel, channels.Document, error) {
	vc, err := s.reader.Channel(ctx, name)
	if err != nil {
		return nil, channels.Document{}, err
	}
	return vc.Index, vc.Doc, nil
}

// release fetches a release manifest and checks it against the index of the
// channel its version belongs on (its digest as listed), when there is one.
func (s *source) release(ctx context.Context, version string) (*channels.VerifiedRelease, error) {
	if _, err := manifest.ParseVersion(version); err != nil {
		return nil, exitcode.UsageError(err)
	}
	for _, name := range channels.Names {
		if _, err := channels.CheckVersion(name, version); err != nil || s.reader.Trust.Channel(name) != nil {
			continue
		}
		if _, err := s.reader.Channel(ctx, name); err != nil && !errors.Is(err, channels.ErrNotFound) {
			return nil, err
		}
	}
	doc, err := s.store.GetRelease(ctx, version)
	if err != nil {
		if errors.Is(err, channels.ErrNotFound) {
			return nil, exitcode.UsageError(fmt.Errorf("release %s is not in %s", version, s.store))
		}
		return nil, fmt.Errorf("fetch release %s from %s: %w", version, s.store, err)
	}
	vr, err := s.reader.Trust.UpdateRelease(ctx, version, doc)
	if err != nil {
		return nil, fmt.Errorf("release %s from %s: %w", version, s.store, err)
	}
	return vr, nil
}

// registryOptions are the registry settings every command shares: requests
// name this build, so registry operators can tell pin's traffic apart; the
// PIN_REGISTRY_* environment settings (see registryEnv) follow.
func registryOptions(a *app) []registry.Option {
	opts := append([]registry.Option{registry.WithUserAgent("pin/" + version), retryNotice(a)}, a.registry...)
	return append(opts, a.extraRegistry...)
}

// registryEnv reads the settings of registry (and https store) requests from
// the environment: PIN_REGISTRY_TIMEOUT (per attempt, body included; default
// 30s), PIN_REGISTRY_ATTEMPTS (1-10, the first included; default 4) and
// PIN_REGISTRY_BACKOFF (first wait between attempts, doubled each time;
// default 500ms) and PIN_REGISTRY_PLAIN_HTTP (comma-separated registry hosts,
// as written in image references, that may be reached without TLS; loopback
// never needs it). A bad value is a usage error.
func registryEnv(a *app) error {
	a.registry = nil
	backoff, attempts := registry.DefaultBackoff, registry.DefaultMaxAttempts
	retry := false
	if v, ok := a.lookupEnv("PIN_REGISTRY_TIMEOUT"); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return exitcode.UsageError(fmt.Errorf("PIN_REGISTRY_TIMEOUT=%q: want a positive duration such as 30s", v))
		}
		a.registry = append(a.registry, registry.WithTimeout(d))
	}
	if v, ok := a.lookupEnv("PIN_REGISTRY_ATTEMPTS"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10 {
			return exitcode.UsageError(fmt.Errorf("PIN_REGISTRY_ATTEMPTS=%q: want a whole number from 1 to 10", v))
		}
		attempts, retry = n, true
	}
	if v, ok := a.lookupEnv("PIN_REGISTRY_BACKOFF"); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > registry.MaxRetryWait {
			return exitcode.UsageError(fmt.Errorf("PIN_REGISTRY_BACKOFF=%q: want a duration from 0s to %s", v, registry.MaxRetryWait))
		}
		backoff, retry = d, true
	}
	if retry {
		a.registry = append(a.registry, registry.WithRetry(backoff, attempts))
	}
	if v, ok := a.lookupEnv("PIN_REGISTRY_PLAIN_HTTP"); ok && strings.TrimSpace(v) != "" {
		hosts := strings.Split(v, ",")
		for _, h := range hosts {
			if h = strings.TrimSpace(h); h == "" || strings.ContainsAny(h, "/@ ") {
				return exitcode.UsageError(fmt.Errorf("PIN_REGISTRY_PLAIN_HTTP=%q: want registry hosts such as 10.0.0.5:5000, separated by commas", v))
			}
		}
		a.registry = append(a.registry, registry.WithPlainHTTP(hosts...))
	}
	// Each registry's auth challenge (its token realm: nothing secret) is
	// remembered for a day, so that a run skips the /v2/ ping: one round
	// trip fewer. PIN_NO_CHALLENGE_CACHE=1 turns it off.
	if v, _ := a.lookupEnv("PIN_NO_CHALLENGE_CACHE"); v == "" || v == "0" {
		if a.CacheDir != "" {
			a.registry = append(a.registry, registry.WithChallengeCache(filepath.Join(a.CacheDir, "challenges.json")))
		}
	}
	return nil
}
