package main

import (
	"context"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/releaseconfig"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/pin"
)

// Shell completion beyond flag names: channel names, output formats,
// finding kinds, and release versions read from the store. Versions are
// suggestions only, read without verifying signatures (a completion must be
// quick and cannot ask for a key); every command verifies what it acts on.

// addCompletions registers value completions on every command of root that
// has the flags or arguments they complete.
func addCompletions(root *cobra.Command, a *app) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		flag := func(name string, fn func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)) {
			if c.Flags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, fn)
			}
		}
		flag("channel", fixedCompletion(channels.Names...))
		if c.CommandPath() == "pin release promote" {
			flag("to", fixedCompletion(channels.Stable))
		}
		flag("summary", fixedCompletion("markdown"))
		// An --output bound with bindOutput completes its own formats.
		if f := c.Flags().Lookup("output"); f != nil {
			if _, enum := f.Value.(*outputFlag); !enum {
				flag("output", fixedCompletion(textOrJSON...))
			}
		}
		switch c.CommandPath() {
		case "pin audit":
			flag("fail-on", fixedCompletion("unpinned", "unknown-digest", "outdated", "yanked", "mixed"))
		case "pin check":
			flag("fail-on", fixedCompletion(pin.FindingKinds...))
		case "pin update":
			flag("to", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
				return consumerVersions(cmd.Context(), a, flagValue(cmd, "config")), cobra.ShellCompDirectiveNoFileComp
			})
		case "pin release promote", "pin release show", "pin release yank", "pin release diff":
			max := 1
			if c.Name() == "diff" {
				max = 2
			}
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
				if len(args) >= max {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return producerVersions(cmd.Context(), a, flagValue(cmd, "config"), flagValue(cmd, "source")), cobra.ShellCompDirectiveNoFileComp
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func flagValue(cmd *cobra.Command, name string) string {
	if f := cmd.Flags().Lookup(name); f != nil {
		return f.Value.String()
	}
	return ""
}

// producerVersions lists the versions of the store release.yaml (or
// --source) names.
func producerVersions(ctx context.Context, a *app, config, source string) []string {
	loc := a.path(source)
	if loc == "" {
		if config == "" {
			config = producerConfig.name
		}
		config = a.path(config)
		cfg, err := releaseconfig.Load(config)
		if err != nil {
			return nil
		}
		loc = cfg.Store
	}
	return storeVersions(ctx, a, loc, "")
}

// consumerVersions lists the versions of the store pin.yaml names.
func consumerVersions(ctx context.Context, a *app, config string) []string {
	if config == "" {
		config = consumerConfig.name
	}
	cfg, err := pin.LoadConfig(a.findConfig(config))
	if err != nil {
		return nil
	}
	return storeVersions(ctx, a, cfg.Source, cfg.Channel)
}

// storeVersions lists the versions the store's channel indexes name: all of
// them, or (for a consumer of channel) those it may select, yanked left out.
func storeVersions(ctx context.Context, a *app, loc, channel string) []string {
	if ctx == nil {
		ctx = context.Background()
	}
	if _, err := os.Stat(loc); err != nil && !strings.Contains(loc, "://") {
		return nil
	}
	st, err := channels.Open(loc, channels.OpenOptions{Registry: registryOptions(a)})
	if err != nil {
		return nil
	}
	idx := map[string]*manifest.Channel{}
	for _, name := range channels.Names {
		doc, err := st.GetChannel(ctx, name)
		if err != nil {
			continue
		}
		if c, err := manifest.DecodeChannel(doc.Bytes, manifest.Expect{Channel: name}); err == nil {
			idx[name] = c
		}
	}
	var out []string
	if channel != "" {
		for _, c := range channels.Visible(channel, idx) {
			if !c.Yanked {
				out = append(out, c.Version)
			}
		}
		return out
	}
	seen := map[string]bool{}
	for _, name := range channels.Names {
		if idx[name] == nil {
			continue
		}
		for _, e := range idx[name].Releases {
			if !seen[e.Version] {
				seen[e.Version] = true
				out = append(out, e.Version)
			}
		}
	}
	return out
}
