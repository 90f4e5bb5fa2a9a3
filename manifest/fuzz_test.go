package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wellcomecollection/pin/internal/fuzzseed"
)

// The fuzz tests of this package decode arbitrary bytes as signed documents.
// Decoding never panics; a refusal names the kind of document (and, for a
// bad field, a *FieldError names the field); and every document that decodes
// also encodes, to canonical bytes (sorted keys, no insignificant space,
// valid UTF-8) that decode to a document encoding to the same bytes again,
// with every digest, version and name unchanged, and that a reader expecting
// another product, channel or version refuses.

func FuzzDecodeRelease(f *testing.F) {
	good, err := sampleRelease().Encode()
	if err != nil {
		f.Fatal(err)
	}
	fuzzseed.Add(f, fuzzseed.Files(f, "testdata", func(rel string) bool { return strings.HasPrefix(rel, "release") })...)
	fuzzseed.Add(f,
		good,
		[]byte(strings.Replace(string(good), `"created":"2026-11-27T11:00:00Z"`, `"created":"2026-11-27T12:00:00.5+01:00"`, 1)),
		[]byte(strings.Replace(string(good), `"kind":"Release"`, `"kind":"Release","promotedFrom":{"version":"1.5.0-edge.1","digest":"`+Digest([]byte("p"))+`"}`, 1)),
		[]byte(" \n"+string(good)+"\n"),
		[]byte(strings.Replace(string(good), `"created":"2026-11-27T11:00:00Z"`, `"created":"0000-01-01T00:00:00+01:00"`, 1)),
		[]byte(strings.Replace(string(good), `"created":"2026-11-27T11:00:00Z"`, `"created":"9999-12-31T23:59:59-01:00"`, 1)),
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRelease(b, Expect{})
		if err != nil {
			checkDecodeError(t, KindRelease, err)
			return
		}
		enc := encodeCanonical(t, r)
		again, err := DecodeRelease(enc, Expect{Product: r.Product, Version: r.Version})
		if err != nil {
			t.Fatalf("encoded release does not decode: %v\n%s", err, enc)
		}
		if enc2 := encodeCanonical(t, again); !bytes.Equal(enc, enc2) {
			t.Fatalf("release bytes changed across decode and encode:\n%s\n%s", enc, enc2)
		}
		if !reflect.DeepEqual(noEmptyPlatforms(r.Components), noEmptyPlatforms(again.Components)) || !reflect.DeepEqual(r.PromotedFrom, again.PromotedFrom) ||
			r.Source != again.Source || !r.Created.Truncate(time.Second).Equal(again.Created) {
			t.Fatalf("round trip changed the release:\n%+v\n%+v", r, again)
		}
		for _, want := range []Expect{{Product: r.Product + "x"}, {Version: r.Version + ".1"}} {
			var fe *FieldError
			if _, err := DecodeRelease(b, want); !errors.As(err, &fe) {
				t.Fatalf("release for %s %s decoded while expecting %+v: %v", r.Product, r.Version, want, err)
			}
		}
	})
}

func FuzzDecodeChannel(f *testing.F) {
	fuzzseed.Add(f, fuzzseed.Files(f, "testdata", func(rel string) bool { return strings.HasPrefix(rel, "channel") })...)
	fuzzseed.Add(f,
		[]byte(`{"channel":"stable","expires":"2026-12-04T00:00:00.9Z","issued":"2026-12-04T00:00:00.1Z","kind":"Channel","product":"p","releases":[],"schemaVersion":1,"sequence":1}`),
		[]byte(`{"channel":"stable","expires":"2027-01-01T00:00:00+14:00","issued":"2026-12-31T23:00:00-12:00","kind":"Channel","product":"p","releases":[{"version":"2.0.0","digest":"`+Digest([]byte("2"))+`","created":"2026-01-01T00:00:00Z"},{"version":"1.0.0","digest":"`+Digest([]byte("1"))+`","created":"2026-01-01T00:00:00Z","yanked":true}],"schemaVersion":1,"sequence":9223372036854775807}`),
	)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeChannel(b, Expect{})
		if err != nil {
			checkDecodeError(t, KindChannel, err)
			return
		}
		enc := encodeCanonical(t, c)
		again, err := DecodeChannel(enc, Expect{Product: c.Product, Channel: c.Channel})
		if err != nil {
			t.Fatalf("encoded channel does not decode: %v\n%s", err, enc)
		}
		if enc2 := encodeCanonical(t, again); !bytes.Equal(enc, enc2) {
			t.Fatalf("channel bytes changed across decode and encode:\n%s\n%s", enc, enc2)
		}
		if again.Sequence != c.Sequence || len(again.Releases) != len(c.Releases) {
			t.Fatalf("round trip changed the channel:\n%+v\n%+v", c, again)
		}
		for _, e := range c.Releases {
			got, ok := again.Entry(e.Version)
			if !ok || got.Digest != e.Digest || got.Yanked != e.Yanked || got.Reason != e.Reason || !got.Created.Equal(e.Created.Truncate(time.Second)) {
				t.Fatalf("round trip changed release %s: %+v, was %+v", e.Version, got, e)
			}
		}
		for _, want := range []Expect{{Product: c.Product + "x"}, {Channel: c.Channel + "x"}} {
			var fe *FieldError
			if _, err := DecodeChannel(b, want); !errors.As(err, &fe) {
				t.Fatalf("channel %s/%s decoded while expecting %+v: %v", c.Product, c.Channel, want, err)
			}
		}
	})
}

// checkDecodeError: every refusal says which kind of document it was.
func checkDecodeError(t *testing.T, kind string, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), strings.ToLower(kind)+" document") {
		t.Fatalf("decode error does not name the document: %v", err)
	}
	var fe *FieldError
	if errors.As(err, &fe) && (fe.Kind != kind || fe.Field == "") {
		t.Fatalf("field error %+v does not name the document and field", fe)
	}
}

// encodeCanonical encodes a decoded document, which must succeed, and
// checks that the bytes are canonical.
func encodeCanonical(t *testing.T, d interface{ Encode() ([]byte, error) }) []byte {
	t.Helper()
	enc, err := d.Encode()
	if err != nil {
		t.Fatalf("a document that decoded does not encode: %v\n%+v", err, d)
	}
	if !utf8.Valid(enc) || !json.Valid(enc) {
		t.Fatalf("encoding is not UTF-8 JSON:\n%q", enc)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, enc); err != nil || !bytes.Equal(compact.Bytes(), enc) {
		t.Fatalf("encoding has insignificant space:\n%s", enc)
	}
	dec := json.NewDecoder(bytes.NewReader(enc))
	dec.UseNumber() // a sequence above 2^53 is no float64
	var tree any
	if err := dec.Decode(&tree); err != nil {
		t.Fatal(err)
	}
	if sorted, err := canonical(tree); err != nil || !bytes.Equal(sorted, enc) {
		t.Fatalf("encoding is not canonical (%v):\n%s\n%s", err, enc, sorted)
	}
	return enc
}

// noEmptyPlatforms copies cs with empty platform lists made nil: encoding
// leaves out "platforms": [], which decodes back as nil.
func noEmptyPlatforms(cs []Component) []Component {
	out := append([]Component(nil), cs...)
	for i := range out {
		if len(out[i].Platforms) == 0 {
			out[i].Platforms = nil
		}
	}
	return out
}
