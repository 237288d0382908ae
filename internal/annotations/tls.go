package annotations

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// TLS annotation keys: the NLB's TLS listeners (Service) and the ALB's HTTPS settings
// (Ingress).
const (
	SvcSSLCert              = ServicePrefix + "aws-load-balancer-ssl-cert"
	SvcSSLPorts             = ServicePrefix + "aws-load-balancer-ssl-ports"
	SvcSSLNegotiationPolicy = ServicePrefix + "aws-load-balancer-ssl-negotiation-policy"
	SvcALPNPolicy           = ServicePrefix + "aws-load-balancer-alpn-policy"
	SvcBackendProtocol      = ServicePrefix + "aws-load-balancer-backend-protocol"

	IngSSLPolicy   = IngressPrefix + "ssl-policy"
	IngSSLRedirect = IngressPrefix + "ssl-redirect"
)

func init() {
	ServiceKeys = append(ServiceKeys, SvcSSLCert, SvcSSLPorts, SvcSSLNegotiationPolicy, SvcALPNPolicy, SvcBackendProtocol)
	IngressKeys = append(IngressKeys, IngSSLPolicy, IngSSLRedirect)
}

// DefaultSSLPolicy is the security policy of TLS and HTTPS listeners when nothing sets one,
// as upstream.
const DefaultSSLPolicy = "ELBSecurityPolicy-2016-08"

// ALPN policies of an NLB TLS listener.
var alpnPolicies = []string{"HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None"}

// Backend protocols of an NLB: plain TCP, or TLS again from the listener to the targets.
const (
	BackendProtocolTCP = "tcp"
	BackendProtocolSSL = "ssl"
)

// SSLPortsAll is the ssl-ports entry that selects every port.
const SSLPortsAll = "*"

// ServiceTLS is the typed view of an NLB's TLS annotations.
type ServiceTLS struct {
	// Certificates are the ssl-cert ARNs, the default certificate first; nil when absent.
	Certificates []string
	// Ports are the ssl-ports entries ("*", port numbers in canonical spelling, or port
	// names); nil when absent, which selects every port.
	Ports []string
	// NegotiationPolicy is ssl-negotiation-policy; "" when absent.
	NegotiationPolicy string
	// ALPNPolicy is alpn-policy; "" when absent.
	ALPNPolicy string
	// BackendProtocol is backend-protocol: "" (absent), "tcp" or "ssl".
	BackendProtocol string
}

// SelectsPort reports whether ssl-ports selects a Service port, by number or by name.
func (t ServiceTLS) SelectsPort(port int32, name string) bool {
	if t.Ports == nil {
		return true
	}
	for _, p := range t.Ports {
		if p == SSLPortsAll || p == strconv.Itoa(int(port)) || (name != "" && p == name) {
			return true
		}
	}
	return false
}

// certificateARN is an ACM or IAM server certificate ARN, in any partition.
var certificateARN = regexp.MustCompile(`^arn:aws[a-z-]*:(acm|iam):[a-z0-9-]*:[0-9]{12}:(certificate|server-certificate)/\S+$`)

// securityPolicy is the name of an ELBv2 predefined security policy: ELBv2 has no custom
// ones, and every predefined one starts with ELBSecurityPolicy-.
var securityPolicy = regexp.MustCompile(`^ELBSecurityPolicy(-[A-Za-z0-9]+)+$`)

// ParseCertificateARNs parses a list of certificate ARNs (ssl-cert, certificate-arn).
// Every malformed entry is named in one Error.
func ParseCertificateARNs(key, v string) ([]string, *Error) {
	arns, err := ParseStringList(key, v)
	if err != nil {
		return nil, err
	}
	var bad []string
	var out []string
	for _, a := range arns {
		if !certificateARN.MatchString(a) {
			bad = append(bad, strconv.Quote(Shorten(a)))
			continue
		}
		if !contains(out, a) {
			out = append(out, a)
		}
	}
	if len(bad) > 0 {
		return nil, &Error{Key: key, Value: v, Reason: "not a certificate ARN: " + someOf(bad),
			Fix: "list ACM certificate ARNs such as arn:aws:acm:us-east-1:123456789012:certificate/<id>, separated by commas"}
	}
	return out, nil
}

// CheckSecurityPolicy checks the name of a TLS security policy.
func CheckSecurityPolicy(key, v string) *Error {
	if securityPolicy.MatchString(v) {
		return nil
	}
	return &Error{Key: key, Value: v,
		Reason: "not an ELB security policy name: ELBv2 accepts only its predefined policies, whose names start with ELBSecurityPolicy-",
		Fix:    "use a predefined policy such as " + DefaultSSLPolicy + " or ELBSecurityPolicy-TLS13-1-2-2021-06, or remove it for the default"}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// parseServiceTLS reads the NLB TLS annotations into s.TLS.
func (p *svcParser) parseServiceTLS(s *Service) {
	if v, ok := p.ann[SvcSSLCert]; ok {
		if arns, err := ParseCertificateARNs(SvcSSLCert, v); err != nil {
			p.add(err)
		} else {
			s.TLS.Certificates = arns
		}
	}
	if v, ok := p.ann[SvcSSLPorts]; ok {
		if ports := p.list(SvcSSLPorts, v); ports != nil {
			var bad []string
			var out []string
			for _, e := range ports {
				_, numErr := strconv.ParseInt(e, 10, 64)
				switch n, isPort := ParsePort(e); {
				case e == SSLPortsAll:
					out = append(out, e)
				case isPort:
					out = append(out, strconv.Itoa(int(n)))
				case numErr != nil && portName.MatchString(e): // a number out of range is no name
					out = append(out, e)
				default:
					bad = append(bad, strconv.Quote(Shorten(e)))
				}
			}
			if len(bad) > 0 {
				p.fail(SvcSSLPorts, v, "not a port number, a port name or *: "+someOf(bad),
					"list Service port numbers or names separated by commas, such as 443,https, or * for every port")
			} else {
				s.TLS.Ports = out
			}
		}
	}
	if v, ok := p.ann[SvcSSLNegotiationPolicy]; ok {
		if err := CheckSecurityPolicy(SvcSSLNegotiationPolicy, v); err != nil {
			p.add(err)
		} else {
			s.TLS.NegotiationPolicy = v
		}
	}
	if v, ok := p.ann[SvcALPNPolicy]; ok {
		if contains(alpnPolicies, v) {
			s.TLS.ALPNPolicy = v
		} else {
			p.fail(SvcALPNPolicy, v, "invalid ALPN policy: must be one of "+strings.Join(alpnPolicies, ", "),
				"set it to HTTP1Only, HTTP2Only, HTTP2Optional, HTTP2Preferred or None (exact spelling), or remove it")
		}
	}
	if v, ok := p.ann[SvcBackendProtocol]; ok {
		switch l := strings.ToLower(v); l {
		case BackendProtocolTCP, BackendProtocolSSL:
			s.TLS.BackendProtocol = l
		default:
			p.fail(SvcBackendProtocol, v, `unsupported backend protocol: must be "tcp" or "ssl"`,
				"set it to ssl to reach the targets over TLS, or tcp (the default), or remove it")
		}
	}
}

// IngressTLS is the typed view of an Ingress's HTTPS annotations (besides certificate-arn).
type IngressTLS struct {
	SSLPolicy  string // ssl-policy; "" when absent
	RedirectTo int32  // ssl-redirect: the HTTPS port HTTP listeners redirect to; 0 when absent
}

// ParseIngressTLS reads ssl-policy and ssl-redirect. Blank values are reported by
// ParseIngress, and read here as absent.
func ParseIngressTLS(ann map[string]string) (IngressTLS, []*Error) {
	var t IngressTLS
	var errs []*Error
	if v, ok := ann[IngSSLPolicy]; ok && !isBlank(v) {
		if err := CheckSecurityPolicy(IngSSLPolicy, v); err != nil {
			errs = append(errs, err)
		} else {
			t.SSLPolicy = v
		}
	}
	if v, ok := ann[IngSSLRedirect]; ok && !isBlank(v) {
		if n, isPort := ParsePort(v); isPort {
			t.RedirectTo = n
		} else {
			errs = append(errs, &Error{Key: IngSSLRedirect, Value: v,
				Reason: fmt.Sprintf("ssl-redirect must be the port number of an HTTPS listener, not %q", Shorten(v)),
				Fix:    "set it to the HTTPS port to redirect to, such as 443, or remove it"})
		}
	}
	return t, errs
}
