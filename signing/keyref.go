package signing

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// ErrKeyRef matches (errors.Is) errors in a key reference itself: a scheme pin does
// not know or was built without, a malformed KMS reference, an unset env://
// variable. They are the caller's to fix (a usage error), unlike ErrKMS.
var ErrKeyRef = errors.New("bad key reference")

// refError marks an error as ErrKeyRef without adding words to its message.
type refError struct{ error }

func (e *refError) Unwrap() error        { return e.error }
func (e *refError) Is(target error) bool { return target == ErrKeyRef }

func refErrorf(format string, args ...any) error {
	return &refError{fmt.Errorf(format, args...)}
}

// ErrKMS is wrapped by failures of a KMS service while loading a key: it could
// not be reached, refused the credentials, or has no such key.
var ErrKMS = errors.New("KMS")

// EnvScheme prefixes a key reference naming an environment variable that
// holds a PEM private key (cosign's format; encrypted keys take the password
// the same way key files do).
const EnvScheme = "env://"

// kmsProvider describes one KMS reference scheme of sigstore/sigstore's kms
// packages. Built-in providers register themselves with kms.AddProvider from
// a blank import (see kms_aws.go); the others are named so that a reference to
// them gets a clear answer instead of a lookup for a plugin binary.
type kmsProvider struct {
	scheme string
	// validate checks the shape of a reference before any network call; nil
	// when the provider is not built in.
	validate func(ref string) error
	// load opens a key; nil means sigstore's kms.Get.
	load func(ctx context.Context, ref string) (signature.SignerVerifier, error)
	// absent says why the provider is not built into pin.
	absent string
}

// kmsProviders lists the schemes cosign accepts for --key. The sizes are what
// each provider of sigstore/sigstore v1.10.4 added to a stripped linux/amd64
// pin of 24.7 MB that already has the AWS provider (docs/producer.md).
var kmsProviders = []kmsProvider{
	awsProvider,
	{scheme: "gcpkms://", absent: "Google Cloud KMS's client libraries would add 5.9 MB (24%) to the binary"},
	{scheme: "azurekms://", absent: "the Azure Key Vault SDK would add 2.4 MB (10%) to the binary"},
	{scheme: "hashivault://", absent: "HashiCorp Vault's client would add 1.7 MB (7%) to the binary"},
	{scheme: "k8s://", absent: "Kubernetes secrets need the Kubernetes client libraries (tens of MB)"},
	{scheme: "gitlab://", absent: "GitLab CI variables need GitLab's API client"},
	{scheme: "pkcs11:", absent: "PKCS#11 tokens need cgo and a native module"},
}

// KeyRefOptions says how LoadSigner reaches the secrets a reference needs.
type KeyRefOptions struct {
	// Password returns the password of an encrypted PEM key (a file or an
	// env:// variable). It is called only when the key is encrypted.
	Password func() ([]byte, error)
	// LookupEnv reads environment variables for env:// references; nil means
	// os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// IsKMSRef reports whether ref names a key held by a KMS (whether or not its
// provider is built into pin) rather than a file or an environment variable.
func IsKMSRef(ref string) bool {
	for _, p := range kmsProviders {
		if strings.HasPrefix(ref, p.scheme) {
			return true
		}
	}
	return false
}

// schemeRE matches a URL-like reference's scheme: "NAME://".
var schemeRE = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*)://`)

// envNameRE matches a portable environment variable name.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// LoadSigner returns a signer for a key reference as cosign's --key takes it:
//
//   - a path to a cosign-format PEM private key file;
//   - env://VAR: the same PEM held in the environment variable VAR;
//   - awskms://[ENDPOINT]/KEY: an AWS KMS key by id, ARN, alias/NAME or alias
//     ARN; the SDK's usual configuration (AWS_REGION, AWS_PROFILE, role
//     credentials, AWS_ENDPOINT_URL) applies. The key must be ECC_NIST_P256.
//
// A KMS key never leaves the KMS: each signature is one Sign call. The
// password and the PEM are never part of an error.
func LoadSigner(ctx context.Context, ref string, o KeyRefOptions) (*Signer, error) {
	if ref == "" {
		return nil, refErrorf("empty key reference")
	}
	if v, ok := strings.CutPrefix(ref, EnvScheme); ok {
		return loadEnvKey(v, o)
	}
	for _, p := range kmsProviders {
		if strings.HasPrefix(ref, p.scheme) {
			return loadKMSKey(ctx, ref, p)
		}
	}
	if m := schemeRE.FindStringSubmatch(ref); m != nil {
		return nil, refErrorf("%s: unknown key reference scheme %q: pin takes a key file, %s or %s", ref, m[1]+"://", EnvScheme+"VAR", strings.Join(BuiltInKMSSchemes(), ", "))
	}
	return LoadPrivateKeyFile(ref, o.Password)
}

// BuiltInKMSSchemes lists the KMS reference schemes this build of pin signs with.
func BuiltInKMSSchemes() []string {
	var s []string
	for _, p := range kmsProviders {
		if p.validate != nil {
			s = append(s, p.scheme)
		}
	}
	sort.Strings(s)
	return s
}

func loadEnvKey(name string, o KeyRefOptions) (*Signer, error) {
	if !envNameRE.MatchString(name) {
		return nil, refErrorf("%s%s: %q is not an environment variable name", EnvScheme, name, name)
	}
	lookup := o.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	source := EnvScheme + name
	v, ok := lookup(name)
	if !ok {
		return nil, refErrorf("%s: environment variable %s is not set", source, name)
	}
	if strings.TrimSpace(v) == "" {
		return nil, refErrorf("%s: environment variable %s is empty", source, name)
	}
	return loadPEMKey(source, []byte(v), o.Password)
}

func loadKMSKey(ctx context.Context, ref string, p kmsProvider) (*Signer, error) {
	if p.validate == nil {
		return nil, refErrorf("%s keys are not built into pin: %s; sign with %s, %s or a key file", p.scheme, p.absent, strings.Join(BuiltInKMSSchemes(), ", "), EnvScheme+"VAR")
	}
	if err := p.validate(ref); err != nil {
		return nil, refErrorf("%s: %w", ref, err)
	}
	var sv signature.SignerVerifier
	var err error
	if p.load != nil {
		sv, err = p.load(ctx, ref)
	} else {
		sv, err = kms.Get(ctx, ref, crypto.SHA256)
	}
	if errors.Is(err, ErrKeyRef) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrKMS, ref, err)
	}
	pub, err := sv.PublicKey(options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%w %s: read public key: %w", ErrKMS, ref, err)
	}
	// pin's verifiers (and consumers' cosign) check ECDSA with SHA-256; a KMS
	// key of another kind would sign with an algorithm they do not expect.
	if k, ok := pub.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		return nil, refErrorf("%s: pin signs with ECDSA P-256 keys (ECC_NIST_P256), this key is %s", ref, describeKey(pub))
	}
	return &Signer{sv: sv, pub: pub}, nil
}

func describeKey(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	default:
		return fmt.Sprintf("%T", pub)
	}
}
