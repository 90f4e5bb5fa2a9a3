package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/internal/testenv"
)

// TestReleaseRerunIsNoop: a CI job rerun repeats create and promote with the
// same content; both succeed, say nothing changed, and write nothing.
func TestReleaseRerunIsNoop(t *testing.T) {
	t.Parallel()
	dir, _ := producerSetup(t, dirStore)
	runPin(t, dir, pw, "release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create")
	runPin(t, dir, pw, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote")
	before := snapshotDir(t, filepath.Join(dir, "store"))

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"create", []string{"release", "create", "1.0.0-edge.1", "--channel", "edge", "--key", "release.key"}, "storage-service 1.0.0-edge.1 is already published on edge with this content: nothing to do"},
		{"promote", []string{"release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key"}, "1.0.0-edge.1 is already promoted to stable as 1.0.0: nothing to do"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runPin(t, dir, pw, tt.args...).mustSucceed(t, "rerun")
			if !strings.HasPrefix(r.out, tt.want) {
				t.Fatalf("rerun said:\n%s\nwant it to start %q", r.out, tt.want)
			}
			j := runPin(t, dir, pw, append(tt.args, "--output", "json")...).mustSucceed(t, "rerun --output json")
			var out struct {
				Unchanged *bool `json:"unchanged"`
			}
			if err := json.Unmarshal([]byte(j.out), &out); err != nil || out.Unchanged == nil || !*out.Unchanged {
				t.Fatalf("rerun --output json: unchanged = %v (%v)\n%s", out.Unchanged, err, j.out)
			}
		})
	}
	if after := snapshotDir(t, filepath.Join(dir, "store")); !equalSnapshots(before, after) {
		t.Fatal("a rerun changed the store")
	}
}

// TestReleaseNextAndAuto: an edge pipeline never needs a hand-edited
// version: after a promotion the next edge version moves past stable, and a
// rerun of `create auto` with the same images finds its first release.
func TestReleaseNextAndAuto(t *testing.T) {
	t.Parallel()
	dir, host := producerSetup(t, dirStore)
	next := func(want string, args ...string) {
		t.Helper()
		r := runPin(t, dir, nil, append([]string{"release", "next", "--key-file", "release.pub"}, args...)...).mustSucceed(t, "release next")
		if strings.TrimSpace(r.out) != want {
			t.Fatalf("release next %v = %q, want %q", args, r.out, want)
		}
	}
	create := func(want string) {
		t.Helper()
		r := runPin(t, dir, pw, "release", "create", "auto", "--base", "1.0.0", "--channel", "edge", "--key", "release.key").mustSucceed(t, "create auto")
		if !strings.Contains(r.out, want) {
			t.Fatalf("create auto said:\n%s\nwant %q", r.out, want)
		}
	}
	if r := runPin(t, dir, nil, "release", "next", "--channel", "edge"); r.code != 2 || !strings.Contains(r.err, "--base X.Y.Z") {
		t.Fatalf("next on an empty store without --base: exit %d, %s", r.code, r.err)
	}
	create("Published storage-service 1.0.0-edge.1 on edge")
	create("1.0.0-edge.1 is already published on edge with this content: nothing to do")
	next("1.0.0-edge.2", "--channel", "edge")
	runPin(t, dir, pw, "release", "promote", "1.0.0-edge.1", "--to", "stable", "--key", "release.key").mustSucceed(t, "promote")
	next("1.0.1-edge.1", "--channel", "edge")
	next("1.0.1-edge.1", "--channel", "edge", "--base", "1.0.0")
	next("1.1.0-edge.1", "--channel", "edge", "--base", "1.1.0")
	next("1.0.1", "--channel", "stable")
	testenv.PushRandomImage(t, serviceRepo(host, "notifier")+":latest", 1)
	create("Published storage-service 1.0.1-edge.1 on edge")
}
