//go:build !nokeyless

package keyless

import (
	"context"
	"crypto/x509"
	"time"

	"github.com/sigstore/sigstore-go/pkg/sign"
)

// cachedCert is a certificate already issued for the signer's key, handed to
// sign.Bundle as its CertificateProvider.
type cachedCert struct {
	der      []byte
	notAfter time.Time
}

func newCachedCert(der []byte) (*cachedCert, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &cachedCert{der: der, notAfter: c.NotAfter}, nil
}

func (c *cachedCert) GetCertificate(context.Context, sign.Keypair, *sign.CertificateProviderOptions) ([]byte, error) {
	return c.der, nil
}
