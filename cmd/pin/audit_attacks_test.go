package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/manifest"
)

// TestAuditFreeze: audit judged references against an expired index as
// current and exited 0, so a freeze hid a yank from audit for ever. Now every
// such reference is "expired", the summary says so, and --fail-on expired
// exits 4; a live index still reports current.
func TestAuditFreeze(t *testing.T) {
	t.Parallel()
	w := attackTemplate(t).clone(t)
	updateTo110(t, w)
	cache := filepath.Join(t.TempDir(), "cache")
	base := []string{"audit", w.project(), "--source", w.store(""), "--key-file", filepath.Join(w.dir, "release.pub"), "--cache-dir", cache}
	statuses := func(r pinRun) map[string]bool {
		t.Helper()
		var rep struct {
			Findings []struct{ Status string }
			Summary  struct{ Text string }
		}
		if err := json.Unmarshal([]byte(r.out), &rep); err != nil {
			t.Fatalf("audit json: %v\n%s", err, r.out)
		}
		got := map[string]bool{}
		for _, f := range rep.Findings {
			got[f.Status] = true
		}
		return got
	}
	live := runPin(t, "", nil, append(base, "--format", "json")...).mustSucceed(t, "audit a live index")
	if got := statuses(live); !got["current"] || len(got) != 1 {
		t.Fatalf("live index: statuses %v, want only current", got)
	}

	resignStable(t, w, func(c *manifest.Channel) {
		c.Sequence++
		c.Issued = time.Now().Add(-48 * time.Hour)
		c.Expires = time.Now().Add(-time.Hour)
	})
	frozen := runPin(t, "", nil, append(base, "--format", "json")...).mustSucceed(t, "audit an expired index")
	if got := statuses(frozen); !got["expired"] || got["current"] {
		t.Fatalf("expired index: statuses %v, want expired and no current", got)
	}
	if !strings.Contains(frozen.out, "channel index expired: stable") {
		t.Fatalf("summary does not name the expired index:\n%s", frozen.out)
	}
	if r := runPin(t, "", nil, append(base, "--fail-on", "expired")...); r.code != 4 || !strings.Contains(r.err, "expired") {
		t.Fatalf("--fail-on expired: exit %d, want 4:\n%s%s", r.code, r.out, r.err)
	}
}

// TestAuditCacheFloor: an audit without pin.lock (--source) took whatever
// validly signed index the store served, so an index from before 1.1.0 (or
// before a yank) passed and replaced the newer one in the cache. The newest
// index the cache verified is now a floor: lower is a rollback (exit 3), the
// cache keeps the newer index.
func TestAuditCacheFloor(t *testing.T) {
	t.Parallel()
	w := attackTemplate(t).clone(t)
	cache := filepath.Join(t.TempDir(), "cache")
	base := []string{"audit", w.project(), "--source", w.store(""), "--key-file", filepath.Join(w.dir, "release.pub"), "--cache-dir", cache}
	runPin(t, "", nil, base...).mustSucceed(t, "audit at sequence 2")
	restoreStable(t, w, w.oldStable)
	before := snapshotDir(t, cache)
	r := runPin(t, "", nil, base...)
	if r.code != 3 || !strings.Contains(r.err, "sequence 1 is below 2 recorded in the audit cache") {
		t.Fatalf("audit of a rolled-back store: exit %d, want 3 naming the audit cache:\n%s%s", r.code, r.out, r.err)
	}
	if !equalSnapshots(before, snapshotDir(t, cache)) {
		t.Fatal("the rolled-back index changed the cache")
	}
}
