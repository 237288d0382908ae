package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/localenv"
)

const (
	annSSLCert     = "service.beta.kubernetes.io/aws-load-balancer-ssl-cert"
	annSSLPorts    = "service.beta.kubernetes.io/aws-load-balancer-ssl-ports"
	annSSLPolicy   = "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy"
	annALPN        = "service.beta.kubernetes.io/aws-load-balancer-alpn-policy"
	annBackendProt = "service.beta.kubernetes.io/aws-load-balancer-backend-protocol"
	ingSSLRedirect = "alb.ingress.kubernetes.io/ssl-redirect"
	ingSSLPolicy   = "alb.ingress.kubernetes.io/ssl-policy"
)

// importCertificate imports a self-signed certificate for the names into the emulator's
// ACM and returns its ARN. An imported certificate is issued at once (a requested one
// waits for validation), so certificate discovery finds it.
func (h *harness) importCertificate(names ...string) string {
	h.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		h.t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		h.t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		h.t.Fatal(err)
	}
	cfg, err := moto.AWSConfig(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	out, err := acm.NewFromConfig(cfg).ImportCertificate(h.ctx, &acm.ImportCertificateInput{
		Certificate: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		PrivateKey:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	})
	if err != nil {
		h.t.Fatalf("import certificate: %v", err)
	}
	return aws.ToString(out.CertificateArn)
}

// listenerCertificates returns a listener's default certificate and the others, sorted.
func (h *harness) listenerCertificates(arn string) (string, []string) {
	h.t.Helper()
	out, err := h.elb.DescribeListenerCertificates(h.ctx, &elbv2.DescribeListenerCertificatesInput{ListenerArn: aws.String(arn)})
	if err != nil {
		h.t.Fatalf("describe listener certificates: %v", err)
	}
	def, extra := "", []string{}
	for _, c := range out.Certificates {
		if aws.ToBool(c.IsDefault) {
			def = aws.ToString(c.CertificateArn)
		} else if a := aws.ToString(c.CertificateArn); a != def {
			extra = append(extra, a)
		}
	}
	sort.Strings(extra)
	return def, extra
}

// writesOf filters a Mutating map down to the actions that change listeners.
func listenerWrites(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if strings.Contains(k, "Listener") {
			out[k] = v
		}
	}
	return out
}

// TestNLBTLSListenerOnOneOfTwoPorts guards the NLB TLS annotations: ssl-ports picks the
// https port of two, which gets a TLS listener with both certificates (the first the
// default), the negotiation and ALPN policies, and a TLS target group (backend-protocol
// ssl); the other port stays TCP, and a steady Service rewrites no listener.
func TestNLBTLSListenerOnOneOfTwoPorts(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	cert1, cert2 := h.certificate("nlb.example.com"), h.certificate("nlb2.example.com")
	const policy = "ELBSecurityPolicy-TLS13-1-2-2021-06"
	svc := webserver("tls", map[string]string{annSSLCert: cert1 + "," + cert2, annSSLPorts: "https",
		annSSLPolicy: policy, annALPN: "HTTP2Preferred", annBackendProt: "ssl"})
	svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(443)})
	h.create(svc)
	host := h.waitHostname("tls")
	h.quiesce()
	lbARN := aws.ToString(h.albByHostname(host).LoadBalancerArn) // any load balancer, by its DNS name

	tcp, tls := h.listenerOnPort(lbARN, 80), h.listenerOnPort(lbARN, 443)
	if tcp.Protocol != elbtypes.ProtocolEnumTcp {
		t.Errorf("listener 80 is %s, want TCP", tcp.Protocol)
	}
	if tls.Protocol != elbtypes.ProtocolEnumTls || aws.ToString(tls.SslPolicy) != policy || fmt.Sprint(tls.AlpnPolicy) != "[HTTP2Preferred]" {
		t.Errorf("listener 443: %s, policy %s, ALPN %v; want TLS, %s, [HTTP2Preferred]", tls.Protocol, aws.ToString(tls.SslPolicy), tls.AlpnPolicy, policy)
	}
	if def, extra := h.listenerCertificates(aws.ToString(tls.ListenerArn)); def != cert1 || fmt.Sprint(extra) != fmt.Sprint([]string{cert2}) {
		t.Errorf("listener 443 certificates: default %s, others %v; want %s and [%s]", def, extra, cert1, cert2)
	}
	protocols := map[string]elbtypes.ProtocolEnum{}
	for _, tg := range h.targetGroups() {
		protocols[aws.ToString(tg.TargetGroupArn)] = tg.Protocol
	}
	if p := protocols[forwardTo(tcp)]; p != elbtypes.ProtocolEnumTcp {
		t.Errorf("target group of port 80 is %s, want TCP", p)
	}
	if p := protocols[forwardTo(tls)]; p != elbtypes.ProtocolEnumTls {
		t.Errorf("target group of port 443 is %s, want TLS (backend-protocol ssl)", p)
	}

	before := h.counts()
	h.patchAnnotations("tls", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags": "team=web"})
	h.eventually("NLB tagged", 30*time.Second, func() string {
		if tags := h.elbTags(lbARN); tags["team"] != "web" {
			return fmt.Sprintf("tags %v", tags)
		}
		return ""
	})
	h.quiesce()
	if w := listenerWrites(h.counts().Sub(before).Mutating()); len(w) != 0 {
		t.Errorf("a steady TLS listener was rewritten: %v", w)
	}

	// A new negotiation policy is applied to the TLS listener in place. (The emulator's
	// ModifyListener ignores certificates and ALPN on a TLS listener and refuses the TLS
	// protocol, so changing those in place is covered by the plan and elb unit tests.)
	const newPolicy = "ELBSecurityPolicy-TLS-1-2-2017-01"
	h.patchAnnotations("tls", map[string]string{annSSLPolicy: newPolicy})
	h.eventually("listener 443 policy updated", 30*time.Second, func() string {
		if l := h.listenerOnPort(lbARN, 443); aws.ToString(l.SslPolicy) != newPolicy {
			return fmt.Sprintf("policy %s; condition %s", aws.ToString(l.SslPolicy), conditionMessage(h.service("tls")))
		}
		return ""
	})
	if l := h.listenerOnPort(lbARN, 443); aws.ToString(l.ListenerArn) != aws.ToString(tls.ListenerArn) {
		t.Errorf("listener 443 was replaced, not modified")
	}
}

// forwardTo is the target group a listener's default action forwards to.
func forwardTo(l elbtypes.Listener) string {
	for _, a := range l.DefaultActions {
		if arn := aws.ToString(a.TargetGroupArn); arn != "" {
			return arn
		}
		if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
			return aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn)
		}
	}
	return ""
}

// TestIngressSSLRedirectWithDiscoveredCertificate guards ssl-redirect and certificate
// discovery: the HTTPS listener gets the ACM certificate whose wildcard covers the host of
// spec.tls, with the default SSL policy; the HTTP listener only redirects to HTTPS:443
// (301); and discovery lists the certificates once for several Ingresses and reconciles.
func TestIngressSSLRedirectWithDiscoveredCertificate(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	cert := h.importCertificate("*.shop.example.com")
	h.importCertificate("other.example.org")
	h.create(backendService("echo", 30080, nil))
	withTLS := func(name, host string, ann map[string]string) *networkingv1.Ingress {
		ing := ingress(name, "echo", ann)
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{host}}}
		return ing
	}
	h.create(withTLS("web", "www.shop.example.com", map[string]string{ingScheme: internetFacing,
		ingListenPorts: `[{"HTTP":80},{"HTTPS":443}]`, ingSSLRedirect: "443"}))
	host := h.waitIngressHostname("web")
	h.quiesce()
	lbARN := aws.ToString(h.albByHostname(host).LoadBalancerArn)

	https := h.listenerOnPort(lbARN, 443)
	if def, extra := h.listenerCertificates(aws.ToString(https.ListenerArn)); def != cert || len(extra) != 0 {
		t.Errorf("HTTPS certificates: default %s, others %v; want %s alone", def, extra, cert)
	}
	if p := aws.ToString(https.SslPolicy); p != "ELBSecurityPolicy-2016-08" {
		t.Errorf("HTTPS SSL policy %s, want the default ELBSecurityPolicy-2016-08", p)
	}
	if r, ok := h.ruleAt(aws.ToString(https.ListenerArn), "1"); !ok || r.Actions[0].Type != elbtypes.ActionTypeEnumForward {
		t.Errorf("HTTPS rule 1 = %+v (found %v), want a forward", r.Actions, ok)
	}
	http := h.listenerOnPort(lbARN, 80)
	if len(http.DefaultActions) != 1 || http.DefaultActions[0].Type != elbtypes.ActionTypeEnumRedirect {
		t.Fatalf("HTTP default actions %+v, want one redirect", http.DefaultActions)
	}
	rc := http.DefaultActions[0].RedirectConfig
	if aws.ToString(rc.Protocol) != "HTTPS" || aws.ToString(rc.Port) != "443" || rc.StatusCode != elbtypes.RedirectActionStatusCodeEnumHttp301 {
		t.Errorf("redirect %s:%s %s, want HTTPS:443 HTTP_301", aws.ToString(rc.Protocol), aws.ToString(rc.Port), rc.StatusCode)
	}
	if _, ok := h.ruleAt(aws.ToString(http.ListenerArn), "1"); ok {
		t.Error("the HTTP listener has a rule; with ssl-redirect it only redirects")
	}

	// More Ingresses that need discovery, and more reconciles, within the list's lifetime:
	// ACM is listed once, and each certificate described once.
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("more-%d", i)
		h.create(withTLS(name, fmt.Sprintf("m%d.shop.example.com", i), map[string]string{ingScheme: internetFacing, ingListenPorts: `[{"HTTPS":443}]`}))
		h.waitIngressHostname(name)
	}
	h.quiesce()
	steady := h.counts()
	h.pokeIngress("web", 2)
	h.quiesce()
	if w := h.counts().Sub(steady).Mutating(); len(w) != 0 {
		t.Errorf("a steady group with ssl-redirect and a discovered certificate was rewritten: %v", w)
	}
	acmCalls := map[string]int{}
	for k, n := range h.counts() {
		if k.Service == cloud.ServiceACM {
			acmCalls[k.Action+" "+k.Outcome] += n
		}
	}
	if want := map[string]int{"ListCertificates ok": 1, "DescribeCertificate ok": 2}; fmt.Sprint(acmCalls) != fmt.Sprint(want) {
		t.Errorf("ACM calls %v, want %v", acmCalls, want)
	}
	if c := ingressCondition(h.getIngress("web")); !strings.HasPrefix(c, "True") {
		t.Errorf("condition %s", c)
	}
}

// TestTLSBadValuesGiveWarningEvents guards the validation of the TLS annotations: a bad
// value gets a FailedBuildModel Event and a False condition naming the key, the value and
// the fix, and nothing is created.
func TestTLSBadValuesGiveWarningEvents(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	before := h.counts()
	h.create(webserver("bad-alpn", map[string]string{annSSLCert: "arn:aws:acm:us-west-2:123456789012:certificate/x", annALPN: "h2"}))
	h.eventually("event on bad-alpn", 30*time.Second, func() string {
		for _, m := range h.events("bad-alpn")["FailedBuildModel"] {
			if containsAll(m, []string{annALPN, `"h2"`, "HTTP2Preferred", "fix:"}) {
				return ""
			}
		}
		return fmt.Sprint(h.events("bad-alpn"))
	})
	if msg := conditionMessage(h.service("bad-alpn")); !strings.HasPrefix(msg, "False") || !strings.Contains(msg, annALPN) {
		t.Errorf("condition %s", msg)
	}

	h.create(backendService("echo", 30080, nil))
	h.create(ingress("bad-redirect", "echo", map[string]string{ingSSLRedirect: "https"}))
	h.create(ingress("bad-policy", "echo", map[string]string{ingSSLPolicy: "Modern"}))
	for name, want := range map[string][]string{
		"bad-redirect": {ingSSLRedirect, `"https"`, "port number", "fix:"},
		"bad-policy":   {ingSSLPolicy, `"Modern"`, "ELBSecurityPolicy-", "fix:"},
	} {
		h.eventually("event on "+name, 30*time.Second, func() string {
			for _, m := range h.ingressEvents(name)["FailedBuildModel"] {
				if containsAll(m, want) {
					return ""
				}
			}
			return fmt.Sprint(h.ingressEvents(name))
		})
		if c := ingressCondition(h.getIngress(name)); !strings.HasPrefix(c, "False") || !strings.Contains(c, want[0]) {
			t.Errorf("%s condition %s", name, c)
		}
	}
	time.Sleep(2 * time.Second)
	if w := h.counts().Sub(before).Mutating(); len(w) != 0 {
		t.Errorf("AWS writes after invalid input: %v", w)
	}
}

// TestIngressClassParamsTLSAndDefaultSSLPolicyFlag guards IngressClassParams certificateArn
// and sslPolicy (they win over the annotations) and --default-ssl-policy (the policy of a
// new HTTPS listener that nothing else sets).
func TestIngressClassParamsTLSAndDefaultSSLPolicyFlag(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	const flagPolicy, classPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-FS-1-2-Res-2020-10"
	h.startController("--default-ssl-policy=" + flagPolicy)
	classCert, annCert := h.certificate("class.example.com"), h.certificate("annotation.example.com")
	h.create(&elbv2api.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: "tls"},
		Spec: elbv2api.IngressClassParamsSpec{CertificateArn: []string{classCert}, SSLPolicy: classPolicy}})
	h.ensureIngressClass("alb-tls", "tls")
	h.ensureIngressClass(albClass, "")
	h.create(backendService("echo", 30080, nil))
	classy := ingress("classy", "echo", map[string]string{ingScheme: internetFacing, ingCertARN: annCert, ingSSLPolicy: "ELBSecurityPolicy-2016-08"})
	classy.Spec.IngressClassName = aws.String("alb-tls")
	h.create(classy)
	h.create(ingress("plain", "echo", map[string]string{ingScheme: internetFacing, ingCertARN: annCert}))

	for name, want := range map[string][2]string{"classy": {classCert, classPolicy}, "plain": {annCert, flagPolicy}} {
		lbARN := aws.ToString(h.albByHostname(h.waitIngressHostname(name)).LoadBalancerArn)
		l := h.listenerOnPort(lbARN, 443)
		def, _ := h.listenerCertificates(aws.ToString(l.ListenerArn))
		if def != want[0] || aws.ToString(l.SslPolicy) != want[1] {
			t.Errorf("%s: HTTPS certificate %s, policy %s; want %s, %s", name, def, aws.ToString(l.SslPolicy), want[0], want[1])
		}
	}
}
