package controller

import (
	"context"
	"fmt"

	"github.com/lbsg/lbsg/internal/spec"
)

// CertificateFinder matches hosts to the ARNs of the issued ACM certificates that cover
// them (acmcerts.Discovery, cached so that calls do not grow with the Ingresses).
type CertificateFinder interface {
	Match(ctx context.Context, hosts []string) (map[string][]string, error)
}

// findCertificates runs certificate discovery for the members of a group that listen on
// HTTPS without naming a certificate. A group that needs none makes no call.
func (e *Engine) findCertificates(ctx context.Context, members []spec.IngressMember) (map[string][]string, error) {
	hosts := spec.CertificateDiscoveryHosts(members)
	if len(hosts) == 0 || e.Certificates == nil {
		return map[string][]string{}, nil
	}
	certs, err := e.Certificates.Match(ctx, hosts)
	if err != nil {
		return nil, fmt.Errorf("certificate discovery: %w", err)
	}
	return certs, nil
}
