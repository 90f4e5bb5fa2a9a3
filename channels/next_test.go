package channels

import (
	"testing"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
)

func listing(versions ...string) *manifest.Channel {
	c := &manifest.Channel{}
	for _, v := range versions {
		c.Releases = append(c.Releases, manifest.Entry{Version: v})
	}
	return c
}

func TestNextVersion(t *testing.T) {
	tests := []struct {
		name          string
		channel       string
		stable, edge  *manifest.Channel
		base          string
		want          string
		wantUsageCode bool
	}{
		{"edge continues its N", Edge, listing("1.4.0"), listing("1.5.0-edge.1", "1.5.0-edge.2"), "", "1.5.0-edge.3", false},
		{"edge after promotion moves to the next patch", Edge, listing("1.4.0", "1.5.0"), listing("1.5.0-edge.1", "1.5.0-edge.2"), "", "1.5.1-edge.1", false},
		{"a lagging version file is overtaken", Edge, listing("1.5.0"), listing("1.5.0-edge.2"), "1.5.0", "1.5.1-edge.1", false},
		{"a bumped version file wins", Edge, listing("1.5.0"), listing("1.5.0-edge.2"), "1.6.0", "1.6.0-edge.1", false},
		{"yanked versions are not reused", Edge, nil, &manifest.Channel{Releases: []manifest.Entry{{Version: "2.0.0-edge.4", Yanked: true}}}, "", "2.0.0-edge.5", false},
		{"numeric, not lexical, N", Edge, nil, listing("1.0.0-edge.9", "1.0.0-edge.10"), "", "1.0.0-edge.11", false},
		{"first edge release from base", Edge, nil, nil, "0.1.0", "0.1.0-edge.1", false},
		{"first release needs a base", Edge, nil, nil, "", "", true},
		{"stable next patch", Stable, listing("1.5.0"), nil, "", "1.5.1", false},
		{"stable from base", Stable, listing("1.5.0"), nil, "2.0.0", "2.0.0", false},
		{"bad base", Edge, nil, nil, "v1", "", true},
		{"unknown channel", "beta", nil, nil, "1.0.0", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NextVersion(tt.channel, tt.stable, tt.edge, tt.base)
			if tt.wantUsageCode {
				if exitcode.Of(err) != exitcode.Usage {
					t.Fatalf("NextVersion = %q, %v; want a usage error", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NextVersion = %q, %v; want %q", got, err, tt.want)
			}
			if _, err := CheckVersion(tt.channel, got); err != nil {
				t.Fatalf("%s does not fit %s: %v", got, tt.channel, err)
			}
		})
	}
}
