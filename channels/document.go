package channels

import (
	"errors"
	"fmt"

	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/signing/keyless"
)

// documentFile is one file of a document in the directory layout (a
// directory store, or the same tree served over HTTPS): the document itself
// (suffix ""), and beside it its signature files, each with its size cap.
type documentFile struct {
	suffix string
	max    int64
}

// documentFiles are every file a document may have; a reader reads them all,
// so a document with a key signature and a Sigstore bundle, or further
// signatures for a threshold over one, reads the same from every store kind.
var documentFiles = []documentFile{
	{"", manifest.MaxDocumentSize},
	{".sig", 64 << 10},
	{BundleSuffix, keyless.MaxBundleSize},
	{".sigs", 64 << 10},
}

// assembleDocument builds a document from its files as read reads them (a
// missing one wraps ErrNotFound): a missing document, or one with neither a
// .sig nor a .sigstore.json, wraps ErrNotFound; a missing .sigs means no
// further signatures; any other failure to read one is an error.
func assembleDocument(name string, read func(suffix string, max int64) ([]byte, error)) (Document, error) {
	got := map[string][]byte{}
	for _, f := range documentFiles {
		b, err := read(f.suffix, f.max)
		switch {
		case f.suffix == "" && err != nil:
			return Document{}, err
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return Document{}, err
		default:
			got[f.suffix] = b
		}
	}
	doc := Document{Bytes: got[""], Signature: got[".sig"], Bundle: got[BundleSuffix]}
	if doc.Signature == nil && doc.Bundle == nil {
		return Document{}, fmt.Errorf("%s has neither a .sig nor a %s signature beside it: %w", name, BundleSuffix, ErrNotFound)
	}
	if more, ok := got[".sigs"]; ok {
		var err error
		if doc.More, err = manifest.DecodeSignatures(more); err != nil {
			return Document{}, fmt.Errorf("%s.sigs: %w", name, err)
		}
	}
	return doc, nil
}
