package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wellcomecollection/pin/internal/suggest"
)

// argsHints says, for commands that take no arguments, what users who pass
// one (a file name, usually) should do instead.
var argsHints = map[string]string{
	"pin check":  "it checks the files pin.yaml lists under files: (edit files: to choose them)",
	"pin update": "it rewrites the files pin.yaml lists under files: (edit files: to choose them)",
	"pin audit":  "it reads the files pin.yaml lists under files:, or --files PATTERN",
}

// explainArgs rewrites cobra's argument errors the way kubectl and gh users
// expect: an unknown subcommand gets "did you mean", and a leaf command that
// takes no arguments says so (cobra calls a stray file an unknown command).
func explainArgs(c *cobra.Command, args []string, err error) error {
	if len(args) == 0 || !strings.HasPrefix(err.Error(), "unknown command") {
		return err
	}
	if c.HasAvailableSubCommands() {
		var names []string
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				names = append(names, sub.Name())
				names = append(names, sub.Aliases...)
			}
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
		if hint := suggest.Hint(args[0], "", names); hint != "" {
			msg += ": " + hint
		} else {
			msg += fmt.Sprintf(" (%s --help lists them)", c.CommandPath())
		}
		return errors.New(msg)
	}
	msg := fmt.Sprintf("%s takes no arguments, got %q", c.CommandPath(), args[0])
	if hint := argsHints[c.CommandPath()]; hint != "" {
		msg += ": " + hint
	}
	return errors.New(msg)
}

// explainFlag adds "did you mean --dry-run?" to an unknown flag error, as
// kubectl does, from the flags the command accepts.
func explainFlag(c *cobra.Command, err error) error {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return err
	}
	var names []string
	add := func(f *pflag.Flag) {
		if !f.Hidden {
			names = append(names, f.Name)
		}
	}
	c.Flags().VisitAll(add)
	c.InheritedFlags().VisitAll(add)
	if hint := suggest.Hint(name, "--", names); hint != "" {
		return fmt.Errorf("%w: %s", err, hint)
	}
	return err
}
