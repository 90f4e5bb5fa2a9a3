package pin

// The neutral words of the remedies that pin's notes, hints and warnings
// end with. A program calling pin has no command line, so they name no flag
// or command; cmd/pin (notes.go) replaces each with the command or flag that
// does it. Findings carry their facts in Finding.Kind instead.
const (
	// RemedyTrustRoot ends the note that a store publishes a root of trust
	// while pin.yaml lists plain keys.
	RemedyTrustRoot = "check the fingerprint with the producer and trust the root by that fingerprint"
	// RemedyNewRoot ends the note that the newest root of trust expired.
	RemedyNewRoot = "until the producer signs and publishes a new root"
	// RemedyRecordRevision is the hint for a module ref a release without a
	// source revision cannot set.
	RemedyRecordRevision = "ask the publisher to create releases that record their source revision (release.yaml's {revision})"
	// RemedyCommitTags is the hint for a shared tag that names no commit.
	RemedyCommitTags = "ask the publisher for releases that record ref.{revision} tags"
	// RemedyDigestField is the hint for an image split across fields with no
	// digest field.
	RemedyDigestField = "add `digest: \"\"` beside the tag (charts that follow the Bitnami convention read it) and update again"
)
