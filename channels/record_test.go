package channels

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
)

// TestPublisherRecordRefusesRollback: with a publish record, a publisher
// never extends a store index that is older than, other than, or forked from
// what it recorded, nor restarts a deleted channel; the store is left as it
// was. Without the record (main), each of these was re-signed.
func TestPublisherRecordRefusesRollback(t *testing.T) {
	ctx := context.Background()
	files := func(t *testing.T, root string) map[string]string {
		t.Helper()
		out := map[string]string{}
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				b, _ := os.ReadFile(p)
				out[p] = string(b) + info.ModTime().String()
			}
			return nil
		})
		return out
	}
	cases := []struct {
		name   string
		attack func(t *testing.T, root string, preYank map[string][]byte, pub *Publisher)
		want   string
	}{
		{"restore the index from before the yank", func(t *testing.T, root string, preYank map[string][]byte, _ *Publisher) {
			for n, b := range preYank {
				os.WriteFile(filepath.Join(root, "channels", n), b, 0o644)
			}
		}, "below sequence 2 recorded"},
		{"delete the index", func(t *testing.T, root string, _ map[string][]byte, _ *Publisher) {
			os.Remove(filepath.Join(root, "channels", "stable.json"))
			os.Remove(filepath.Join(root, "channels", "stable.json.sig"))
		}, "the index is missing"},
		{"re-signed at a higher sequence without the yank", func(t *testing.T, root string, preYank map[string][]byte, pub *Publisher) {
			idx, err := manifest.DecodeChannel(preYank["stable.json"], manifest.Expect{})
			if err != nil {
				t.Fatal(err)
			}
			idx.Sequence = 3
			b, _ := idx.Encode()
			sig, _ := pub.Signer.SignBlob(ctx, b)
			os.WriteFile(filepath.Join(root, "channels", "stable.json"), b, 0o644)
			os.WriteFile(filepath.Join(root, "channels", "stable.json.sig"), sig, 0o644)
		}, "un-yanked"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pub, _, _ := newPublisher(t)
			rec, err := LoadRecord(filepath.Join(t.TempDir(), DefaultRecordName), product)
			if err != nil {
				t.Fatal(err)
			}
			pub.Record = rec
			if _, err := pub.Create(ctx, testRelease("1.5.0-edge.1", "a"), Edge, time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, err := pub.Promote(ctx, "1.5.0-edge.1", Stable, "", time.Hour); err != nil {
				t.Fatal(err)
			}
			root := pub.Store.(*DirStore).root
			preYank := map[string][]byte{}
			for _, n := range []string{"stable.json", "stable.json.sig"} {
				preYank[n], _ = os.ReadFile(filepath.Join(root, "channels", n))
			}
			if _, err := pub.Yank(ctx, Stable, "1.5.0", "broken", time.Hour); err != nil {
				t.Fatal(err)
			}
			tc.attack(t, root, preYank, pub)
			before, recBefore := files(t, root), files(t, filepath.Dir(rec.Path))
			_, err = pub.Refresh(ctx, Stable, time.Hour)
			if exitcode.Of(err) != exitcode.Trust || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("refresh: %v (exit %d), want a trust error with %q", err, exitcode.Of(err), tc.want)
			}
			if len(files(t, root)) != len(before) || len(files(t, filepath.Dir(rec.Path))) != len(recBefore) {
				t.Fatal("the refused refresh added or removed a file")
			}
			for p, v := range files(t, root) {
				if before[p] != v {
					t.Fatalf("the refused refresh changed %s", p)
				}
			}
		})
	}
}
