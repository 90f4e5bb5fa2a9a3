package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNonCanonicalDocumentsRefused: every spelling of a document that another
// JSON reader could decode differently from pin is refused, and each refusal
// wraps ErrNotCanonical. Each case changes the canonical golden bytes in one
// way; the unchanged bytes must still decode (so a case cannot pass by
// breaking something else).
func TestNonCanonicalDocumentsRefused(t *testing.T) {
	release := string(mustReadTestdata(t, "release.json"))
	channel := string(mustReadTestdata(t, "channel.json"))
	if _, err := DecodeRelease([]byte(release), Expect{}); err != nil {
		t.Fatalf("canonical release refused: %v", err)
	}
	if _, err := DecodeChannel([]byte(channel), Expect{}); err != nil {
		t.Fatalf("canonical channel refused: %v", err)
	}
	const otherDigest = `"sha256:0000000000000000000000000000000000000000000000000000000000000000"`
	cases := []struct {
		name, kind, doc, why string
	}{
		// Go keeps the last of two keys, jq and Python the first... or the
		// other way round; either way the two readers disagree.
		{"duplicate top-level key", KindRelease, strings.Replace(release, `"version":"1.5.0-edge.2"`, `"version":"1.5.0-edge.2","version":"1.5.0-edge.2"`, 1), `key "version" appears twice`},
		{"case-variant top-level key (components + Components)", KindRelease, strings.Replace(release, `{"components":`, `{"Components":[],"components":`, 1), `key "components" appears twice`},
		{"case-variant key alone (Components)", KindRelease, strings.Replace(release, `{"components":`, `{"Components":`, 1), "differs from its canonical encoding at byte 2"},
		{"case-variant key in a nested object (digest + Digest)", KindRelease, strings.Replace(release, `"name":"notifier"`, `"name":"notifier","Digest":`+otherDigest, 1), `appears twice in components[1]`},
		{"case-variant key in a platform", KindRelease, strings.Replace(release, `"os":"linux","variant":"v8"`, `"os":"linux","OS":"windows","variant":"v8"`, 1), `appears twice in components[0].platforms[1]`},
		{"\\u-escaped key spelling", KindRelease, strings.Replace(release, `"product":`, `"\u0070roduct":`, 1), "differs from its canonical encoding"},
		{"\\u-escaped duplicate key", KindChannel, strings.Replace(channel, `"sequence":7`, `"sequence":7,"s\u0065quence":8`, 1), `key "sequence" appears twice`},
		{"Kelvin-sign key Go folds to k", KindChannel, strings.Replace(channel, `"kind":"Channel"`, "\"\u212aind\":\"Channel\"", 1), "differs from its canonical encoding"},
		{"invalid UTF-8 in a value", KindRelease, strings.Replace(release, `abc<&>`, "abc\xff", 1), "invalid UTF-8 at byte"},
		{"escaped value that decodes the same", KindRelease, strings.Replace(release, `abc<&>`, `abc\u003c&>`, 1), "differs from its canonical encoding"},
		{"insignificant whitespace", KindChannel, strings.Replace(channel, `"sequence":7`, `"sequence": 7`, 1), "differs"},
		{"trailing newline", KindChannel, channel + "\n", "differs"},
		{"unsorted keys", KindChannel, strings.Replace(strings.Replace(channel, `{"channel":"edge",`, `{`, 1), `"kind":"Channel"`, `"kind":"Channel","channel":"edge"`, 1), "differs"},
		{"entries out of SemVer order", KindChannel, swapEntries(channel), "differs"},
		{"time not in UTC", KindChannel, strings.Replace(channel, `"issued":"2026-11-27T00:00:00Z"`, `"issued":"2026-11-27T01:00:00+01:00"`, 1), "differs"},
		{"fractional seconds", KindChannel, strings.Replace(channel, `"issued":"2026-11-27T00:00:00Z"`, `"issued":"2026-11-27T00:00:00.000Z"`, 1), "differs"},
		{"yanked:false spelled out", KindChannel, strings.Replace(channel, `"version":"1.9.0-edge.2"`, `"version":"1.9.0-edge.2","yanked":false`, 1), "differs"},
		{"number spelled 7.0e0", KindChannel, strings.Replace(channel, `"sequence":7`, `"sequence":70e-1`, 1), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := tc.doc
			if doc == release || doc == channel {
				t.Fatal("the case did not change the document")
			}
			var err error
			if tc.kind == KindRelease {
				_, err = DecodeRelease([]byte(doc), Expect{})
			} else {
				_, err = DecodeChannel([]byte(doc), Expect{})
			}
			if err == nil {
				t.Fatalf("accepted:\n%s", doc)
			}
			if tc.why != "" && !errors.Is(err, ErrNotCanonical) {
				t.Fatalf("refused, but not as non-canonical: %v", err)
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("error %q does not say %q", err, tc.why)
			}
		})
	}
}

func mustReadTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// swapEntries moves the channel golden's last entry first.
func swapEntries(channel string) string {
	start := strings.Index(channel, `"releases":[`) + len(`"releases":[`)
	end := strings.LastIndex(channel, `]`)
	inner := strings.TrimSuffix(strings.TrimPrefix(channel[start:end], "{"), "}")
	entries := strings.Split(inner, `},{`)
	entries = append(entries[len(entries)-1:], entries[:len(entries)-1]...)
	return channel[:start] + "{" + strings.Join(entries, `},{`) + "}" + channel[end:]
}
