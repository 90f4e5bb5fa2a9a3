package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The flags several commands share are bound here, once each, so that a
// flag means the same thing, with the same default and help, wherever it
// appears (as cosign's options package does): --config, the source and
// trust group (--source, --key-file, --config) and -o/--output.

// configFile is what a --config names. The two files mean different things
// and have different defaults: the producer's release.yaml and the
// consumer's pin.yaml.
type configFile struct {
	name  string // the default, in the working directory
	usage string
}

var (
	producerConfig = configFile{"release.yaml", "release configuration: the product, its components, store and channels"}
	consumerConfig = configFile{"pin.yaml", "consumer configuration: the source, channel and keys to trust, and the files to pin"}
	// inspectedConfig is what the read-only commands (channel show, release
	// list/show/diff/next) read: either file, release.yaml by default.
	inspectedConfig = configFile{"release.yaml", "release.yaml whose store to read, or a pin.yaml whose source to read and root (or keys) to verify with (when ./release.yaml is absent: the project's pin.yaml)"}
)

// bindConfig binds --config to *p, defaulting to cf's file. It returns the
// flag, whose Changed tells a --config given from the default.
func bindConfig(cmd *cobra.Command, p *string, cf configFile) *pflag.Flag {
	cmd.Flags().StringVar(p, "config", cf.name, cf.usage)
	_ = cmd.MarkFlagFilename("config", "yaml", "yml")
	return cmd.Flags().Lookup("config")
}

// trustFlags is the one flag group for where releases are read from and
// which keys must have signed them: --config (whose store or source, and
// for pin.yaml whose keys, apply), or --source STORE with --key-file PUB.
// Which of the two a command reads, and what it requires, is the command's
// (trustFlags.source); the flags, their defaults and their help are bound
// here only.
type trustFlags struct {
	Source  string
	Config  string
	KeyFile []string
	// configFlag is --config once bound: Changed tells a --config given
	// from the default file, which --source replaces.
	configFlag *pflag.Flag
}

// trustUsage is what a command adds to the group's help: how --source
// relates to its --config, and to --key-file.
type trustUsage struct{ source, keyFile string }

// bind binds --source, --key-file and --config (cf's file by default).
func (f *trustFlags) bind(cmd *cobra.Command, cf configFile, u trustUsage) {
	cmd.Flags().StringVar(&f.Source, "source", "", "store releases are read from: oci://HOST/REPO, https://... or a directory"+u.source)
	cmd.Flags().StringArrayVar(&f.KeyFile, "key-file", nil, "public key that must have signed what is read"+u.keyFile)
	_ = cmd.MarkFlagFilename("key-file", "pub", "pem")
	f.configFlag = bindConfig(cmd, &f.Config, cf)
}

// configGiven reports whether --config was given rather than defaulted
// (for flags set in code, not bound to a command: whether Config is set).
func (f *trustFlags) configGiven() bool {
	if f.configFlag == nil {
		return f.Config != ""
	}
	return f.configFlag.Changed
}

// outputFlag is an -o/--output value restricted to the formats a command
// can write: any other is a usage error when the flags are parsed, naming
// the allowed ones, and shell completion offers them.
type outputFlag struct {
	value   *string
	allowed []string
}

func (o *outputFlag) String() string { return *o.value }
func (o *outputFlag) Type() string   { return "format" }

func (o *outputFlag) Set(v string) error {
	if !slices.Contains(o.allowed, v) {
		return fmt.Errorf("use one of %s", strings.Join(o.allowed, ", "))
	}
	*o.value = v
	return nil
}

// Output formats.
const (
	outputText     = "text"
	outputJSON     = "json"
	outputTable    = "table"
	outputMarkdown = "markdown"
)

// textOrJSON are the formats of most commands.
var textOrJSON = []string{outputText, outputJSON}

// bindOutput binds -o/--output to *p, allowing formats (the first is the
// default), and completes its values.
func bindOutput(cmd *cobra.Command, p *string, formats ...string) {
	*p = formats[0]
	cmd.Flags().VarP(&outputFlag{value: p, allowed: formats}, "output", "o", "output format: "+orList(formats))
	_ = cmd.RegisterFlagCompletionFunc("output", fixedCompletion(formats...))
}

// bindOutputAlias binds a hidden flag name that sets the same output as
// --output, through the same check (audit's --format, kept for scripts).
func bindOutputAlias(cmd *cobra.Command, name string, p *string, formats ...string) {
	cmd.Flags().Var(&outputFlag{value: p, allowed: formats}, name, "output format (deprecated: use --output)")
	_ = cmd.Flags().MarkHidden(name)
	_ = cmd.RegisterFlagCompletionFunc(name, fixedCompletion(formats...))
}

// orList renders "a, b or c".
func orList(values []string) string {
	if len(values) < 2 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

// fixedCompletion completes a flag or argument with fixed values.
func fixedCompletion(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// pathFlags are the flags, in whichever command has them, whose values are
// files or directories the user typed. resolvePaths makes them relative to
// app.Dir before the command runs, so that no command (nor the workflow
// packages it calls) depends on the process's working directory. Not here:
// --source, which pin init records as typed (the command resolves it), and
// signing keys (--key and its kin), which loadSigner resolves when they
// are files.
var pathFlags = []string{"config", "key-file", "root", "out", "tfstate", "record", "identity-token", "cache-dir", "with-store", "sigstore-trusted-root", "keep"}

// resolvePaths resolves cmd's path flags against a.Dir (app.path).
func resolvePaths(cmd *cobra.Command, a *app) error {
	for _, name := range pathFlags {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			continue
		}
		var err error
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			err = sv.Replace(a.paths(sv.GetSlice()))
		} else {
			err = f.Value.Set(a.path(f.Value.String()))
		}
		if err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
	}
	return nil
}
