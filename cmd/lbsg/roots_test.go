package main

import (
	"crypto/x509"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// TestEmbeddedRootsTrustAWSEndpoints guards TLS to AWS from the image, which has no
// /etc/ssl: the roots compiled in must include those AWS endpoints chain to, and the
// SDK's client must verify against the system pool (which falls back to them) rather
// than a pool of its own.
func TestEmbeddedRootsTrustAWSEndpoints(t *testing.T) {
	want := map[string]bool{
		"Amazon Root CA 1": false, "Amazon Root CA 2": false, "Amazon Root CA 3": false, "Amazon Root CA 4": false,
		"Starfield Services Root Certificate Authority - G2": false,
	}
	for r := range bundle.Roots() {
		c, err := x509.ParseCertificate(r.Certificate)
		if err != nil {
			t.Fatalf("embedded root does not parse: %v", err)
		}
		if _, ok := want[c.Subject.CommonName]; ok {
			want[c.Subject.CommonName] = true
		}
	}
	for cn, found := range want {
		if !found {
			t.Errorf("embedded CA roots lack %q: TLS to AWS endpoints would fail in the image", cn)
		}
	}

	tr := awshttp.NewBuildableClient().GetTransport()
	if tr.TLSClientConfig != nil && tr.TLSClientConfig.RootCAs != nil {
		t.Error("the AWS SDK's HTTP client sets its own RootCAs: the embedded fallback roots would not be used")
	}
}
