package signing

import "sort"

// TrustedKey names one key a Verifier trusts: its id (as signature errors
// print it) and where it came from (a file, keys[0] of pin.yaml).
type TrustedKey struct {
	ID     string
	Source string
}

// Keys lists the verifier's keys, sorted by source, so a user can match the
// id an error names with a key file or a pin.yaml entry (pin keys id).
func (v *Verifier) Keys() []TrustedKey {
	out := make([]TrustedKey, len(v.keys))
	for i, k := range v.keys {
		out[i] = TrustedKey{ID: k.id, Source: k.source}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}
