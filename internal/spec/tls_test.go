package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lbsg/lbsg/internal/annotations"
)

const (
	tlsCertA = "arn:aws:acm:us-east-1:111122223333:certificate/aaaa"
	tlsCertB = "arn:aws:acm:us-east-1:111122223333:certificate/bbbb"
)

func twoPorts() func(*corev1.Service) {
	return ports(
		corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080), NodePort: 30080},
		corev1.ServicePort{Name: "https", Protocol: corev1.ProtocolTCP, Port: 443, TargetPort: intstr.FromInt32(8080), NodePort: 30443})
}

type tlsListenerView struct {
	Port                  int32
	Protocol, TGProtocol  string
	Certificates          []string
	SSLPolicy, ALPNPolicy string
}

func TestNLBTLSListenersFollowSSLAnnotations(t *testing.T) {
	cases := []struct {
		name string
		ann  []string
		want []tlsListenerView
	}{
		{"no ssl-cert: TCP", nil, []tlsListenerView{{80, "TCP", "TCP", nil, "", ""}, {443, "TCP", "TCP", nil, "", ""}}},
		{"ssl-cert alone: every port TLS with the default policy", []string{annotations.SvcSSLCert, tlsCertA},
			[]tlsListenerView{{80, "TLS", "TCP", []string{tlsCertA}, annotations.DefaultSSLPolicy, ""}, {443, "TLS", "TCP", []string{tlsCertA}, annotations.DefaultSSLPolicy, ""}}},
		{"ssl-ports by name, two certificates, policies", []string{annotations.SvcSSLCert, tlsCertA + "," + tlsCertB, annotations.SvcSSLPorts, "https",
			annotations.SvcSSLNegotiationPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06", annotations.SvcALPNPolicy, "HTTP2Preferred"},
			[]tlsListenerView{{80, "TCP", "TCP", nil, "", ""}, {443, "TLS", "TCP", []string{tlsCertA, tlsCertB}, "ELBSecurityPolicy-TLS13-1-2-2021-06", "HTTP2Preferred"}}},
		{"ssl-ports by number, backend-protocol ssl", []string{annotations.SvcSSLCert, tlsCertA, annotations.SvcSSLPorts, "443", annotations.SvcBackendProtocol, "ssl"},
			[]tlsListenerView{{80, "TCP", "TCP", nil, "", ""}, {443, "TLS", "TLS", []string{tlsCertA}, annotations.DefaultSSLPolicy, ""}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := mustBuild(t, testService(twoPorts(), ann(c.ann...)), testSettings(), ServiceFacts{})
			tgProto := map[string]string{}
			for _, tg := range st.TargetGroups {
				tgProto[tg.ResourceID] = tg.Protocol
			}
			var got []tlsListenerView
			for _, l := range st.Listeners {
				got = append(got, tlsListenerView{l.Port, l.Protocol, tgProto[l.TargetGroup], l.Certificates, l.SSLPolicy, l.ALPNPolicy})
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("listeners (-want +got):\n%s", diff)
			}
			for _, n := range st.Networking.Needs {
				if n.Protocol != "tcp" {
					t.Errorf("a TLS target group needs %v", n)
				}
			}
		})
	}
}

func TestDefaultSSLPolicyFlagAppliesToTLSAndHTTPSListeners(t *testing.T) {
	s := testSettings()
	s.DefaultSSLPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"
	st := mustBuild(t, testService(ann(annotations.SvcSSLCert, tlsCertA)), s, ServiceFacts{})
	if st.Listeners[0].SSLPolicy != s.DefaultSSLPolicy {
		t.Errorf("NLB listener policy %q", st.Listeners[0].SSLPolicy)
	}
	ing := testIngress("web", ingAnn(annotations.IngCertificateARN, tlsCertA))
	ist := mustBuildGroup(t, implicitGroup(ing), asMembers(ing), s, defaultFacts())
	if ist.Listeners[0].SSLPolicy != s.DefaultSSLPolicy {
		t.Errorf("ALB listener policy %q", ist.Listeners[0].SSLPolicy)
	}
}

func withTLSHosts(hosts ...string) ingOpt {
	return func(ing *networkingv1.Ingress) {
		ing.Spec.TLS = append(ing.Spec.TLS, networkingv1.IngressTLS{Hosts: hosts})
	}
}

func TestIngressCertificatesAreDiscoveredFromTLSAndRuleHosts(t *testing.T) {
	ing := testIngress("web", ingAnn(annotations.IngListenPorts, `[{"HTTP":80},{"HTTPS":443}]`), withTLSHosts("WWW.example.com"))
	ing.Spec.Rules[0].Host = "api.example.com"
	members := asMembers(ing)
	if diff := cmp.Diff([]string{"api.example.com", "www.example.com"}, CertificateDiscoveryHosts(members)); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	facts := defaultFacts()
	facts.CertificatesByHost = map[string][]string{"www.example.com": {tlsCertB}, "api.example.com": {tlsCertA}}
	st := mustBuildGroup(t, implicitGroup(ing), members, testSettings(), facts)
	if diff := cmp.Diff([]string{tlsCertA, tlsCertB}, st.Listeners[1].Certificates); diff != "" {
		t.Errorf("certificates (-want +got):\n%s", diff)
	}

	// A host without a certificate, or with two, is a problem naming the host.
	facts.CertificatesByHost = map[string][]string{"www.example.com": {tlsCertA, tlsCertB}}
	st, problems := BuildIngressGroup(implicitGroup(ing), members, testSettings(), facts)
	p := problemOn(t, st, problems, "spec.rules[0].host")
	if p.Value != "api.example.com" || !strings.Contains(p.Reason, "no issued ACM certificate matches host api.example.com") {
		t.Errorf("problem %v", p)
	}
	if p := problemOn(t, st, problems, "spec.tls[0].hosts[0]"); !strings.Contains(p.Reason, "2 ACM certificates match host www.example.com") {
		t.Errorf("problem %v", p)
	}
}

func TestExplicitCertificatesSkipDiscovery(t *testing.T) {
	ing := testIngress("web", ingAnn(annotations.IngCertificateARN, tlsCertA), withTLSHosts("www.example.com"))
	if hosts := CertificateDiscoveryHosts(asMembers(ing)); hosts != nil {
		t.Errorf("hosts %v", hosts)
	}
	// spec.tls alone does not turn HTTPS on: listen-ports must ask for it, as upstream.
	plain := testIngress("web", withTLSHosts("www.example.com"))
	if hosts := CertificateDiscoveryHosts(asMembers(plain)); hosts != nil {
		t.Errorf("hosts without HTTPS %v", hosts)
	}
}

func TestIngressClassParamsCertificateAndPolicyWin(t *testing.T) {
	ing := testIngress("web", ingAnn(annotations.IngCertificateARN, tlsCertA, annotations.IngSSLPolicy, "ELBSecurityPolicy-2016-08"))
	members := asMembers(ing)
	members[0].Params = &ClassParams{Name: "p", CertificateARNs: []string{tlsCertB}, SSLPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06"}
	st := mustBuildGroup(t, implicitGroup(ing), members, testSettings(), defaultFacts())
	l := st.Listeners[0]
	if l.Port != 443 || !cmp.Equal(l.Certificates, []string{tlsCertB}) || l.SSLPolicy != "ELBSecurityPolicy-TLS13-1-2-2021-06" {
		t.Errorf("listener %+v", l)
	}
	_, problems := groupProblems(testIngress("web"), &ClassParams{Name: "p", SSLPolicy: "strict"})
	if len(problems) != 1 || problems[0].Key != "IngressClassParams p spec.sslPolicy" {
		t.Errorf("problems %v", problems)
	}
}

func TestSSLRedirectMakesHTTPListenersRedirect(t *testing.T) {
	ing := testIngress("web", ingAnn(annotations.IngListenPorts, `[{"HTTP":80},{"HTTPS":443}]`, annotations.IngCertificateARN, tlsCertA,
		annotations.IngSSLRedirect, "443"))
	st := mustBuildOne(t, ing)
	http, https := st.Listeners[0], st.Listeners[1]
	if http.RedirectPort != 443 || http.TargetGroup != "" || len(http.Rules) != 0 {
		t.Errorf("HTTP listener %+v", http)
	}
	if https.RedirectPort != 0 || len(https.Rules) != 1 {
		t.Errorf("HTTPS listener %+v", https)
	}
}

func TestSSLRedirectToAPortThatIsNotHTTPSIsAProblem(t *testing.T) {
	ing := testIngress("web", ingAnn(annotations.IngSSLRedirect, "443"))
	st, problems := groupProblems(ing, nil)
	if p := problemOn(t, st, problems, annotations.IngSSLRedirect); p.Value != "443" || !strings.Contains(p.Reason, "not an HTTPS listener") {
		t.Errorf("problem %v", p)
	}
}

func TestConflictingSSLPoliciesOnOnePortAreAProblem(t *testing.T) {
	a := testIngress("a", inGroup("g"), ingAnn(annotations.IngCertificateARN, tlsCertA, annotations.IngSSLPolicy, "ELBSecurityPolicy-2016-08"))
	b := testIngress("b", inGroup("g"), ingAnn(annotations.IngCertificateARN, tlsCertA, annotations.IngSSLPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06"))
	st, problems := BuildIngressGroup(IngressGroupID{Name: "g"}, asMembers(a, b), testSettings(), defaultFacts())
	if p := problemOn(t, st, problems, annotations.IngSSLPolicy); !strings.Contains(p.Reason, "conflicting sslPolicy for port 443") {
		t.Errorf("problem %v", p)
	}
}

func TestTLSAnnotationsWithoutEffectGiveANotice(t *testing.T) {
	cases := []struct {
		name string
		ann  []string
		want string // substring of the one notice; "" for none
	}{
		{"policy without certificate", []string{annotations.SvcALPNPolicy, "HTTP2Only", annotations.SvcSSLPorts, "443"},
			annotations.SvcSSLPorts + ", " + annotations.SvcALPNPolicy + " have no effect without " + annotations.SvcSSLCert},
		{"port that names no port", []string{annotations.SvcSSLCert, tlsCertA, annotations.SvcSSLPorts, "https,8443,grpc"}, `"8443", "grpc" name no TCP port`},
		{"every entry matches", []string{annotations.SvcSSLCert, tlsCertA, annotations.SvcSSLPorts, "80,https"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := mustBuild(t, testService(twoPorts(), ann(c.ann...)), testSettings(), ServiceFacts{})
			var got []string
			for _, n := range st.Notices {
				if n.Reason == NoticeTLSIgnored {
					got = append(got, n.Message)
				}
			}
			switch {
			case c.want == "" && len(got) != 0:
				t.Errorf("notices %v, want none", got)
			case c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want) || !strings.Contains(got[0], "fix: ")):
				t.Errorf("notices %v, want one with %q", got, c.want)
			}
		})
	}
}
