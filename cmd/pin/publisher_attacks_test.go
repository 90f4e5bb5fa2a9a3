package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/manifest"
)

// storeCopy is a copy of a store channel index and its signature, taken
// before a later publish, to be put back by an attacker who can write the
// store but holds no key.
func saveStable(t *testing.T, w *attackWorld) map[string][]byte {
	t.Helper()
	saved := map[string][]byte{}
	for _, n := range []string{"stable.json", "stable.json.sig"} {
		saved[n] = mustRead(t, w.store("channels/"+n))
	}
	return saved
}

func restoreStable(t *testing.T, w *attackWorld, saved map[string][]byte) {
	t.Helper()
	for n, b := range saved {
		if err := os.WriteFile(w.store("channels/"+n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPublisherRollbackAttacks: someone who can write the store but holds
// no key puts back an older validly signed index (from before a yank, or
// one that has expired), deletes one, or serves a history forked from the
// one the publisher recorded. The producer's next routine command must
// refuse (exit 3) and leave the store and the publish record byte for byte
// and mtime for mtime as they were: it never signs such an index again.
// On main, each of these was re-signed at a fresh sequence.
func TestPublisherRollbackAttacks(t *testing.T) {
	t.Parallel()
	tmpl := attackTemplate(t)
	yank110 := func(t *testing.T, w *attackWorld) {
		runPin(t, w.dir, pw, "release", "yank", "1.1.0", "--channel", "stable", "--reason", "broke ingests", "--key", "release.key").mustSucceed(t, "yank 1.1.0")
	}
	cases := []struct {
		name   string
		attack func(t *testing.T, w *attackWorld)
		args   []string
		want   string
	}{
		{name: "restore the index from before a yank", attack: func(t *testing.T, w *attackWorld) {
			before := saveStable(t, w)
			yank110(t, w)
			restoreStable(t, w, before)
		}, want: "sequence 2, below sequence 3 recorded"},
		{name: "restore the index from before a yank, then yank another", attack: func(t *testing.T, w *attackWorld) {
			before := saveStable(t, w)
			yank110(t, w)
			restoreStable(t, w, before)
		}, args: []string{"release", "yank", "1.0.0", "--channel", "stable", "--reason", "old", "--key", "release.key"}, want: "below sequence 3 recorded"},
		{name: "restore an older index before an edge create", attack: func(t *testing.T, w *attackWorld) {
			restoreStable(t, w, w.oldStable)
		}, args: []string{"release", "create", "1.2.0-edge.1", "--channel", "edge", "--key", "release.key"}, want: "sequence 1, below sequence 2 recorded"},
		{name: "restore an expired index", attack: func(t *testing.T, w *attackWorld) {
			// What the publisher signed long ago: sequence 1, expired.
			idx, err := manifest.DecodeChannel(w.oldStable["stable.json"], manifest.Expect{})
			if err != nil {
				t.Fatal(err)
			}
			idx.Issued = time.Now().Add(-60 * 24 * time.Hour)
			idx.Expires = time.Now().Add(-30 * 24 * time.Hour)
			b, err := idx.Encode()
			if err != nil {
				t.Fatal(err)
			}
			writeSigned(t, w, w.signer(t), "channels/stable.json", b)
		}, want: "sequence 1, below sequence 2 recorded"},
		{name: "delete the index", attack: func(t *testing.T, w *attackWorld) {
			for _, n := range []string{"stable.json", "stable.json.sig"} {
				if err := os.Remove(w.store("channels/" + n)); err != nil {
					t.Fatal(err)
				}
			}
		}, want: "the index is missing"},
		{name: "delete the index, then yank", attack: func(t *testing.T, w *attackWorld) {
			for _, n := range []string{"stable.json", "stable.json.sig"} {
				if err := os.Remove(w.store("channels/" + n)); err != nil {
					t.Fatal(err)
				}
			}
		}, args: []string{"release", "yank", "1.1.0", "--channel", "stable", "--reason", "x", "--key", "release.key"}, want: "the index is missing"},
		{name: "forked history: a later sequence without the yank", attack: func(t *testing.T, w *attackWorld) {
			before := saveStable(t, w)
			yank110(t, w)
			// A publisher without the record re-signed the pre-yank
			// index at sequence 4 (the key was used, the record was not).
			idx, err := manifest.DecodeChannel(before["stable.json"], manifest.Expect{})
			if err != nil {
				t.Fatal(err)
			}
			idx.Sequence = 4
			b, err := idx.Encode()
			if err != nil {
				t.Fatal(err)
			}
			writeSigned(t, w, w.signer(t), "channels/stable.json", b)
		}, want: "not yanked, but"},
		{name: "forked history: a later sequence without a release", attack: func(t *testing.T, w *attackWorld) {
			resignStable(t, w, func(c *manifest.Channel) {
				c.Sequence++
				c.Releases = c.Releases[:1]
			})
		}, want: "does not list release 1.1.0"},
		{name: "same sequence, other bytes", attack: func(t *testing.T, w *attackWorld) {
			resignStable(t, w, func(c *manifest.Channel) { c.Issued = c.Issued.Add(-time.Minute) })
		}, want: "sequence 2 has other bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := tmpl.clone(t)
			tc.attack(t, w)
			before := snapshotDir(t, w.dir)
			args := tc.args
			if args == nil {
				args = []string{"channel", "refresh", "--channel", "stable", "--key", "release.key"}
			}
			r := runPin(t, w.dir, pw, args...)
			if r.code != 3 || !strings.Contains(r.err, tc.want) {
				t.Fatalf("pin %s: exit %d, want 3 with %q:\n%s%s", strings.Join(args, " "), r.code, tc.want, r.out, r.err)
			}
			if !equalSnapshots(before, snapshotDir(t, w.dir)) {
				t.Fatal("a refused publish changed the store, the record or the project")
			}
		})
	}
}

// TestPublishRecordRecovery: the record's explicit ways forward. A store
// ahead of the record that keeps its history (a publish whose record was not
// committed) is extended; a lost channel is started again only with
// --new-channel, after the recorded sequence; a store the record does not
// know is adopted only with --adopt-store.
func TestPublishRecordRecovery(t *testing.T) {
	t.Parallel()
	tmpl := attackTemplate(t)
	recordPath := func(w *attackWorld) string { return filepath.Join(w.dir, channels.DefaultRecordName) }
	stableSequence := func(t *testing.T, w *attackWorld) int64 {
		t.Helper()
		idx, err := manifest.DecodeChannel(mustRead(t, w.store("channels/stable.json")), manifest.Expect{})
		if err != nil {
			t.Fatal(err)
		}
		return idx.Sequence
	}

	t.Run("store ahead of an uncommitted record", func(t *testing.T) {
		w := tmpl.clone(t)
		old := mustRead(t, recordPath(w))
		runPin(t, w.dir, pw, "channel", "refresh", "--channel", "stable", "--key", "release.key").mustSucceed(t, "refresh")
		os.WriteFile(recordPath(w), old, 0o644) // the pipeline did not commit the record
		runPin(t, w.dir, pw, "channel", "refresh", "--channel", "stable", "--key", "release.key").mustSucceed(t, "refresh over an old record")
		if got := stableSequence(t, w); got != 4 {
			t.Fatalf("stable at sequence %d, want 4", got)
		}
	})

	t.Run("deleted index restarted with --new-channel", func(t *testing.T) {
		w := tmpl.clone(t)
		for _, n := range []string{"stable.json", "stable.json.sig"} {
			os.Remove(w.store("channels/" + n))
		}
		runPin(t, w.dir, pw, "channel", "refresh", "--channel", "stable", "--new-channel", "--key", "release.key").
			mustSucceed(t, "refresh --new-channel")
		// Not 1: consumers recorded sequence 2 and would refuse anything below it.
		if got := stableSequence(t, w); got != 3 {
			t.Fatalf("restarted stable at sequence %d, want 3", got)
		}
	})

	t.Run("no record next to a published store", func(t *testing.T) {
		w := tmpl.clone(t)
		os.Remove(recordPath(w))
		before := snapshotDir(t, w.dir)
		r := runPin(t, w.dir, pw, "channel", "refresh", "--channel", "stable", "--key", "release.key")
		if r.code != 2 || !strings.Contains(r.err, "--adopt-store") {
			t.Fatalf("refresh without a record: exit %d, want 2 naming --adopt-store:\n%s", r.code, r.err)
		}
		if !equalSnapshots(before, snapshotDir(t, w.dir)) {
			t.Fatal("a refused refresh changed a file")
		}
		adopted := runPin(t, w.dir, pw, "channel", "refresh", "--channel", "stable", "--adopt-store", "--key", "release.key").mustSucceed(t, "refresh --adopt-store")
		if !strings.Contains(adopted.err, "wrote the publish record") || !strings.Contains(adopted.err, "commit it") {
			t.Errorf("no note to commit the new record:\n%s", adopted.err)
		}
		rec, err := channels.LoadRecord(recordPath(w), "storage-service")
		if err != nil {
			t.Fatal(err)
		}
		if rc, ok := rec.Channel(w.store(""), "stable"); !ok || rc.Sequence != 3 || len(rc.Releases) != 2 {
			t.Fatalf("adopted record: %+v (ok=%v), want stable at 3 with 2 releases", rc, ok)
		}
	})
}
