package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/lbsg/lbsg/internal/localenv"
)

// lbsg never changes what it does not model: settings made on an adopted load balancer
// (by upstream's annotations lbsg does not implement, or by a person) stay as they are.

func (h *harness) listenerOnPort(lbARN string, port int32) elbtypes.Listener {
	h.t.Helper()
	for _, l := range h.listenersOf(lbARN) {
		if aws.ToInt32(l.Port) == port {
			return l
		}
	}
	h.t.Fatalf("no listener on port %d of %s", port, lbARN)
	return elbtypes.Listener{}
}

func (h *harness) ruleAt(listenerARN, priority string) (elbtypes.Rule, bool) {
	h.t.Helper()
	out, err := h.elb.DescribeRules(h.ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(listenerARN)})
	if err != nil {
		h.t.Fatalf("describe rules: %v", err)
	}
	for _, r := range out.Rules {
		if aws.ToString(r.Priority) == priority {
			return r, true
		}
	}
	return elbtypes.Rule{}, false
}

// waitEventsOf waits for an Event of the reason on the object whose message contains each
// of the strings (in one or several Events).
func (h *harness) waitEventsOf(kind, name, reason string, contains ...string) {
	h.t.Helper()
	for _, c := range contains {
		h.waitEventOf(kind, name, reason, c)
	}
}

// TestALBAdoptedSettingsLeftAsIs guards case 6: a redirect default action, a fixed-response
// 503 rule and an SSL policy on an adopted ALB were rewritten to lbsg's 404 and forward, or
// deleted.
func TestALBAdoptedSettingsLeftAsIs(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	cert := h.certificate("adopted.example.com")
	h.create(backendService("echo", 30080, nil))
	h.create(ingress("echo", "echo", map[string]string{ingScheme: internetFacing,
		ingListenPorts: `[{"HTTP":80},{"HTTPS":443}]`, ingCertARN: cert}))
	host := h.waitIngressHostname("echo")
	lbARN := aws.ToString(h.albByHostname(host).LoadBalancerArn)
	h.quiesce()
	http := h.listenerOnPort(lbARN, 80)
	https := h.listenerOnPort(lbARN, 443)

	// What upstream's ssl-redirect and actions annotations (or a person) set up.
	redirect := elbtypes.Action{Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{
		Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301}}
	if _, err := h.elb.ModifyListener(h.ctx, &elbv2.ModifyListenerInput{ListenerArn: http.ListenerArn,
		DefaultActions: []elbtypes.Action{redirect}}); err != nil {
		t.Fatalf("set the redirect: %v", err)
	}
	const policy = "ELBSecurityPolicy-TLS-1-2-2017-01"
	if _, err := h.elb.ModifyListener(h.ctx, &elbv2.ModifyListenerInput{ListenerArn: https.ListenerArn,
		SslPolicy: aws.String(policy)}); err != nil {
		t.Fatalf("set the SSL policy: %v", err)
	}
	if _, err := h.elb.CreateRule(h.ctx, &elbv2.CreateRuleInput{ListenerArn: https.ListenerArn, Priority: aws.Int32(50),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"),
			PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/maintenance"}}}},
		Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String("503"), ContentType: aws.String("text/plain"), MessageBody: aws.String("down for maintenance")}}},
	}); err != nil {
		t.Fatalf("create the 503 rule: %v", err)
	}

	// A tag change makes lbsg write to the ALB, which drops its cached listeners: the
	// next passes read the settings above.
	h.patchIngressAnnotations("echo", map[string]string{ingTags: "team=web"})
	h.eventually("ALB tagged", 30*time.Second, func() string {
		if tags := h.elbTags(lbARN); tags["team"] != "web" {
			return fmt.Sprintf("tags %v", tags)
		}
		return ""
	})
	h.pokeIngress("echo", 3)

	l := h.listenerOnPort(lbARN, 80)
	if len(l.DefaultActions) != 1 || l.DefaultActions[0].Type != elbtypes.ActionTypeEnumRedirect {
		t.Errorf("listener 80 default actions = %+v, want the redirect kept", l.DefaultActions)
	}
	if got := aws.ToString(h.listenerOnPort(lbARN, 443).SslPolicy); got != policy {
		t.Errorf("listener 443 SSL policy = %s, want %s kept", got, policy)
	}
	r, ok := h.ruleAt(aws.ToString(https.ListenerArn), "50")
	switch {
	case !ok:
		t.Error("the fixed-response 503 rule was deleted")
	case len(r.Actions) != 1 || r.Actions[0].Type != elbtypes.ActionTypeEnumFixedResponse ||
		aws.ToString(r.Actions[0].FixedResponseConfig.StatusCode) != "503":
		t.Errorf("rule 50 actions = %+v, want the fixed 503 kept", r.Actions)
	}
	// lbsg's own rule is still there and still forwards.
	if r, ok := h.ruleAt(aws.ToString(https.ListenerArn), "1"); !ok || r.Actions[0].Type != elbtypes.ActionTypeEnumForward {
		t.Errorf("lbsg's rule 1 on 443 = %+v (found %v), want a forward", r.Actions, ok)
	}
	h.waitEventsOf("Ingress", "echo", "SettingLeftAsIs",
		"listener 80 of", "default action that lbsg does not manage (redirect); left as is",
		"rule 50 on listener 443", "fixed-response 503")
	if c := ingressCondition(h.getIngress("echo")); !strings.HasPrefix(c, "True Reconciled") {
		t.Errorf("condition = %s, want Ready", c)
	}
}

// TestNLBAdoptedTLSListenerLeftAsIs guards case 6 for an NLB: a TLS listener (with its
// certificate and SSL policy) where lbsg would create TCP was rewritten to TCP.
func TestNLBAdoptedTLSListenerLeftAsIs(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(webserver("web", nil))
	host := h.waitHostname("web")
	lbARN := aws.ToString(h.albByHostname(host).LoadBalancerArn)
	h.quiesce()
	tcp := h.listenerOnPort(lbARN, 80)
	tgARN := aws.ToString(tcp.DefaultActions[0].TargetGroupArn)

	// The listener on port 80 becomes TLS, as upstream's ssl-cert annotation makes it.
	cert := h.certificate("tls.example.com")
	if _, err := h.elb.DeleteListener(h.ctx, &elbv2.DeleteListenerInput{ListenerArn: tcp.ListenerArn}); err != nil {
		t.Fatalf("delete the TCP listener: %v", err)
	}
	const policy = "ELBSecurityPolicy-TLS-1-2-2017-01"
	if _, err := h.elb.CreateListener(h.ctx, &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Port: aws.Int32(80),
		Protocol: elbtypes.ProtocolEnumTls, SslPolicy: aws.String(policy),
		Certificates:   []elbtypes.Certificate{{CertificateArn: aws.String(cert)}},
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}}); err != nil {
		t.Fatalf("create the TLS listener: %v", err)
	}
	// A tag change makes lbsg write to the NLB and read its listeners again.
	h.patchAnnotations("web", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags": "team=web"})
	h.eventually("NLB tagged", 30*time.Second, func() string {
		if tags := h.elbTags(lbARN); tags["team"] != "web" {
			return fmt.Sprintf("tags %v", tags)
		}
		return ""
	})
	for i := 0; i < 3; i++ {
		h.patchAnnotations("web", map[string]string{"example.com/poke": fmt.Sprint(i)})
		time.Sleep(2500 * time.Millisecond)
	}

	l := h.listenerOnPort(lbARN, 80)
	if l.Protocol != elbtypes.ProtocolEnumTls || aws.ToString(l.SslPolicy) != policy {
		t.Errorf("listener 80 is %s with policy %s, want TLS with %s kept", l.Protocol, aws.ToString(l.SslPolicy), policy)
	}
	if len(l.Certificates) == 0 || aws.ToString(l.Certificates[0].CertificateArn) != cert {
		t.Errorf("listener 80 certificates = %+v, want %s kept", l.Certificates, cert)
	}
	h.waitEvent("web", "SettingLeftAsIs", "listener 80 of")
}
