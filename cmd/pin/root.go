package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/internal/exitcode"
)

const rootLong = `pin turns mutable image tags (latest) into signed release manifests that list
every component by digest, publishes them on stable and edge channels, and pins
deployment configuration (Terraform, compose, Kubernetes, ECS, Dockerfiles) to
exactly those digests after verifying signature, expiry and rollback.

Exit codes: 0 ok, 1 operational failure, 2 usage or configuration error,
3 trust failure, 4 findings (drift, audit findings, update available).`

const rootExample = `  # Producer: cut an edge release from the current tags and promote it
  pin release create 1.5.0-edge.1 --config release.yaml --channel edge --key release.key
  pin release promote 1.5.0-edge.1 --to stable --config release.yaml --key release.key

  # Consumer: pin a Terraform configuration to the newest stable release
  pin init --source oci://registry.example/storage-service-releases --channel stable --key-file release.pub
  pin update && pin check`

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "pin",
		Short:         "Signed, digest-pinned releases of container images, and deployments pinned to them",
		Long:          rootLong,
		Example:       rootExample,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// pin --version prints what pin version does, as gh and kubectl accept both.
	// The flag is pin's own, not cobra's (root.Version with SetVersionTemplate):
	// cobra renders a version template with text/template, whose reflective
	// method calls switch off the linker's dead-method elimination for the
	// whole binary (BENCHMARKS.md, "Binary size").
	showVersion := root.Flags().BoolP("version", "v", false, "print pin's version, as pin version does")
	root.PersistentFlags().BoolVarP(&a.Quiet, "quiet", "q", false, "no progress or retry lines on stderr (shown only on a terminal)")
	root.SetIn(a.In)
	root.SetOut(a.Out)
	root.SetErr(a.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return flagError{exitcode.UsageError(explainFlag(c, err))}
	})
	root.AddCommand(
		newVersionCmd(a),
		newKeysCmd(a),
		newResolveCmd(a),
		newReleaseCmd(a),
		newChannelCmd(a),
		newInitCmd(a),
		newUpdateCmd(a),
		newCheckCmd(a),
		newAuditCmd(a),
		newMirrorCmd(a),
		newDemoCmd(a),
		newTrustRootCmd(a),
	)
	root.InitDefaultCompletionCmd()
	root.Args = cobra.NoArgs // "pin bogus" is an unknown command, a usage error
	root.RunE = func(cmd *cobra.Command, args []string) error {
		if *showVersion {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), currentBuild().String())
			return err
		}
		return groupHelp(cmd, args)
	}
	markArgErrors(root)
	addCompletions(root, a)
	if c, _, err := root.Find([]string{"completion"}); err == nil && c != root {
		c.Example = "  source <(pin completion bash)\n  pin completion zsh > \"${fpath[1]}/_pin\"\n  pin completion fish > ~/.config/fish/completions/pin.fish\n  pin completion powershell | Out-String | Invoke-Expression"
	}
	return root
}

// groupHelp is the RunE of commands that only group others: help without
// arguments; an unknown subcommand is a usage error (cobra.NoArgs says so).
func groupHelp(cmd *cobra.Command, _ []string) error { return cmd.Help() }

type flagError struct{ error }

func (f flagError) Unwrap() error { return f.error }

// markArgErrors wraps every command's argument check so that its errors are
// recognisably usage errors, without matching on message text.
func markArgErrors(c *cobra.Command) {
	if orig := c.Args; orig != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := orig(cmd, args); err != nil {
				return flagError{exitcode.UsageError(explainArgs(cmd, args, err))}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		markArgErrors(sub)
	}
}

// isFlagError reports cobra's own argument and flag errors, which are usage
// errors. Only cobra's required-flag check escapes both FlagErrorFunc and
// Args; it is recognised by the exact start of its message.
func isFlagError(err error) bool {
	var fe flagError
	if errors.As(err, &fe) {
		return true
	}
	return strings.HasPrefix(err.Error(), `required flag(s) "`)
}
