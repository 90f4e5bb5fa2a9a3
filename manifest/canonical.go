package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrNotCanonical is wrapped by every refusal of a document whose bytes are
// not exactly the canonical encoding of what pin decoded from them.
var ErrNotCanonical = errors.New("not in canonical form")

// requireCanonical refuses a decoded document unless encoding what was
// decoded gives back exactly the bytes that were read (and signed).
//
// Why: Go's decoder matches keys case-insensitively, keeps the last of two
// duplicate keys and replaces invalid UTF-8 with U+FFFD, while jq and Python
// keep the first key and other readers reject or keep the raw bytes. Signed
// bytes that two readers decode differently let a validly signed document
// mean one thing to pin and another to an auditor. Requiring byte equality
// with the re-encoding refuses every such spelling at once (duplicate or
// case-variant keys at any depth, \u-escaped key names, invalid UTF-8,
// insignificant whitespace, unsorted keys or lists, non-UTC times), because
// none of them survives a round trip through pin's own encoder; the fuzz
// targets check that the encoder's output always does.
func requireCanonical(kind string, got []byte, encode func() ([]byte, error)) error {
	want, err := encode()
	if err != nil {
		return fmt.Errorf("%s document: re-encode: %w", strings.ToLower(kind), err)
	}
	if bytes.Equal(got, want) {
		return nil
	}
	return fmt.Errorf("%s document: %w: %s; pin signs and accepts only its canonical JSON, so these bytes could mean something else to another reader", strings.ToLower(kind), ErrNotCanonical, whyNotCanonical(got, want))
}

// whyNotCanonical names the first reason the bytes differ from their
// canonical encoding, for the error message.
func whyNotCanonical(got, want []byte) string {
	if !utf8.Valid(got) {
		return fmt.Sprintf("invalid UTF-8 at byte %d", invalidUTF8Offset(got))
	}
	if key, path, ok := duplicateKey(got); ok {
		return fmt.Sprintf("key %q appears twice in %s (keys are compared ignoring case, as Go's decoder does)", key, path)
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("differs from its canonical encoding at byte %d (%s, canonical %s)", i, excerpt(got, i), excerpt(want, i))
}

func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// excerpt quotes up to 16 bytes of b from i.
func excerpt(b []byte, i int) string {
	if i >= len(b) {
		return "end of document"
	}
	end := min(i+16, len(b))
	return fmt.Sprintf("%q", b[i:end])
}

// DuplicateKey reports the first object key of the JSON in b that appears
// twice in one object (compared case-insensitively after unescaping, as Go's
// decoder matches fields) and the object's path. For files pin reads that
// are not signed but are reviewed (pin.lock): a reviewer reading the first
// of two keys must see what pin reads.
func DuplicateKey(b []byte) (key, path string, found bool) { return duplicateKey(b) }

// duplicateKey finds the first object key that appears twice in one object,
// compared case-insensitively after unescaping, and the object's path.
func duplicateKey(b []byte) (key, path string, found bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object bool
		seen   map[string]bool
		path   string
		key    string // the current key (objects)
		hasKey bool   // a key was read and its value not yet
		index  int
	}
	var stack []*frame
	childPath := func() string {
		if len(stack) == 0 {
			return "the document"
		}
		top := stack[len(stack)-1]
		if top.object {
			return strings.TrimPrefix(top.path+"."+top.key, "the document.")
		}
		return fmt.Sprintf("%s[%d]", top.path, top.index)
	}
	expectKey := func() bool {
		return len(stack) > 0 && stack[len(stack)-1].object && !stack[len(stack)-1].hasKey
	}
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		top := stack[len(stack)-1]
		if top.object {
			top.hasKey = false
		} else {
			top.index++
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil { // io.EOF or a syntax error: no duplicate found
			return "", "", false
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, &frame{object: t == '{', seen: map[string]bool{}, path: childPath()})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if expectKey() {
				top := stack[len(stack)-1]
				folded := strings.ToLower(t)
				if top.seen[folded] {
					return t, top.path, true
				}
				top.seen[folded] = true
				top.key, top.hasKey = t, true
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}
