package channels

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/wellcomecollection/pin/internal/atomicfile"
	"github.com/wellcomecollection/pin/internal/exitcode"
	"github.com/wellcomecollection/pin/manifest"
)

// RecordSchemaVersion is the publish record format this build reads and writes.
const RecordSchemaVersion = 1

// DefaultRecordName is the publish record's file name, next to release.yaml.
const DefaultRecordName = "release.state.json"

// Record is the publisher's own memory of what it last published on each
// channel: the sequence, the digest of the signed index bytes, and every
// release the index listed with its digest and whether it was yanked.
//
// Why: the store is writable by more people and systems than hold the
// signing key. Without a record, the publisher re-signed whatever validly
// signed index the store showed, so someone who could write the store but
// not sign could put back an index from before a yank (even an expired one)
// and have the next routine refresh sign it again at a fresh sequence, or
// delete an index and have the channel restart at sequence 1. The record
// lives where the store's writers cannot reach: a file committed in the
// release pipeline's repository next to release.yaml (see docs/design.md,
// "Decision (publish record)"). Before extending a channel the publisher
// refuses (exit 3) an index that is older than the record (lower sequence),
// other than it (same sequence, other bytes), forked from it (a higher
// sequence that lost a release or a yank the record holds) or missing
// while the record says the channel exists.
type Record struct {
	Path string
	// existed is whether the file was there when loaded: a missing record
	// next to a store that already holds a channel is refused unless adopted.
	existed bool
	// created is set when Save wrote a file that did not exist.
	created bool
	bytes   []byte // the file as last read or written
	doc     recordDoc
}

type recordDoc struct {
	SchemaVersion int    `json:"schemaVersion"`
	Product       string `json:"product"`
	// Stores holds, per store (as release.yaml names it, a directory
	// relative to the record), what was last published on each channel:
	// a product that moves store starts afresh there, not as a rollback.
	Stores map[string]map[string]RecordedChannel `json:"stores"`
}

// RecordedChannel is what the record keeps of one channel's last published index.
type RecordedChannel struct {
	Sequence int64             `json:"sequence"`
	Digest   string            `json:"digest"`
	Releases []RecordedRelease `json:"releases"`
}

// RecordedRelease is one release a recorded index listed.
type RecordedRelease struct {
	Version string `json:"version"`
	Digest  string `json:"digest"`
	Yanked  bool   `json:"yanked,omitempty"`
}

// LoadRecord reads the publish record at path for product. A missing file is
// an empty record (Existed reports false); a malformed one, or one for
// another product, is a configuration error (exit 2).
func LoadRecord(path, product string) (*Record, error) {
	r := &Record{Path: path, doc: recordDoc{SchemaVersion: RecordSchemaVersion, Product: product, Stores: map[string]map[string]RecordedChannel{}}}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// reload reads the record file again when it changed since it was last read
// or written (another publisher from this checkout, serialised by the
// store's lock, may have recorded a publish meanwhile). Channels adopted in
// memory and not yet saved are kept.
func (r *Record) reload() error {
	b, err := os.ReadFile(r.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read publish record: %w", err)
	}
	if r.existed && bytes.Equal(b, r.bytes) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d recordDoc
	if err := dec.Decode(&d); err != nil {
		return exitcode.UsageError(fmt.Errorf("%s: %w", r.Path, err))
	}
	if d.SchemaVersion != RecordSchemaVersion {
		return exitcode.UsageError(fmt.Errorf("%s: schemaVersion %d, this build reads %d", r.Path, d.SchemaVersion, RecordSchemaVersion))
	}
	if d.Product != r.doc.Product {
		return exitcode.UsageError(fmt.Errorf("%s: records product %q, release.yaml publishes %q", r.Path, d.Product, r.doc.Product))
	}
	if d.Stores == nil {
		d.Stores = map[string]map[string]RecordedChannel{}
	}
	for store, chans := range d.Stores {
		for name, ch := range chans {
			if err := ValidName(name); err != nil {
				return exitcode.UsageError(fmt.Errorf("%s: store %s: %w", r.Path, store, err))
			}
			if ch.Sequence < 1 || !manifest.ValidDigest(ch.Digest) {
				return exitcode.UsageError(fmt.Errorf("%s: store %s: channel %s: needs a sequence of at least 1 and a sha256 digest", r.Path, store, name))
			}
		}
	}
	for store, chans := range r.doc.Stores { // adopted, not yet saved
		for name, ch := range chans {
			if _, ok := d.Stores[store][name]; !ok {
				if d.Stores[store] == nil {
					d.Stores[store] = map[string]RecordedChannel{}
				}
				d.Stores[store][name] = ch
			}
		}
	}
	r.doc, r.existed, r.bytes = d, true, b
	return nil
}

// storeKey names a store in the record: a directory relative to the record
// (absolute paths differ between CI checkouts), anything else as given.
func (r *Record) storeKey(store string) string {
	if filepath.IsAbs(store) {
		if rel, err := filepath.Rel(filepath.Dir(r.Path), store); err == nil {
			return filepath.ToSlash(rel)
		}
	}
	return store
}

func (r *Record) channels(store string) map[string]RecordedChannel {
	k := r.storeKey(store)
	if r.doc.Stores[k] == nil {
		r.doc.Stores[k] = map[string]RecordedChannel{}
	}
	return r.doc.Stores[k]
}

// Existed reports whether the record file was there when it was loaded.
func (r *Record) Existed() bool { return r.existed }

// Channel returns what the record holds for channel in store.
func (r *Record) Channel(store, channel string) (RecordedChannel, bool) {
	ch, ok := r.doc.Stores[r.storeKey(store)][channel]
	return ch, ok
}

// refuseRollback wraps a refusal to extend what the store shows.
func (r *Record) refuseRollback(channel, store, format string, args ...any) error {
	return exitcode.TrustError(fmt.Errorf("channel %s in %s: "+format+"; nothing was signed. Someone with write access to the store may have put back or removed an index: restore the index the record names from a backup of the store (or investigate how it changed)",
		append([]any{channel, store}, args...)...))
}

// CheckMissing decides whether a channel the store does not hold may be
// started: only when the record has never seen it, or restart is set
// (--new-channel), which continues after the recorded sequence so that no
// consumer's lock ever sees a lower one. A record file that did not exist
// says nothing: a first publish is a new channel.
func (r *Record) CheckMissing(channel, store string, restart bool) (startAfter int64, err error) {
	if err := r.reload(); err != nil {
		return 0, err
	}
	rc, ok := r.channels(store)[channel]
	if !ok {
		return 0, nil
	}
	if restart {
		return rc.Sequence, nil
	}
	return 0, r.refuseRollback(channel, store, "%w", &MissingIndexError{Record: r.Path, Sequence: rc.Sequence, Digest: rc.Digest})
}

// CheckCurrent refuses a verified index the publisher must not extend: one
// below the recorded sequence (rollback), at it with other bytes (fork), or
// above it without every release and yank the record holds (a history forked
// from the one recorded, e.g. re-signed by a publisher without this record).
// An index above the record that keeps its history is accepted: a publish
// whose record was not committed.
func (r *Record) CheckCurrent(vc *VerifiedChannel, store string, adopt bool) error {
	if err := r.reload(); err != nil {
		return err
	}
	idx := vc.Index
	rc, ok := r.channels(store)[idx.Channel]
	if !ok {
		// The store holds a channel this record never published: from
		// before the record existed, or put there by someone else. Taking
		// it on trust must be asked for, once; it is then recorded.
		if !adopt {
			return exitcode.UsageError(&UnrecordedChannelError{Channel: idx.Channel, Store: store, Sequence: idx.Sequence, Record: r.Path, NoRecord: !r.existed})
		}
		r.channels(store)[idx.Channel] = recordedFrom(idx, vc.Digest)
		return nil
	}
	switch {
	case idx.Sequence < rc.Sequence:
		return r.refuseRollback(idx.Channel, store, "the index is at sequence %d, below sequence %d recorded in %s (rollback)", idx.Sequence, rc.Sequence, r.Path)
	case idx.Sequence == rc.Sequence && vc.Digest != rc.Digest:
		return r.refuseRollback(idx.Channel, store, "sequence %d has other bytes (%s) than those recorded in %s (%s) (fork)", idx.Sequence, vc.Digest, r.Path, rc.Digest)
	case idx.Sequence > rc.Sequence:
		for _, want := range rc.Releases {
			e, ok := idx.Entry(want.Version)
			switch {
			case !ok:
				return r.refuseRollback(idx.Channel, store, "sequence %d does not list release %s, which %s records at sequence %d (forked history)", idx.Sequence, want.Version, r.Path, rc.Sequence)
			case e.Digest != want.Digest:
				return r.refuseRollback(idx.Channel, store, "sequence %d lists release %s as %s, %s records %s (forked history)", idx.Sequence, want.Version, e.Digest, r.Path, want.Digest)
			case want.Yanked && !e.Yanked:
				return r.refuseRollback(idx.Channel, store, "sequence %d lists release %s as not yanked, but %s records it yanked (un-yanked: forked history)", idx.Sequence, want.Version, r.Path)
			}
		}
	}
	return nil
}

// Save records idx (just published, with the digest of its signed bytes)
// and writes the record file atomically.
func (r *Record) Save(store string, idx *manifest.Channel, digest string) error {
	if err := r.reload(); err != nil {
		return err
	}
	r.channels(store)[idx.Channel] = recordedFrom(idx, digest)
	b, err := r.encode()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(r.Path, b, 0o644); err != nil {
		return fmt.Errorf("write publish record %s: %w", r.Path, err)
	}
	r.created = r.created || !r.existed
	r.existed, r.bytes = true, b
	return nil
}

// Created reports whether this run wrote the record file for the first
// time: the pipeline must commit it.
func (r *Record) Created() bool { return r.created }

// encode returns the record's stable bytes (map keys sorted by encoding/json,
// releases in the index's order), two-space indented for readable diffs.
func (r *Record) encode() ([]byte, error) {
	b, err := json.MarshalIndent(r.doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func recordedFrom(idx *manifest.Channel, digest string) RecordedChannel {
	rc := RecordedChannel{Sequence: idx.Sequence, Digest: digest, Releases: []RecordedRelease{}}
	for _, e := range idx.Releases {
		rc.Releases = append(rc.Releases, RecordedRelease{Version: e.Version, Digest: e.Digest, Yanked: e.Yanked})
	}
	return rc
}
