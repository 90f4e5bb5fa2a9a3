package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionFromBuildInfo(t *testing.T) {
	t.Parallel()
	stamped := &debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "5f1c3e0a"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		name  string
		start buildInfo
		info  *debug.BuildInfo
		want  buildInfo
	}{
		{"go install module@version", buildInfo{"dev", "none", "unknown"}, &debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}}, buildInfo{"v0.2.0", "none", "unknown"}},
		{"go build in a dirty checkout", buildInfo{"dev", "none", "unknown"}, &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: stamped.Settings}, buildInfo{"dev", "5f1c3e0a-dirty", "2026-12-01T10:00:00Z"}},
		{"linker values win", buildInfo{"v0.1.0", "abc", "2026-11-01"}, stamped, buildInfo{"v0.1.0", "abc", "2026-11-01"}},
	}
	for _, tt := range tests {
		if got := fillFromBuildInfo(tt.start, tt.info); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
	v := runPin(t, "", nil, "version").mustSucceed(t, "version")
	if !strings.HasPrefix(v.out, "pin ") {
		t.Fatalf("pin version printed %q, want it to start with \"pin \"", v.out)
	}
	// --version and -v are pin's own flag (not cobra's template): same output.
	for _, arg := range []string{"--version", "-v"} {
		if flag := runPin(t, "", nil, arg).mustSucceed(t, arg); flag.out != v.out {
			t.Errorf("pin %s printed %q, pin version %q", arg, flag.out, v.out)
		}
	}
}
