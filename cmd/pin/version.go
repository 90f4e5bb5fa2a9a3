package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

type versionOptions struct{ Output string }

func newVersionCmd(a *app) *cobra.Command {
	opts := &versionOptions{}
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print pin's version, commit and build date",
		Example: "  pin version\n  pin version --output json\n  pin --version",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVersion(a, opts)
		},
	}
	bindOutput(cmd, &opts.Output, textOrJSON...)
	return cmd
}

// buildInfo is what this binary knows about its own build.
type buildInfo struct {
	Version, Commit, Date string
}

// currentBuild returns the linker's values (release builds, see Makefile);
// for a binary built by `go install module@version` or `go build` in a
// checkout, where they are unset, the module version and VCS stamp that Go
// records in every binary.
func currentBuild() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Date: date}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	return fillFromBuildInfo(b, info)
}

func fillFromBuildInfo(b buildInfo, info *debug.BuildInfo) buildInfo {
	if b.Version == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		b.Version = info.Main.Version
	}
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Commit == "none" {
				b.Commit = s.Value
			}
		case "vcs.time":
			if b.Date == "unknown" {
				b.Date = s.Value
			}
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified && b.Commit != "none" && b.Commit == vcsRevision(info) {
		b.Commit += "-dirty"
	}
	return b
}

func vcsRevision(info *debug.BuildInfo) string {
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	return ""
}

func (b buildInfo) String() string {
	return fmt.Sprintf("pin %s (commit %s, built %s, %s)", b.Version, b.Commit, b.Date, runtime.Version())
}

func runVersion(a *app, opts *versionOptions) error {
	b := currentBuild()
	if opts.Output == outputJSON {
		return writeJSON(a.Out, map[string]string{"version": b.Version, "commit": b.Commit, "date": b.Date, "go": runtime.Version()})
	}
	_, err := fmt.Fprintln(a.Out, b)
	return err
}
