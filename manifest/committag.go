package manifest

// TagNamesCommit reports whether an image tag names a commit: it holds the
// release's source revision (or a prefix of it of at least 7 hex digits),
// or a full 40-hex commit of its own (a sidecar built from another
// repository). Such tags (`ref.<commit>`, `<commit>`) are pushed once per
// build by convention, so a tag like that which still resolves to a signed
// digest says which release runs; `latest`, `env.prod` or `v2` move with
// every build and say nothing.
func TagNamesCommit(tag, revision string) bool {
	for i := 0; i < len(tag); {
		if !isHexDigit(tag[i]) {
			i++
			continue
		}
		j := i
		for j < len(tag) && isHexDigit(tag[j]) {
			j++
		}
		run := tag[i:j]
		if len(run) == 40 || len(run) >= 7 && len(run) <= len(revision) && revision[:len(run)] == run {
			return true
		}
		i = j
	}
	return false
}

func isHexDigit(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
