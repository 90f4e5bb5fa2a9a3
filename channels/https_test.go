package channels

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
)

// TestHTTPStoreReadsEverySignatureFile: a document served over HTTPS reads
// exactly as the directory behind it does: its .sig, its Sigstore bundle and
// its further signatures (.sigs) for a threshold over one, whichever it has.
// A missing signature file is none; a failing or oversized one is an error.
func TestHTTPStoreReadsEverySignatureFile(t *testing.T) {
	more := []manifest.Signature{{KeyID: "k2", Sig: "c2lnMg=="}, {KeyID: "k3", Sig: "c2lnMw=="}}
	cases := []struct {
		name string
		doc  Document
	}{
		{"key signature only", Document{Signature: []byte("c2lnMQ==")}},
		{"bundle only", Document{Bundle: []byte(`{"bundle":1}`)}},
		{"key signature and further signatures", Document{Signature: []byte("c2lnMQ=="), More: more}},
		{"bundle and further signatures", Document{Bundle: []byte(`{"bundle":1}`), More: more}},
		{"key signature, bundle and further signatures", Document{Signature: []byte("c2lnMQ=="), Bundle: []byte(`{"bundle":1}`), More: more}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			ds := NewDirStore(dir)
			tc.doc.Bytes = []byte(`{"doc":1}`)
			if err := os.MkdirAll(filepath.Join(dir, "channels"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := ds.PutChannel(ctx, Stable, tc.doc); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
			defer srv.Close()
			hs, err := NewHTTPStore(srv.URL, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			fromDir, err := ds.GetChannel(ctx, Stable)
			if err != nil {
				t.Fatal(err)
			}
			fromHTTP, err := hs.GetChannel(ctx, Stable)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fromDir, fromHTTP) || !reflect.DeepEqual(fromHTTP, tc.doc) {
				t.Fatalf("over HTTPS %+v\nfrom the directory %+v\nwritten %+v", fromHTTP, fromDir, tc.doc)
			}
		})
	}
}

func TestHTTPStoreSignatureFileFaults(t *testing.T) {
	cases := []struct {
		name    string
		serve   func(w http.ResponseWriter, r *http.Request) bool // true: answered
		want    string
		trust   bool
		missing bool
	}{
		{"a .sigs that fails is an error, not none", func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, ".sigs") {
				http.Error(w, "boom", http.StatusInternalServerError)
				return true
			}
			return false
		}, "500", false, false},
		{"an oversized .sigs is refused", func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, ".sigs") {
				w.Write([]byte(strings.Repeat(" ", 65<<10)))
				return true
			}
			return false
		}, "cap", true, false},
		{"a bundle that fails is an error", func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, BundleSuffix) {
				http.Error(w, "boom", http.StatusBadGateway)
				return true
			}
			return false
		}, "502", false, false},
		{"a document with no signature file is not found", func(w http.ResponseWriter, r *http.Request) bool {
			if strings.HasSuffix(r.URL.Path, ".sig") {
				http.NotFound(w, r)
				return true
			}
			return false
		}, "neither a .sig nor", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			if err := NewDirStore(dir).PutChannel(ctx, Stable, Document{Bytes: []byte(`{}`), Signature: []byte("c2ln")}); err != nil {
				t.Fatal(err)
			}
			files := http.FileServer(http.Dir(dir))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !tc.serve(w, r) {
					files.ServeHTTP(w, r)
				}
			}))
			defer srv.Close()
			hs, err := NewHTTPStore(srv.URL, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			_, err = hs.GetChannel(ctx, Stable)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if got := exitcode.Of(err) == exitcode.Trust; got != tc.trust {
				t.Errorf("trust error %v, want %v: %v", got, tc.trust, err)
			}
			if got := errors.Is(err, ErrNotFound); got != tc.missing {
				t.Errorf("not found %v, want %v: %v", got, tc.missing, err)
			}
		})
	}
}
