package pin

import (
	"cmp"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/rewrite"
)

// Finding kinds reported by Check.
const (
	FindingUnpinned  = "unpinned"         // a managed reference without the release's digest
	FindingDrift     = "drift"            // a managed reference at another digest or form
	FindingUpdate    = "update-available" // --online: a newer allowed release exists
	FindingYanked    = "yanked"           // --online: the locked release was yanked
	FindingExpired   = "channel-expired"  // --online: the channel index has expired
	FindingNotListed = "not-listed"       // --online: the channel no longer lists the locked release
	FindingMissing   = "missing"          // a reference pin.lock recorded is no longer among the managed files
	// FindingUnrewritable is a managed value spelled so that pin cannot
	// rewrite it in place (escapes, a line continuation), not at the pin.
	FindingUnrewritable = "unrewritable"
)

// Finding is one thing `pin check` reports.
type Finding struct {
	Kind      string `json:"kind"`
	File      string `json:"file,omitempty"`
	Line      int    `json:"line,omitempty"`
	Component string `json:"component,omitempty"`
	Found     string `json:"found,omitempty"`
	Want      string `json:"want,omitempty"`
	Message   string `json:"message"`
}

func (f Finding) String() string {
	if f.File != "" {
		return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Kind, f.Message)
	}
	return fmt.Sprintf("%s: %s", f.Kind, f.Message)
}

// CheckOptions tune Check.
type CheckOptions struct {
	Online bool
	Now    func() time.Time
	Store  channels.ReadStore
	Open   channels.OpenOptions
}

// CheckResult is what Check found.
type CheckResult struct {
	SchemaVersion int           `json:"schemaVersion"` // CheckSchemaVersion
	Version       string        `json:"version"`
	Digest        string        `json:"manifestDigest"`
	References    int           `json:"references"`
	Findings      []Finding     `json:"findings"`
	Warnings      []FileWarning `json:"-"`
	Notes         []string      `json:"warnings"`
}

// Check verifies pin.lock's manifest with pin.yaml's keys (offline), then
// compares every managed reference in the files with the lock. Online, it also
// reports a newer allowed release, a yanked current release and an expired
// channel. A trust failure is an error (exit 3); findings are not errors.
func Check(ctx context.Context, cfg *Config, o CheckOptions) (*CheckResult, error) {
	lock, err := LoadLock(cfg.LockPath())
	if err != nil {
		return nil, err
	}
	if lock == nil {
		return nil, exitcode.UsageError(&NoLockError{Path: cfg.LockPath()})
	}
	if err := CheckLockFitsConfig(cfg, lock); err != nil {
		return nil, err
	}
	// The newest root pin.yaml and pin.lock's verified roots lead to: a
	// release signed by a rotated-in release key checks offline.
	anchor, err := lockedAnchor(ctx, cfg, lock)
	if err != nil {
		return nil, err
	}
	vr, err := verifyLockedRelease(ctx, anchor, lock, cfg.LockPath(), cfg.Product)
	if err != nil {
		return nil, err
	}
	rel := vr.Release
	if err := cfg.CheckRegistryMap(rel); err != nil {
		return nil, err
	}
	if err := cfg.CheckRepositories(rel, lock); err != nil {
		return nil, err
	}
	m := NewMatcher(rel, cfg.RegistryMap)
	files, err := scanFiles(cfg, m, false, nil)
	if err != nil {
		return nil, err
	}
	res := &CheckResult{SchemaVersion: CheckSchemaVersion, Version: rel.Version, Digest: vr.Digest, Findings: []Finding{}, Notes: []string{}}
	seen := map[string]int{} // file, component and field of every reference found
	var tagged []PlannedDeployRef
	for _, s := range files {
		tagged = append(tagged, checkDeploy(res, s, rel, seen)...)
		if s.res == nil {
			continue
		}
		if err := checkReferences(res, s, rel, m, cfg.Style, seen); err != nil {
			return nil, err
		}
		checkWarnings(res, s, rel, m, cfg.Style)
	}
	if res.References == 0 && len(lock.References) == 0 {
		return nil, nothingManaged(cfg, cfg.Product, res.Warnings)
	}
	res.Findings = append(res.Findings, missingReferences(lock, seen)...)
	if o.Online {
		online, err := checkOnline(ctx, cfg, lock, o)
		if err != nil {
			return nil, err
		}
		res.Findings = append(res.Findings, online...)
		moved, err := verifyTags(ctx, tagged, rel, m, o.Open.Registry)
		if err != nil {
			return nil, err
		}
		res.Findings = append(res.Findings, moved...)
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line)) < 0
	})
	return res, nil
}

// checkReferences judges each managed reference of one scanned file against
// the release, counting it in seen (file, component and field).
func checkReferences(res *CheckResult, s scanned, rel *manifest.Release, m *Matcher, style string, seen map[string]int) error {
	for _, r := range s.res.Refs {
		seen[s.file.Rel+"\x00"+r.Component+"\x00"+string(r.Field)]++
		c, ok := rel.Component(r.Component)
		if !ok {
			return exitcode.UsageError(fmt.Errorf("%s:%d: marker names component %q, which release %s does not have", s.file.Rel, r.Line, r.Component, rel.Version))
		}
		res.References++
		if splitWithoutDigest(r) {
			want := NewValue(rewrite.FieldRef, m.Target(c.Name), c, rel.Version, style)
			res.Findings = append(res.Findings, Finding{Kind: FindingUnpinned, File: s.file.Rel, Line: r.Line, Component: c.Name, Found: r.Image, Want: want,
				Message: fmt.Sprintf("%s is %s split across fields with no digest field, release %s pins %s", c.Name, r.Image, rel.Version, want)})
			continue
		}
		want := NewValue(r.Field, m.Target(c.Name), c, rel.Version, style)
		if r.Value == want {
			continue
		}
		kind := FindingDrift
		if r.Field == rewrite.FieldRef && !strings.Contains(r.Value, "@") || r.Field == rewrite.FieldTag && !hasDigestField(s.res, r.Component) {
			kind = FindingUnpinned
		}
		res.Findings = append(res.Findings, Finding{Kind: kind, File: s.file.Rel, Line: r.Line, Component: c.Name, Found: r.Value, Want: want,
			Message: fmt.Sprintf("%s is %s, release %s pins %s", c.Name, r.Value, rel.Version, want)})
	}
	return nil
}

// checkWarnings records what the scanner of one file saw but could not
// manage: tag-only values, and spellings pin cannot splice (a finding when
// they are not already the pinned value).
func checkWarnings(res *CheckResult, s scanned, rel *manifest.Release, m *Matcher, style string) {
	for _, fw := range tagOnlyWarnings(s.file.Rel, s.res) {
		res.Warnings = append(res.Warnings, fw)
		res.Notes = append(res.Notes, fw.String())
	}
	for _, w := range s.res.Warnings {
		fw := judgeDecoded(FileWarning{File: s.file.Rel, Warning: w}, rel, m, style)
		if f, ok := unrewritableFinding(fw, rel, m, style); ok {
			// A decoded spelling pin cannot splice: judged by its value.
			res.Warnings = append(res.Warnings, fw)
			res.Notes = append(res.Notes, fw.String())
			res.Findings = append(res.Findings, f)
			continue
		}
		addCheckWarning(res, fw)
	}
}

// missingReferences is a finding for each reference pin.lock recorded that
// the scan no longer saw (seen is consumed): a narrowed files: list, a
// deleted file, or a value turned into something pin does not manage. The
// check no longer covers it, which is drift CI must see.
func missingReferences(lock *Lock, seen map[string]int) []Finding {
	var out []Finding
	for _, lr := range lock.References {
		k := lr.File + "\x00" + lr.Component + "\x00" + lr.Field
		if seen[k] > 0 {
			seen[k]--
			continue
		}
		out = append(out, Finding{Kind: FindingMissing, File: lr.File, Line: lr.Line, Component: lr.Component, Want: lr.New,
			Message: fmt.Sprintf("pin.lock records %s here, but no managed reference is found (file removed, files: narrowed, or the value no longer a plain reference)", lr.Component)})
	}
	return out
}

// unrewritableFinding is the finding for a managed value pin cannot rewrite
// in place (written with escapes, cut by a line continuation) that is not
// already what the release pins: it runs as written, so the check fails.
// judgeDecoded marks as advisory a warning about a value pin decoded (an
// escaped or continued spelling) that already is what the release pins: it
// is reported, but neither check nor update fails on it.
func judgeDecoded(w FileWarning, rel *manifest.Release, m *Matcher, style string) FileWarning {
	if w.Decoded == "" {
		return w
	}
	if c, ok := rel.Component(w.Component); ok && w.Decoded == NewValue(w.Field, m.Target(c.Name), c, rel.Version, style) {
		w.Advisory = true
	}
	return w
}

func unrewritableFinding(w FileWarning, rel *manifest.Release, m *Matcher, style string) (Finding, bool) {
	if w.Decoded == "" {
		return Finding{}, false
	}
	c, ok := rel.Component(w.Component)
	if !ok {
		return Finding{}, false
	}
	want := NewValue(w.Field, m.Target(c.Name), c, rel.Version, style)
	if w.Decoded == want {
		return Finding{}, false
	}
	return Finding{Kind: FindingUnrewritable, File: w.File, Line: w.Line, Component: c.Name, Found: w.Decoded, Want: want,
		Message: fmt.Sprintf("%s is %s (%s), release %s pins %s; pin cannot rewrite it in place: %s", c.Name, w.Decoded, w.Message, rel.Version, want, w.Hint)}, true
}

func hasDigestField(res *rewrite.Result, component string) bool {
	for _, r := range res.Refs {
		if r.Component == component && r.Field == rewrite.FieldDigest {
			return true
		}
	}
	return false
}

func checkOnline(ctx context.Context, cfg *Config, lock *Lock, o CheckOptions) ([]Finding, error) {
	store, err := openStore(o.Store, cfg.Source, o.Open)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	trust, err := followRoots(ctx, cfg, lock, store, now())
	if err != nil {
		return nil, err
	}
	rd, err := trust.reader(store, cfg.Product, trust.applyTo(lock), channels.ReportExpired, now)
	if err != nil {
		return nil, err
	}
	indexes, err := fetchVerified(ctx, cfg.Channel, rd, false)
	if err != nil {
		return nil, explainSource(err, cfg, lock, store)
	}
	var out []Finding
	idx := map[string]*manifest.Channel{}
	for n, vc := range indexes {
		idx[n] = vc.Index
		if vc.Expired {
			out = append(out, Finding{Kind: FindingExpired, Message: fmt.Sprintf("channel %s expired at %s: the publisher has not refreshed it (freeze?)", n, vc.Index.Expires.Format(time.RFC3339))})
		}
	}
	cands := channels.Visible(cfg.Channel, idx)
	listed := false
	for _, c := range cands {
		if c.Version == lock.Version {
			listed = true
			if c.Digest != lock.ManifestDigest {
				return nil, exitcode.TrustError(fmt.Errorf("channel %s lists %s with digest %s, pin.lock has %s", c.Channel, c.Version, c.Digest, lock.ManifestDigest))
			}
			if c.Yanked {
				out = append(out, Finding{Kind: FindingYanked, Message: fmt.Sprintf("release %s is yanked on %s: %s", c.Version, c.Channel, c.Reason)})
			}
		}
	}
	if !listed {
		out = append(out, Finding{Kind: FindingNotListed, Message: fmt.Sprintf("channel %s does not list %s any more", cfg.Channel, lock.Version)})
	}
	cs, err := channels.ParseConstraint(cfg.Constraint)
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	if sel, ok := channels.Select(cands, cs); ok {
		cur, err1 := semver.StrictNewVersion(lock.Version)
		next, err2 := semver.StrictNewVersion(sel.Version)
		if err1 == nil && err2 == nil && next.GreaterThan(cur) {
			out = append(out, Finding{Kind: FindingUpdate, Message: fmt.Sprintf("release %s is available on %s (pinned: %s)", sel.Version, sel.Channel, lock.Version)})
		}
	}
	return out, nil
}

// verifyLocked verifies the release pin.lock records, offline: its bytes hash
// to the digest the lock records, and its signature is by a trusted key.
func verifyLocked(ctx context.Context, anchor channels.SignatureVerifier, product string, lock *Lock) (*channels.VerifiedRelease, error) {
	t, err := channels.NewTrusted(anchor, channels.TrustOptions{Product: product, KnownSource: "pin.lock"})
	if err != nil {
		return nil, err
	}
	return t.UpdatePinnedRelease(ctx, lock.Version, lock.ManifestDigest, lock.Document())
}
