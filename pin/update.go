package pin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/atomicfile"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/internal/opterr"
	"github.com/wellcomecollection/pin/internal/regular"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/rewrite"
	"github.com/wellcomecollection/pin/signing"
)

// UpdateOptions tune PlanUpdate.
type UpdateOptions struct {
	To             string // exact version to move to (may go down: asking is allowing)
	AllowDowngrade bool   // allow the selected version to be lower than pin.lock's
	// Hold records a hold on the selected version in pin.lock, with
	// HoldReason; Unhold releases pin.lock's hold (see Hold).
	Hold       bool
	HoldReason string
	Unhold     bool
	Now        func() time.Time
	// Store overrides the store named by pin.yaml (tests, the demo).
	Store channels.ReadStore
	// Open configures how pin.yaml's store is opened.
	Open channels.OpenOptions
}

// Plan is a verified update, computed without writing anything.
type Plan struct {
	Config   *Config
	OldLock  *Lock
	Lock     *Lock
	Release  *channels.VerifiedRelease
	Selected channels.Candidate
	// Held is pin.lock's hold when it kept the project on its release.
	Held *Hold
	// MovedOffYanked is set when pin.lock's release was yanked and the
	// update moved to the newest release that is not, below it.
	MovedOffYanked *YankedPin
	newest         string // the newest allowed release, when Held
	Changes        []FileChange
	Refs           []PlannedRef
	Warnings       []FileWarning
	// DeployRefs are the module source refs and shared/split tags the
	// release sets (those it cannot set are in Warnings).
	DeployRefs []PlannedDeployRef
	// Interrupted is set when an earlier update was killed after replacing
	// some files and before writing pin.lock (it left PendingLockName):
	// this one completes it.
	Interrupted bool
	// RootNotes are messages about the root of trust (a rotation followed,
	// sequences forgotten, a plain keys: list that cannot rotate).
	RootNotes []string
	roots     []LockedRoot // the roots newer than pin.yaml's, for pin.lock
	lockOld   []byte
	lockNew   []byte
	pending   *Lock    // the interrupted update's journal
	stale     []string // staged files a killed update left
}

// FileChange is one file's old and new bytes.
type FileChange struct {
	File File
	Old  []byte
	New  []byte
}

// PlannedRef is a managed reference and the value it gets.
type PlannedRef struct {
	File string
	rewrite.Ref
	New string
}

// FileWarning is a scan warning in a file.
type FileWarning struct {
	File string
	rewrite.Warning
	// Advisory is advice about a value pin does pin (a tag marker without a
	// digest marker), not a product value left unpinned (see IsUnmanaged).
	Advisory bool
}

func (w FileWarning) String() string {
	s := fmt.Sprintf("%s:%d: %s (%s)", w.File, w.Line, w.Message, w.Value)
	if w.Line == 0 && w.Value == "" {
		s = fmt.Sprintf("%s: %s", w.File, w.Message) // about the file as a whole
	}
	if w.Hint != "" {
		s += ": " + w.Hint
	}
	return s
}

// newReader reads store for a consumer through one channels.Trusted: the
// keys of pin.yaml (or --key-file), the product (empty: the first index names
// it), and pin.lock's index history. The sequences in pin.lock belong to the
// product's signed indexes, not to a store: they are checked whatever source
// pin.yaml names (a mirror, a respelled path), so changing the source cannot
// reset the history.
func newReader(store channels.ReadStore, v *signing.Verifier, product string, lock *Lock, mode channels.Mode, now func() time.Time) (*channels.Reader, error) {
	return newReaderKnown(store, v, product, lock, "pin.lock", mode, now)
}

// newReaderKnown is newReader with the index history taken from lock but
// named knownSource in messages (audit raises pin.lock's floor to its cache).
func newReaderKnown(store channels.ReadStore, v *signing.Verifier, product string, lock *Lock, knownSource string, mode channels.Mode, now func() time.Time) (*channels.Reader, error) {
	var anchor channels.SignatureVerifier
	if v != nil {
		anchor = channels.Keys(v)
	}
	return newAnchoredReader(store, anchor, product, lock, knownSource, mode, now)
}

// newAnchoredReader is newReaderKnown over any trust anchor (a root of trust's roles).
func newAnchoredReader(store channels.ReadStore, anchor channels.SignatureVerifier, product string, lock *Lock, knownSource string, mode channels.Mode, now func() time.Time) (*channels.Reader, error) {
	o := channels.TrustOptions{Product: product, Mode: mode, Now: now, KnownSource: knownSource}
	if lock != nil && (product == "" || lock.Product == product) {
		o.Known = map[string]channels.KnownIndex{}
		for name, li := range lock.Channels {
			o.Known[name] = channels.KnownIndex{Sequence: li.Sequence, Digest: li.Digest}
		}
	}
	return channels.NewReader(store, anchor, o)
}

// fetchVerified reads the consumer's channel (and stable, for edge) through
// rd. Update, check, audit and mirror all read channels through it. Offline
// (audit from the cache), an index missing from the cache is skipped instead
// of refused.
func fetchVerified(ctx context.Context, channel string, rd *channels.Reader, offline bool) (map[string]*channels.VerifiedChannel, error) {
	names := []string{channel}
	if channel == channels.Edge {
		names = append(names, channels.Stable)
	}
	out := map[string]*channels.VerifiedChannel{}
	for _, name := range names {
		vc, err := rd.Channel(ctx, name)
		switch {
		case channels.IsNotFound(err) && offline:
			continue
		case errors.Is(err, channels.ErrHidden):
			return nil, err
		case channels.IsNotFound(err) && name != channel:
			continue // edge before the first stable release
		case err != nil:
			return nil, err
		}
		out[name] = vc
	}
	return out, nil
}

func (o UpdateOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// openStore returns the store a test or the demo handed in, or opens source.
func openStore(given channels.ReadStore, source string, open channels.OpenOptions) (channels.ReadStore, error) {
	if given != nil {
		return given, nil
	}
	st, err := channels.Open(source, open)
	if err != nil {
		return nil, exitcode.UsageError(fmt.Errorf("source %s: %w", source, err))
	}
	return st, nil
}

// PlanUpdate runs every trust check and computes the new file contents and
// lock. It writes nothing; Apply does.
func PlanUpdate(ctx context.Context, cfg *Config, o UpdateOptions) (*Plan, error) {
	lock, err := LoadLock(cfg.LockPath())
	if err != nil {
		return nil, err
	}
	store, err := openStore(o.Store, cfg.Source, o.Open)
	if err != nil {
		return nil, err
	}
	// The indexes are read while the root is probed: the probe for root N+1
	// costs no round trip of its own. Nothing read is trusted before the
	// root is settled; the reader verifies the indexes with it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	early := prefetchChannels(ctx, store, readChannels(cfg.Channel))
	trust, err := followRoots(ctx, cfg, lock, store, o.now())
	if err != nil {
		return nil, err
	}
	// Sequences recorded under index keys that have since changed are
	// forgotten: rotating the index key undoes a thief's huge sequence.
	lock = trust.applyTo(lock)
	rd, err := trust.reader(early, cfg.Product, lock, channels.Enforce, o.now)
	if err != nil {
		return nil, err
	}
	indexes, err := fetchVerified(ctx, cfg.Channel, rd, false)
	if err != nil {
		return nil, explainSource(err, cfg, lock, store)
	}
	sel, err := selectRelease(cfg, lock, indexes, o)
	if err != nil {
		return nil, err
	}
	vr, err := rd.Release(ctx, sel.Entry)
	if err != nil {
		return nil, err
	}
	if vr.Release.Product != cfg.Product {
		return nil, exitcode.TrustError(fmt.Errorf("release %s names product %q, expected %q", sel.Version, vr.Release.Product, cfg.Product))
	}
	if err := cfg.CheckRegistryMap(vr.Release); err != nil {
		return nil, err
	}
	if err := cfg.CheckRepositories(vr.Release, lock); err != nil {
		return nil, err
	}
	pending := loadPending(cfg)
	p := &Plan{Config: cfg, OldLock: lock, Release: vr, Selected: sel, pending: pending, Interrupted: pending != nil, RootNotes: trust.notes, roots: trust.lockRoots()}
	if lock != nil && lock.Hold != nil && !o.Unhold && !o.Hold {
		p.Held = lock.Hold
		if cs, err := channels.ParseConstraint(cfg.Constraint); err == nil {
			if newest, ok := channels.Select(visibleOf(indexes, cfg.Channel), cs); ok {
				p.newest = newest.Version
			}
		}
	}
	if p.Held == nil {
		p.MovedOffYanked = yankedPin(lock, visibleOf(indexes, cfg.Channel), sel)
	}
	if err := p.scan(); err != nil {
		return nil, err
	}
	if p.Managed() == 0 {
		return nil, nothingManaged(cfg, cfg.Product, p.Warnings)
	}
	var foreign []string
	p.stale, foreign = recordedStaged(cfg, p.stale)
	root, _ := filepath.EvalSymlinks(cfg.Dir()) // the walk's root
	for _, f := range foreign {
		rel, _ := filepath.Rel(root, f)
		p.Warnings = append(p.Warnings, FileWarning{File: filepath.ToSlash(rel), Warning: rewrite.Warning{
			Message: "named like a file pin stages, but pin has no record of writing it: left alone",
			Hint:    "remove it yourself if it is a leftover"}})
	}
	p.Lock = p.buildLock(indexes)
	p.Lock.Hold = nextHold(lock, sel.Version, o, o.now())
	if p.lockNew, err = p.Lock.Encode(); err != nil {
		return nil, err
	}
	p.lockOld, _ = regular.ReadFile(cfg.LockPath(), regular.MaxConfig)
	return p, nil
}

// selectRelease picks --to or the highest allowed, unyanked version, refusing
// downgrades that were not asked for.
func selectRelease(cfg *Config, lock *Lock, indexes map[string]*channels.VerifiedChannel, o UpdateOptions) (channels.Candidate, error) {
	idx := map[string]*manifest.Channel{}
	for n, vc := range indexes {
		idx[n] = vc.Index
	}
	cands := channels.Visible(cfg.Channel, idx)
	if held, ok, err := holdDecision(cfg, lock, cands, o); err != nil || ok {
		return held, err
	}
	if o.To != "" {
		if _, err := manifest.ParseVersion(o.To); err != nil {
			return channels.Candidate{}, opterr.Errorf("To", ": %w", err)
		}
		for _, c := range cands {
			if c.Version == o.To {
				if c.Yanked {
					return channels.Candidate{}, exitcode.TrustError(fmt.Errorf("release %s is yanked on %s (%s): pin never selects a yanked release", c.Version, c.Channel, c.Reason))
				}
				// pin check refuses a lock outside the constraint (a
				// lock-only downgrade), so --to may not write one.
				if err := checkToWithinConstraint(cfg, c.Version); err != nil {
					return channels.Candidate{}, err
				}
				return c, nil
			}
		}
		return channels.Candidate{}, exitcode.UsageError(fmt.Errorf("release %s is not listed on %s (%s)", o.To, cfg.Channel, cfg.Source))
	}
	cs, err := channels.ParseConstraint(cfg.Constraint)
	if err != nil {
		return channels.Candidate{}, exitcode.UsageError(err)
	}
	sel, ok := channels.Select(cands, cs)
	if !ok {
		for _, c := range cands {
			if v, err := semver.StrictNewVersion(c.Version); err == nil && channels.Allowed(cs, v) {
				return channels.Candidate{}, exitcode.TrustError(fmt.Errorf("every release on %s that satisfies %q is yanked", cfg.Channel, cfg.Constraint))
			}
		}
		return channels.Candidate{}, exitcode.UsageError(fmt.Errorf("no release on %s satisfies constraint %q (%d listed)", cfg.Channel, cfg.Constraint, len(cands)))
	}
	if lock != nil && lock.Version != "" && !o.AllowDowngrade && lock.Product == cfg.Product && yankedPin(lock, cands, sel) == nil {
		cur, err1 := semver.StrictNewVersion(lock.Version)
		next, err2 := semver.StrictNewVersion(sel.Version)
		if err1 == nil && err2 == nil && next.LessThan(cur) {
			why := ""
			for _, c := range cands {
				if c.Version == lock.Version && c.Yanked {
					why = fmt.Sprintf(" (%s, pinned now, is yanked on %s: %s)", lock.Version, c.Channel, c.Reason)
				}
			}
			return channels.Candidate{}, exitcode.TrustError(&DowngradeError{From: lock.Version, To: sel.Version, Why: why})
		}
	}
	return sel, nil
}

// visibleOf lists the releases a consumer of channel sees in indexes.
func visibleOf(indexes map[string]*channels.VerifiedChannel, channel string) []channels.Candidate {
	idx := map[string]*manifest.Channel{}
	for n, vc := range indexes {
		idx[n] = vc.Index
	}
	return channels.Visible(channel, idx)
}

// NewValue is what a managed value becomes for a component of rel.
func NewValue(field rewrite.Field, target string, c manifest.Component, version, style string) string {
	switch field {
	case rewrite.FieldRepo:
		return target
	case rewrite.FieldTag:
		return version
	case rewrite.FieldDigest:
		return c.Digest
	}
	if style == StyleTagDigest {
		return target + ":" + version + "@" + c.Digest
	}
	return target + "@" + c.Digest
}

type scanned struct {
	file     File
	data     []byte
	res      *rewrite.Result
	err      error
	mentions bool
	// deploy and deployWarns are the file's module refs and shared/split
	// tags, and the product values among them pin cannot manage.
	deploy      []rewrite.DeployRef
	deployWarns []rewrite.Warning
}

// tagOnlyWarnings flags split values marked with a tag but no digest: pin
// writes the release version as the tag, which pins nothing unless the
// producer also tags images that way.
func tagOnlyWarnings(file string, res *rewrite.Result) []FileWarning {
	digest := map[string]bool{}
	for _, r := range res.Refs {
		if r.Field == rewrite.FieldDigest {
			digest[r.Component] = true
		}
	}
	var out []FileWarning
	for _, r := range res.Refs {
		if r.Field == rewrite.FieldTag && !digest[r.Component] && r.Image == "" {
			out = append(out, FileWarning{File: file, Advisory: true, Warning: rewrite.Warning{Line: r.Line, Component: r.Component, Value: r.Value,
				Message: "a tag marker without a digest marker: the release version is written as the tag, which pins nothing unless images are tagged so",
				Hint:    fmt.Sprintf("add a field for the digest marked # pin:%s:digest (Helm: image.digest), or use one whole reference", r.Component)}})
		}
	}
	return out
}

// splitWithoutDigest reports an image split across fields that pin found by
// their keys (Helm's image.repository and image.tag) in a chart with no
// digest field: a tag pins nothing, so pin has nowhere to write the digest.
func splitWithoutDigest(r rewrite.Ref) bool {
	return r.Image != "" && r.Field != rewrite.FieldDigest
}

// splitWarning says what to do about a split image without a digest field.
func splitWarning(file string, r rewrite.Ref) FileWarning {
	return FileWarning{File: file, Warning: rewrite.Warning{Line: r.Line, Component: r.Component, Value: r.Image,
		Message: "image split across fields has no digest field: not pinned",
		Hint:    RemedyDigestField}}
}

// templateWarning turns the parse failure of a YAML file that is really a
// Go/Helm template (it has {{ }} and is not valid YAML) into a warning: such
// a file is not pin's to rewrite, and it must not block every other file.
func templateWarning(rel string, data []byte, m *Matcher, res *rewrite.Result, err error) (*rewrite.Result, error) {
	var pe *rewrite.ParseError
	if !rewrite.IsTemplate(rel, data, err) || !errors.As(err, &pe) {
		return res, err
	}
	c, _ := m.Mentions(string(data))
	return &rewrite.Result{Warnings: []rewrite.Warning{{
		Line: pe.Line, Component: c, Value: rel,
		Message: rewrite.TemplateMessage,
		Hint:    "pin the image in the chart's values file (with # pin:<component>:<field> markers for split fields), or leave the templates out of the files: globs",
	}}}, nil
}

// scanFiles reads and scans every managed file in parallel. Files that cannot
// hold a managed repository are skipped without parsing.
// Staged files a killed update left are appended to stale when it is not nil.
func scanFiles(cfg *Config, m *Matcher, writing bool, stale *[]string) ([]scanned, error) {
	files, escaped, err := findFiles(cfg.Dir(), cfg.Files, stale)
	if err != nil {
		return nil, fmt.Errorf("list files under %s: %w", cfg.Dir(), err)
	}
	// A symlink out of the project is refused whatever it holds, a file or
	// a directory alike: pin neither writes through it nor skips, unseen,
	// the references behind it.
	var links []error
	root, _ := filepath.EvalSymlinks(cfg.Dir())
	for _, e := range escaped {
		target, _ := filepath.EvalSymlinks(filepath.Join(cfg.Dir(), e))
		if inside(root, target) {
			links = append(links, fmt.Errorf("%s is a symlink to the directory %s, which the files: globs do not reach: pin does not follow it, and will not skip what it holds unseen (add the target to files:, or narrow files: so they do not enter %s)", e, target, e))
			continue
		}
		links = append(links, fmt.Errorf("%s is a symlink that leaves the project directory (to %s): pin refuses to read or rewrite through it (copy it in, link the other way round, or narrow files:)", e, target))
	}
	if len(links) > 0 {
		return nil, exitcode.UsageError(errors.Join(links...))
	}
	out := make([]scanned, len(files))
	var wg sync.WaitGroup
	work := make(chan int)
	// Reading is mostly waiting on system calls: more readers than cores.
	for w := 0; w < 4*runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				s := scanned{file: files[i]}
				s.data, s.err = regular.ReadFile(files[i].Path, regular.MaxConfig)
				if s.err == nil && m.MayContain(s.data) {
					s.mentions = true
					s.res, s.err = rewrite.Scan(files[i].Rel, s.data, m)
					s.res, s.err = templateWarning(files[i].Rel, s.data, m, s.res, s.err)
				}
				if s.err == nil {
					s.deploy, s.deployWarns, s.err = scanDeployFile(files[i].Rel, s.data, m)
				}
				out[i] = s
			}
		}()
	}
	for i := range files {
		work <- i
	}
	close(work)
	wg.Wait()
	var errs []error
	for _, s := range out {
		var pe *rewrite.ParseError
		if s.err != nil && !errors.As(s.err, &pe) {
			return nil, fmt.Errorf("read %s: %w", s.file.Rel, s.err) // I/O: operational
		}
		if s.err != nil {
			errs = append(errs, s.err)
		}
	}
	if len(errs) > 0 {
		outcome := ""
		if writing {
			outcome = "; nothing was written"
		}
		return nil, exitcode.UsageError(fmt.Errorf("%d file(s) could not be read or parsed%s:\n%w", len(errs), outcome, errors.Join(errs...)))
	}
	return out, nil
}

func (p *Plan) scan() error {
	rel := p.Release.Release
	m := NewMatcher(rel, p.Config.RegistryMap)
	files, err := scanFiles(p.Config, m, true, &p.stale)
	if err != nil {
		return err
	}
	for _, s := range files {
		edits := p.planDeploy(s, rel)
		if s.res == nil && len(edits) == 0 {
			continue
		}
		if s.res == nil {
			s.res = &rewrite.Result{}
		}
		for _, r := range s.res.Refs {
			c, ok := rel.Component(r.Component)
			if !ok {
				return exitcode.UsageError(fmt.Errorf("%s:%d: marker names component %q, which release %s does not have", s.file.Rel, r.Line, r.Component, rel.Version))
			}
			if splitWithoutDigest(r) {
				p.Warnings = append(p.Warnings, splitWarning(s.file.Rel, r))
				continue
			}
			nv := NewValue(r.Field, m.Target(c.Name), c, rel.Version, p.Config.Style)
			p.Refs = append(p.Refs, PlannedRef{File: s.file.Rel, Ref: r, New: nv})
			if nv != r.Value {
				edits = append(edits, rewrite.Edit{Start: r.Start, End: r.End, New: nv})
			}
		}
		for _, w := range s.res.Warnings {
			p.Warnings = append(p.Warnings, judgeDecoded(FileWarning{File: s.file.Rel, Warning: w}, rel, m, p.Config.Style))
		}
		p.Warnings = append(p.Warnings, tagOnlyWarnings(s.file.Rel, s.res)...)
		if len(edits) == 0 {
			continue
		}
		nb, err := rewrite.Apply(s.data, edits)
		if err != nil {
			return fmt.Errorf("%s: %w", s.file.Rel, err)
		}
		p.Changes = append(p.Changes, FileChange{File: s.file, Old: s.data, New: nb})
	}
	return nil
}

func (p *Plan) buildLock(indexes map[string]*channels.VerifiedChannel) *Lock {
	vr := p.Release
	l := &Lock{
		SchemaVersion:  LockSchemaVersion,
		Source:         p.Config.SourceAsWritten,
		Product:        p.Config.Product,
		Channel:        p.Config.Channel,
		Channels:       map[string]LockedIndex{},
		Version:        vr.Release.Version,
		ReleaseChannel: p.Selected.Channel,
		ManifestDigest: vr.Digest,
		Manifest:       string(vr.Doc.Bytes),
		Signature:      strings.TrimSpace(string(vr.Doc.Signature)),
		Bundle:         string(vr.Doc.Bundle),
		MoreSignatures: vr.Doc.More,
		Roots:          p.roots,
	}
	if p.OldLock != nil && p.OldLock.Product == p.Config.Product {
		for n, li := range p.OldLock.Channels {
			l.Channels[n] = li // kept for channels not read this time
		}
	}
	for n, vc := range indexes {
		l.Channels[n] = LockedIndex{Sequence: vc.Index.Sequence, Digest: vc.Digest}
	}
	prevOld := map[string]string{}
	// An interrupted update's journal holds the values its replaced files
	// had before: completing it records them as it would have.
	for _, prev := range []*Lock{p.OldLock, p.pending} {
		if prev == nil {
			continue
		}
		for _, r := range prev.References {
			prevOld[fmt.Sprintf("%s\x00%d\x00%s\x00%s\x00%s", r.File, r.Line, r.Component, r.Field, r.New)] = r.Old
		}
	}
	for _, r := range p.Refs {
		old := r.Value
		if r.Value == r.New {
			// Keyed by line too: one file may hold the same component many times.
			if o, ok := prevOld[fmt.Sprintf("%s\x00%d\x00%s\x00%s\x00%s", r.File, r.Line, r.Component, r.Field, r.New)]; ok {
				old = o
			}
		}
		l.References = append(l.References, LockedReference{File: r.File, Line: r.Line, Component: r.Component, Field: string(r.Field), Old: old, New: r.New})
	}
	for _, r := range p.DeployRefs {
		old := r.Value
		if o, ok := prevOld[fmt.Sprintf("%s\x00%d\x00%s\x00%s\x00%s", r.File, r.Line, r.LockComponent(), r.Kind, r.New)]; ok && r.Value == r.New {
			old = o
		}
		l.References = append(l.References, LockedReference{File: r.File, Line: r.Line, Component: r.LockComponent(), Field: r.Kind, Old: old, New: r.New})
	}
	return l
}

// Changed reports whether applying the plan would change any file or the lock.
func (p *Plan) Changed() bool {
	return len(p.Changes) > 0 || !bytes.Equal(p.lockOld, p.lockNew)
}

// FilesChanged reports whether any managed file would change.
func (p *Plan) FilesChanged() bool { return len(p.Changes) > 0 }

// Diff returns a unified diff of every file the plan changes.
func (p *Plan) Diff() string {
	var b strings.Builder
	for _, c := range p.Changes {
		b.WriteString(UnifiedDiff(c.File.Rel, c.Old, c.New))
	}
	return b.String()
}

// Apply writes every changed file, then pin.lock, so that a crash at any
// moment (kill -9, power loss) leaves:
//
//   - every file entirely old or entirely new (each is staged beside its
//     target, synced, and renamed over it);
//   - pin.lock either the old one, or the new one with every file new: the
//     new lock is staged first as PendingLockName, and renamed to pin.lock
//     only after every file is renamed and their directories are synced.
//
// A run killed between the first rename and the last leaves the old
// pin.lock and some files new; the next update (which finds the journal)
// completes it and records what the files held before, as one run would
// have. Staged files left behind are never read as configs and are removed
// by the next update. On failure before the renames, nothing is changed.
// Callers hold LockProject.
func (p *Plan) Apply() error {
	removeStale(p.stale)
	record := filepath.Join(p.Config.Dir(), StagedRecordName)
	// Every staged name is recorded before the first is created, so that
	// the next run removes only what this one made.
	names := make([]string, len(p.Changes))
	for i, c := range p.Changes {
		n, err := atomicfile.StagedName(c.File.Path)
		if err != nil {
			return err
		}
		names[i] = n
	}
	if len(names) > 0 {
		if err := recordStaged(p.Config, names); err != nil {
			return fmt.Errorf("%w; no file was changed", err)
		}
	} else {
		// Nothing to stage: a record a killed run left lists only files that
		// removeStale has just removed, or that were renamed into place
		// before the kill (a kill after the last rename, before the record
		// went), so it goes too.
		os.Remove(record)
	}
	// Stage in parallel: creating and syncing a file is mostly waiting on the
	// file system, and a tree of thousands of files would otherwise wait in turn.
	tmps := make([]string, len(p.Changes))
	errs := make([]error, len(p.Changes))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < stageWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				c := p.Changes[i]
				if errs[i] = stage(names[i], c.File.Path, c.New, c.File.Mode); errs[i] == nil {
					tmps[i] = names[i]
				}
			}
		}()
	}
	for i := range p.Changes {
		work <- i
	}
	close(work)
	wg.Wait()
	cleanup := func(from int) {
		for _, t := range tmps[from:] {
			if t != "" {
				os.Remove(t)
			}
		}
		os.Remove(record)
	}
	for i, err := range errs {
		if err != nil {
			cleanup(0)
			return fmt.Errorf("write %s: %w; no file was changed", p.Changes[i].File.Rel, err)
		}
	}
	lockPath := p.Config.LockPath()
	journal := filepath.Join(p.Config.Dir(), PendingLockName)
	if len(tmps) == 0 {
		if !bytes.Equal(p.lockOld, p.lockNew) {
			if err := atomicfile.WriteFile(lockPath, p.lockNew, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", lockPath, err)
			}
		}
		if p.pending != nil {
			os.Remove(journal) // files and pin.lock agree: nothing left to complete
		}
		return nil
	}
	// The journal is durable before the first file is replaced.
	if err := atomicfile.WriteFile(journal, p.lockNew, 0o644); err != nil {
		cleanup(0)
		return fmt.Errorf("write %s: %w; no file was changed", journal, err)
	}
	dirs := map[string]bool{p.Config.Dir(): true}
	for i, t := range tmps {
		if err := os.Rename(t, p.Changes[i].File.Path); err != nil {
			cleanup(i)
			return &IncompleteError{Err: fmt.Errorf("replace %s: %w", p.Changes[i].File.Rel, err), State: fmt.Sprintf("%d of %d files were already replaced; pin.lock is unchanged", i, len(tmps))}
		}
		dirs[filepath.Dir(p.Changes[i].File.Path)] = true
	}
	if err := syncDirs(dirs); err != nil {
		return &IncompleteError{Err: err, State: "pin.lock is unchanged"}
	}
	os.Remove(record) // every staged file is renamed
	if err := os.Rename(journal, lockPath); err != nil {
		return &IncompleteError{Err: fmt.Errorf("write %s: %w", lockPath, err), State: "every file is replaced"}
	}
	return syncDirs(map[string]bool{p.Config.Dir(): true})
}

// stageWorkers bounds how many files are staged at once.
const stageWorkers = 16

// stage writes data for dst to the staged file tmp, with dst's mode.
func stage(tmp, dst string, data []byte, mode os.FileMode) error {
	if mode == 0 {
		info, err := os.Stat(dst)
		if err != nil {
			return err
		}
		mode = info.Mode().Perm()
	}
	return atomicfile.StageAs(tmp, data, mode)
}

// Summary lists, per component, the old and new values of the references that change.
func (p *Plan) Summary() []PlannedRef {
	var out []PlannedRef
	for _, r := range p.Refs {
		if r.Value != r.New {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}
