package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

type versionOptions struct{ Output string }

func newVersionCmd(a *app) *cobra.Command {
	opts := &versionOptions{}
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print pin's version, commit and build date",
		Example: "  pin version\n  pin version --output json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVersion(a, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Output, "output", "text", "output format: text or json")
	return cmd
}

func runVersion(a *app, opts *versionOptions) error {
	if err := checkOutput(opts.Output, "text", "json"); err != nil {
		return err
	}
	if opts.Output == "json" {
		return writeJSON(a.Out, map[string]string{"version": version, "commit": commit, "date": date, "go": runtime.Version()})
	}
	_, err := fmt.Fprintf(a.Out, "pin %s (commit %s, built %s, %s)\n", version, commit, date, runtime.Version())
	return err
}
