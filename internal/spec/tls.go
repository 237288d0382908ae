package spec

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lbsg/lbsg/internal/annotations"
)

// protocolTLS is the protocol of an NLB listener (and target group) that speaks TLS.
const protocolTLS = "TLS"

// tlsPort reports whether a Service port gets a TLS listener: ssl-cert is set and ssl-ports
// selects the port, as upstream. Only TCP ports can: UDP has no TLS.
func (b *serviceBuilder) tlsPort(p corev1.ServicePort) bool {
	t := b.ann.TLS
	if len(t.Certificates) == 0 || (p.Protocol != corev1.ProtocolTCP && p.Protocol != "") {
		return false
	}
	return t.SelectsPort(p.Port, p.Name)
}

// listener is the NLB listener of a Service port; protocol is TLS for the ports tlsPort
// selects, with the certificates and the policies.
func (b *serviceBuilder) listener(p corev1.ServicePort, protocol, tg string) Listener {
	l := Listener{Port: p.Port, Protocol: protocol, TargetGroup: tg}
	if protocol != protocolTLS {
		return l
	}
	t := b.ann.TLS
	l.Certificates = t.Certificates
	l.SSLPolicy = t.NegotiationPolicy
	if l.SSLPolicy == "" {
		l.SSLPolicy, l.SSLPolicyIsDefault = b.s.sslPolicy(), true
	}
	l.ALPNPolicy = t.ALPNPolicy
	return l
}

// memberTLS is what one Ingress says about HTTPS.
type memberTLS struct {
	certs      []string // explicit certificates (IngressClassParams, else certificate-arn), else discovered
	explicit   bool     // certs came from IngressClassParams or the annotation
	sslPolicy  string   // IngressClassParams sslPolicy, else ssl-policy; "" when neither
	policyFrom string   // the key sslPolicy came from
	pending    bool     // discovery is needed but did not run (IngressFacts.CertificatesUnknown)
}

// explicitTLS resolves the certificates and SSL policy an Ingress names: IngressClassParams
// win over annotations, as upstream.
func (b *ingressBuilder) explicitTLS(m *member) {
	m.tls.certs = m.ann.CertificateARNs
	m.tls.sslPolicy, m.tls.policyFrom = m.ann.TLS.SSLPolicy, annotations.IngSSLPolicy
	if p := m.Params; p != nil {
		field := "IngressClassParams " + p.Name + " spec."
		if len(p.CertificateARNs) > 0 {
			arns, err := annotations.ParseCertificateARNs(field+"certificateArn", strings.Join(p.CertificateARNs, ","))
			if err != nil {
				b.problems = append(b.problems, err)
			}
			m.tls.certs = arns
		}
		if p.SSLPolicy != "" {
			if err := annotations.CheckSecurityPolicy(field+"sslPolicy", p.SSLPolicy); err != nil {
				b.problems = append(b.problems, err)
			}
			m.tls.sslPolicy, m.tls.policyFrom = p.SSLPolicy, field+"sslPolicy"
		}
	}
	m.tls.explicit = len(m.tls.certs) > 0
}

// needsDiscovery reports whether an Ingress's HTTPS certificates come from ACM discovery:
// it listens on HTTPS and names no certificate, as upstream.
func needsDiscovery(m *member) bool {
	if m.tls.explicit {
		return false
	}
	for _, lp := range m.ports {
		if lp.Protocol == protocolHTTPS {
			return true
		}
	}
	return false
}

// ingressHosts are the hosts of an Ingress's rules and spec.tls, sorted and deduplicated,
// each with where it was written.
func ingressHosts(ing *networkingv1.Ingress) (hosts []string, where map[string]string) {
	where = map[string]string{}
	for i, r := range ing.Spec.Rules {
		if h := strings.ToLower(r.Host); h != "" && where[h] == "" {
			where[h] = fmt.Sprintf("spec.rules[%d].host", i)
		}
	}
	for i, t := range ing.Spec.TLS {
		for j, h := range t.Hosts {
			if h = strings.ToLower(h); h != "" && where[h] == "" {
				where[h] = fmt.Sprintf("spec.tls[%d].hosts[%d]", i, j)
			}
		}
	}
	for h := range where {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	return hosts, where
}

// CertificateDiscoveryHosts returns the hosts whose certificates ACM discovery must find
// for a group: those of the members that listen on HTTPS without naming a certificate.
// The caller looks them up and passes the matches in IngressFacts.CertificatesByHost.
func CertificateDiscoveryHosts(members []IngressMember) []string {
	b := &ingressBuilder{}
	seen := map[string]bool{}
	var out []string
	for _, im := range members {
		m := b.resolveMember(im)
		if !needsDiscovery(m) {
			continue
		}
		hosts, _ := ingressHosts(im.Ingress)
		for _, h := range hosts {
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	sort.Strings(out)
	return out
}

// discoverCertificates gives an Ingress that needs discovery the certificates of its hosts:
// exactly one issued certificate must match each host, as upstream (two would make the
// choice arbitrary).
func (b *ingressBuilder) discoverCertificates(m *member) {
	if !needsDiscovery(m) {
		return
	}
	if b.facts.CertificatesUnknown {
		m.tls.pending = true
		return
	}
	hosts, where := ingressHosts(m.Ingress)
	var certs []string
	for _, h := range hosts {
		matches := b.facts.CertificatesByHost[h]
		switch len(matches) {
		case 0:
			b.addOn(&Problem{Key: where[h], Value: h,
				Reason: fmt.Sprintf("no issued ACM certificate matches host %s (certificate discovery)", h),
				Fix:    "request or import an ACM certificate for " + h + ", or set " + annotations.IngCertificateARN}, m.key)
		case 1:
			if !contains(certs, matches[0]) {
				certs = append(certs, matches[0])
			}
		default:
			b.addOn(&Problem{Key: where[h], Value: h,
				Reason: fmt.Sprintf("%d ACM certificates match host %s: %s (certificate discovery)", len(matches), h, strings.Join(matches, ", ")),
				Fix:    "set " + annotations.IngCertificateARN + " to the one to use, or delete the others"}, m.key)
		}
	}
	sort.Strings(certs)
	m.tls.certs = certs
}

// mergePortTLS adds a member's certificates and SSL policy to an HTTPS port; members that
// set different policies for one port conflict.
func (b *ingressBuilder) mergePortTLS(pc *portConfig, m *member) {
	pc.pending = pc.pending || m.tls.pending
	for _, c := range m.tls.certs {
		if !contains(pc.certs, c) {
			pc.certs = append(pc.certs, c)
		}
	}
	if m.tls.sslPolicy == "" {
		return
	}
	switch {
	case pc.sslPolicy == "":
		pc.sslPolicy, pc.policyFrom = m.tls.sslPolicy, m.key
	case pc.sslPolicy != m.tls.sslPolicy:
		b.conflict(m.tls.policyFrom, pc.policyFrom+": "+short(pc.sslPolicy)+" | "+m.key+": "+short(m.tls.sslPolicy),
			fmt.Sprintf("conflicting sslPolicy for port %d across the members of Ingress group %s", pc.port, b.g.String()),
			"give every member that listens on the port the same ssl-policy, or leave it unset on all but one", pc.policyFrom, m.key)
	}
}

// sslRedirect returns the HTTPS port the group's HTTP listeners redirect to (0 for none).
// Members that set ssl-redirect must agree; the port must be one of the group's HTTPS
// listeners (upstream leaves a redirect to nowhere; lbsg refuses it).
func (b *ingressBuilder) sslRedirect(ports []*portConfig) int32 {
	values := make([]string, len(b.members))
	from := ""
	for i, m := range b.members {
		if m.ann.TLS.RedirectTo != 0 {
			values[i] = strconv.Itoa(int(m.ann.TLS.RedirectTo))
			if from == "" {
				from = m.key
			}
		}
	}
	v := b.exclusive(annotations.IngSSLRedirect, "sslRedirect port", values)
	if v == "" {
		return 0
	}
	port, _ := strconv.Atoi(v)
	for _, pc := range ports {
		if pc.port == int32(port) {
			if pc.protocol == protocolHTTPS {
				return int32(port)
			}
			break
		}
	}
	b.fail(annotations.IngSSLRedirect, v,
		fmt.Sprintf("ssl-redirect names port %d, which is not an HTTPS listener of Ingress group %s", port, b.g.String()),
		`add {"HTTPS":`+v+`} to listen-ports, or set ssl-redirect to the HTTPS port`, from)
	return 0
}

// NoticeTLSIgnored: a TLS annotation that has no effect on this Service.
const NoticeTLSIgnored = "TLSSettingIgnored"

// tlsNotices say which TLS annotations have no effect, as upstream silently ignores them:
// the policies and ports without ssl-cert, and ssl-ports entries that name no TCP port.
func (b *serviceBuilder) tlsNotices() []Notice {
	t := b.ann.TLS
	if len(t.Certificates) == 0 {
		var keys []string
		for _, k := range []string{annotations.SvcSSLPorts, annotations.SvcSSLNegotiationPolicy, annotations.SvcALPNPolicy} {
			if _, ok := b.svc.Annotations[k]; ok {
				keys = append(keys, k)
			}
		}
		if t.BackendProtocol == annotations.BackendProtocolSSL {
			keys = append(keys, annotations.SvcBackendProtocol)
		}
		if len(keys) == 0 {
			return nil
		}
		return []Notice{{Reason: NoticeTLSIgnored, Message: fmt.Sprintf("annotations %s have no effect without %s: every listener is TCP or UDP; fix: set %s, or remove them",
			strings.Join(keys, ", "), annotations.SvcSSLCert, annotations.SvcSSLCert)}}
	}
	var unmatched []string
	for _, e := range t.Ports {
		if e == annotations.SSLPortsAll {
			continue
		}
		found := false
		for _, p := range b.svc.Spec.Ports {
			if b.tlsPort(p) && (e == strconv.Itoa(int(p.Port)) || e == p.Name) {
				found = true
				break
			}
		}
		if !found {
			unmatched = append(unmatched, strconv.Quote(e))
		}
	}
	if len(unmatched) == 0 {
		return nil
	}
	return []Notice{{Reason: NoticeTLSIgnored, Message: fmt.Sprintf("annotation %s: %s name no TCP port of the Service, so no TLS listener comes of them; fix: list the port numbers or names of TCP ports",
		annotations.SvcSSLPorts, strings.Join(unmatched, ", "))}}
}
