package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestReleaseRerunIsNoop: a CI job rerun repeats create and promote with the
// same content; both succeed, say nothing changed, and write nothing.
func TestReleaseRerunIsNoop(t *testing.T) {
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
