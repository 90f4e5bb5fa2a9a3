package producer

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/registry"
	"github.com/wellcomecollection/pin/signing"
	"github.com/wellcomecollection/pin/signing/keyless"
	"github.com/wellcomecollection/pin/trustroot"
)

// Producer is one product's publishing side: its release.yaml, loaded once,
// and the Publisher that signs and writes its store.
type Producer struct {
	Config    *releaseconfig.Config
	Publisher *channels.Publisher
}

// Options say who signs and how the store is reached.
type Options struct {
	// Signer signs releases, and channel indexes unless IndexSigner is set.
	Signer *signing.Signer
	// IndexSigner signs channel indexes when the store's root gives the
	// index role its own key; CoSigners add signatures for a threshold over one.
	IndexSigner *signing.Signer
	CoSigners   []*signing.Signer
	// RecordPath is the publish record (channels.Record); "" is
	// channels.DefaultRecordName next to release.yaml. NewChannel and
	// AdoptStore are its two explicit overrides.
	RecordPath string
	NewChannel bool
	AdoptStore bool
	// Registry are the registry settings for an OCI store and the root's fetch.
	Registry []registry.Option
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Waiting, when set, is told once that an operation waits for another
	// publisher (holder) to finish with store.
	Waiting func(holder, store string)
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Open opens cfg's store for writing under the Publisher the options
// describe: checked against the publish record, trusting release.yaml's
// earlier keys and CI identities, and under the store's root of trust when
// it has one.
func Open(ctx context.Context, cfg *releaseconfig.Config, o Options) (*Producer, error) {
	// One trusted-root source for every identity verifier the publisher
	// makes: release.yaml's sigstore: trusted root is read once a run.
	src := cfg.Sigstore.Source()
	pub, err := newPublisher(cfg, src, o)
	if err != nil {
		return nil, err
	}
	if err := underRoot(ctx, src, pub, o.now()); err != nil {
		return nil, err
	}
	return &Producer{Config: cfg, Publisher: pub}, nil
}

// newPublisher opens the store for writing and loads the publish record.
func newPublisher(cfg *releaseconfig.Config, src keyless.TrustedRootSource, o Options) (*channels.Publisher, error) {
	var identities signing.BundleVerifier
	if len(cfg.Identities) > 0 {
		lv, err := keyless.NewLazyVerifier(cfg.Identities, src)
		if err != nil {
			return nil, exitcode.UsageError(fmt.Errorf("%s: %w", cfg.Path, err))
		}
		identities = lv
	}
	st, err := channels.OpenWritable(cfg.Store, channels.OpenOptions{Signer: o.Signer, Registry: o.Registry})
	if errors.Is(err, channels.ErrReadOnly) {
		return nil, exitcode.UsageError(fmt.Errorf("%s: store %s is read-only (served over HTTP): publish to the directory or bucket behind it", cfg.Path, cfg.Store))
	}
	if err != nil {
		return nil, exitcode.UsageError(fmt.Errorf("%s: store: %w", cfg.Path, err))
	}
	recordPath := o.RecordPath
	if recordPath == "" {
		recordPath = filepath.Join(filepath.Dir(cfg.Path), channels.DefaultRecordName)
	}
	record, err := channels.LoadRecord(recordPath, cfg.Product)
	if err != nil {
		return nil, err
	}
	ttls := map[string]time.Duration{}
	for name, ch := range cfg.Channels {
		ttls[name] = ch.TTL
	}
	var waiting func(string)
	if o.Waiting != nil {
		waiting = func(holder string) { o.Waiting(holder, st.String()) }
	}
	return &channels.Publisher{Store: st, Signer: o.Signer, IndexSigner: o.IndexSigner, CoSigners: o.CoSigners,
		Product: cfg.Product, Now: o.Now, AlsoTrust: cfg.PreviousKeys, Identities: identities, TTLs: ttls,
		Waiting: waiting, Record: record, NewChannel: o.NewChannel, AdoptStore: o.AdoptStore}, nil
}

// underRoot puts the publisher under the store's root of trust, when it has
// one: the newest root and the ones before it (for an index signed before a
// rotation), whose CI identities are checked with release.yaml's sigstore:
// trusted root (src).
func underRoot(ctx context.Context, src keyless.TrustedRootSource, pub *channels.Publisher, now time.Time) error {
	rs, ok := pub.Store.(channels.RootStore)
	if !ok {
		return nil
	}
	chain, err := trustroot.Latest(ctx, channels.RootFetcher(rs), pub.Product, now)
	if err != nil {
		return fmt.Errorf("root of trust of %s: %w", pub.Store, err)
	}
	if chain == nil {
		return nil
	}
	pub.Root = chain.Newest()
	for i := len(chain.Roots) - 2; i >= 0; i-- {
		pub.PreviousRoots = append(pub.PreviousRoots, chain.Roots[i])
	}
	for _, t := range append([]*trustroot.Trusted{pub.Root}, pub.PreviousRoots...) {
		t.Identities = func(ids []keyless.Identity) (signing.BundleVerifier, error) {
			return keyless.NewLazyVerifier(ids, src)
		}
	}
	return nil
}
