package annotations

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

const testCert = "arn:aws:acm:us-east-1:123456789012:certificate/abc"

func TestServiceTLSAnnotationsParse(t *testing.T) {
	cases := []struct {
		name    string
		ann     map[string]string
		want    ServiceTLS
		errKeys []string
	}{
		{"absent", nil, ServiceTLS{}, nil},
		{"two certificates, ports by number and name, policies",
			map[string]string{SvcSSLCert: testCert + ", " + testCert + "2," + testCert, SvcSSLPorts: "0443,https",
				SvcSSLNegotiationPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06", SvcALPNPolicy: "HTTP2Preferred", SvcBackendProtocol: "SSL"},
			ServiceTLS{Certificates: []string{testCert, testCert + "2"}, Ports: []string{"443", "https"},
				NegotiationPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06", ALPNPolicy: "HTTP2Preferred", BackendProtocol: "ssl"}, nil},
		{"star selects every port", map[string]string{SvcSSLPorts: "*"}, ServiceTLS{Ports: []string{"*"}}, nil},
		{"not an ARN", map[string]string{SvcSSLCert: "my-cert"}, ServiceTLS{}, []string{SvcSSLCert}},
		{"bad port", map[string]string{SvcSSLPorts: "443,70000"}, ServiceTLS{}, []string{SvcSSLPorts}},
		{"custom policy", map[string]string{SvcSSLNegotiationPolicy: "MyPolicy"}, ServiceTLS{}, []string{SvcSSLNegotiationPolicy}},
		{"ALPN spelled otherwise", map[string]string{SvcALPNPolicy: "http2preferred"}, ServiceTLS{}, []string{SvcALPNPolicy}},
		{"unknown backend protocol", map[string]string{SvcBackendProtocol: "http"}, ServiceTLS{}, []string{SvcBackendProtocol}},
		{"empty certificate", map[string]string{SvcSSLCert: ""}, ServiceTLS{}, []string{SvcSSLCert}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, errs := ParseService(c.ann)
			if diff := cmp.Diff(c.want, s.TLS); diff != "" {
				t.Errorf("TLS (-want +got):\n%s", diff)
			}
			var keys []string
			for _, e := range errs {
				keys = append(keys, e.Key)
				if e.Fix == "" || e.Value != c.ann[e.Key] {
					t.Errorf("error %v lacks the value or the fix", e)
				}
			}
			if diff := cmp.Diff(c.errKeys, keys); diff != "" {
				t.Errorf("error keys (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSSLPortsSelectByNumberOrName(t *testing.T) {
	all := ServiceTLS{}
	some := ServiceTLS{Ports: []string{"443", "tls"}}
	for _, c := range []struct {
		tls  ServiceTLS
		port int32
		name string
		want bool
	}{
		{all, 80, "http", true}, {some, 443, "", true}, {some, 8443, "tls", true}, {some, 80, "http", false},
		{ServiceTLS{Ports: []string{"*"}}, 80, "", true},
	} {
		if got := c.tls.SelectsPort(c.port, c.name); got != c.want {
			t.Errorf("%v selects %d/%s = %v, want %v", c.tls.Ports, c.port, c.name, got, c.want)
		}
	}
}

func TestIngressTLSAnnotationsParse(t *testing.T) {
	cases := []struct {
		name    string
		ann     map[string]string
		want    IngressTLS
		errKeys []string
	}{
		{"absent", nil, IngressTLS{}, nil},
		{"policy and redirect", map[string]string{IngSSLPolicy: "ELBSecurityPolicy-FS-1-2-Res-2020-10", IngSSLRedirect: "443"},
			IngressTLS{SSLPolicy: "ELBSecurityPolicy-FS-1-2-Res-2020-10", RedirectTo: 443}, nil},
		{"redirect not a port", map[string]string{IngSSLRedirect: "https"}, IngressTLS{}, []string{IngSSLRedirect}},
		{"policy not predefined", map[string]string{IngSSLPolicy: "TLS13"}, IngressTLS{}, []string{IngSSLPolicy}},
		{"empty redirect", map[string]string{IngSSLRedirect: " "}, IngressTLS{}, []string{IngSSLRedirect}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ing, errs := ParseIngress(c.ann)
			if diff := cmp.Diff(c.want, ing.TLS); diff != "" {
				t.Errorf("TLS (-want +got):\n%s", diff)
			}
			var keys []string
			for _, e := range errs {
				keys = append(keys, e.Key)
			}
			if diff := cmp.Diff(c.errKeys, keys); diff != "" {
				t.Errorf("error keys (-want +got):\n%s", diff)
			}
		})
	}
}
