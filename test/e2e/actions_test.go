package e2e

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbsg/lbsg/internal/localenv"
)

const (
	ingActions    = "alb.ingress.kubernetes.io/actions."
	ingConditions = "alb.ingress.kubernetes.io/conditions."
)

// actionsIngress routes each path (Prefix) to a backend: "svc:port" for a Service port
// number, or an action name (port use-annotation).
func actionsIngress(name string, ann map[string]string, paths [][2]string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	var ps []networkingv1.HTTPIngressPath
	for _, p := range paths {
		be := networkingv1.IngressServiceBackend{Name: p[1], Port: networkingv1.ServiceBackendPort{Name: "use-annotation"}}
		if svc, port, ok := strings.Cut(p[1], ":"); ok {
			n, _ := strconv.Atoi(port)
			be = networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: int32(n)}}
		}
		ps = append(ps, networkingv1.HTTPIngressPath{Path: p[0], PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &be}})
	}
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Annotations: ann},
		Spec: networkingv1.IngressSpec{IngressClassName: aws.String(albClass),
			Rules: []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: ps}}}}},
	}
}

// ruleString renders a listener rule as read from AWS: its conditions, then its action.
func ruleString(r elbtypes.Rule, tgNames map[string]string) string {
	var parts []string
	for _, c := range r.Conditions {
		f := aws.ToString(c.Field)
		switch {
		case c.PathPatternConfig != nil:
			parts = append(parts, f+"="+strings.Join(c.PathPatternConfig.Values, ","))
		case c.HostHeaderConfig != nil:
			parts = append(parts, f+"="+strings.Join(c.HostHeaderConfig.Values, ","))
		case c.HttpHeaderConfig != nil:
			parts = append(parts, f+"="+aws.ToString(c.HttpHeaderConfig.HttpHeaderName)+":"+strings.Join(c.HttpHeaderConfig.Values, ","))
		case c.HttpRequestMethodConfig != nil:
			parts = append(parts, f+"="+strings.Join(c.HttpRequestMethodConfig.Values, ","))
		case c.SourceIpConfig != nil:
			parts = append(parts, f+"="+strings.Join(c.SourceIpConfig.Values, ","))
		case c.QueryStringConfig != nil:
			var kv []string
			for _, q := range c.QueryStringConfig.Values {
				kv = append(kv, aws.ToString(q.Key)+"="+aws.ToString(q.Value))
			}
			parts = append(parts, f+"="+strings.Join(kv, ","))
		default:
			parts = append(parts, f+"="+strings.Join(c.Values, ","))
		}
	}
	sort.Strings(parts)
	for _, a := range r.Actions {
		switch {
		case a.RedirectConfig != nil:
			rc := a.RedirectConfig
			parts = append(parts, fmt.Sprintf("-> redirect %s %s:%s", rc.StatusCode, aws.ToString(rc.Protocol), aws.ToString(rc.Port)))
		case a.FixedResponseConfig != nil:
			fc := a.FixedResponseConfig
			parts = append(parts, fmt.Sprintf("-> fixed-response %s %s %q", aws.ToString(fc.StatusCode), aws.ToString(fc.ContentType), aws.ToString(fc.MessageBody)))
		case a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 1:
			var tgs []string
			for _, t := range a.ForwardConfig.TargetGroups {
				tgs = append(tgs, fmt.Sprintf("%s*%d", tgNames[aws.ToString(t.TargetGroupArn)], aws.ToInt32(t.Weight)))
			}
			sort.Strings(tgs)
			s := "-> forward " + strings.Join(tgs, " ")
			if st := a.ForwardConfig.TargetGroupStickinessConfig; st != nil && aws.ToBool(st.Enabled) {
				s += fmt.Sprintf(" sticky %ds", aws.ToInt32(st.DurationSeconds))
			}
			parts = append(parts, s)
		default:
			arn := aws.ToString(a.TargetGroupArn)
			if arn == "" && a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) == 1 {
				arn = aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn)
			}
			parts = append(parts, "-> forward "+tgNames[arn])
		}
	}
	return strings.Join(parts, " ")
}

// rulesByPriority renders a listener's non-default rules by priority, target groups by
// the Service they serve (the tag lbsg puts on them).
func (h *harness) rulesByPriority(listenerARN string) map[string]string {
	h.t.Helper()
	names := map[string]string{}
	for _, tg := range h.targetGroups() {
		arn := aws.ToString(tg.TargetGroupArn)
		names[arn] = h.elbTags(arn)["ingress.k8s.aws/resource"]
	}
	out, err := h.elb.DescribeRules(h.ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(listenerARN)})
	if err != nil {
		h.t.Fatalf("describe rules: %v", err)
	}
	got := map[string]string{}
	for _, r := range out.Rules {
		if !aws.ToBool(r.IsDefault) {
			got[aws.ToString(r.Priority)] = ruleString(r, names)
		}
	}
	return got
}

// coversPort reports whether one of the rendered SG rules ("tcp 30081 from sg-…", "tcp
// 30081-30083 from sg-…") admits the TCP port.
func coversPort(rules []string, port int) bool {
	for _, r := range rules {
		f := strings.Fields(r)
		if len(f) < 2 || f[0] != "tcp" {
			continue
		}
		lo, hi, _ := strings.Cut(f[1], "-")
		if hi == "" {
			hi = lo
		}
		l, err1 := strconv.Atoi(lo)
		u, err2 := strconv.Atoi(hi)
		if err1 == nil && err2 == nil && l <= port && port <= u {
			return true
		}
	}
	return false
}

// TestALBActionsAndConditions guards the actions.* and conditions.* annotations on the
// emulator: a redirect, a fixed response, a weighted sticky forward to two Services, a
// rule on http-header and query-string conditions and one on source-ip, http-request-method
// and host-header conditions become those listener rules; the
// Services of the forward get target groups and node SG rules; a default backend with
// use-annotation sets the listener's default action; a change to an action
// modifies its rule in place, a rule in step is not rewritten, and a malformed action gets
// a Warning Event while AWS keeps what it has.
func TestALBActionsAndConditions(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(backendService("blue", 30081, nil))
	h.create(backendService("green", 30082, nil))
	h.create(backendService("beta", 30083, nil))
	ann := map[string]string{
		ingScheme:                  internetFacing,
		ingActions + "to-https":    `{"type":"redirect","redirectConfig":{"protocol":"HTTPS","port":"443","statusCode":"HTTP_301"}}`,
		ingActions + "ops":         `{"type":"fixed-response","fixedResponseConfig":{"contentType":"text/plain","statusCode":"403","messageBody":"ops only"}}`,
		ingActions + "fallback":    `{"type":"fixed-response","fixedResponseConfig":{"contentType":"application/json","statusCode":"404","messageBody":"{\"error\":\"no route\"}"}}`,
		ingActions + "maintenance": `{"type":"fixed-response","fixedResponseConfig":{"contentType":"text/plain","statusCode":"503","messageBody":"down for maintenance"}}`,
		ingActions + "blue-green":  `{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"blue","servicePort":80,"weight":20},{"serviceName":"green","servicePort":"http","weight":80}],"targetGroupStickinessConfig":{"enabled":true,"durationSeconds":120}}}`,
		ingConditions + "beta":     `[{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"X-Env","values":["beta"]}},{"field":"query-string","queryStringConfig":{"values":[{"key":"version","value":"2"}]}}]`,
		ingConditions + "ops":      `[{"field":"source-ip","sourceIpConfig":{"values":["10.0.0.0/8"]}},{"field":"http-request-method","httpRequestMethodConfig":{"values":["GET","HEAD"]}},{"field":"host-header","hostHeaderConfig":{"values":["ops.example.com"]}}]`,
	}
	shop := actionsIngress("shop", ann, [][2]string{{"/old", "to-https"}, {"/down", "maintenance"}, {"/app", "blue-green"}, {"/beta", "beta:80"}, {"/ops", "ops"}})
	shop.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "fallback",
		Port: networkingv1.ServiceBackendPort{Name: "use-annotation"}}}
	h.create(shop)
	host := h.waitIngressHostname("shop")
	lbARN := aws.ToString(h.albByHostname(host).LoadBalancerArn)
	listener := aws.ToString(h.listenerOnPort(lbARN, 80).ListenerArn)
	want := map[string]string{
		"1": `path-pattern=/old,/old/* -> redirect HTTP_301 HTTPS:443`,
		"2": `path-pattern=/down,/down/* -> fixed-response 503 text/plain "down for maintenance"`,
		"3": `path-pattern=/app,/app/* -> forward default/shop-blue:80*20 default/shop-green:http*80 sticky 120s`,
		"4": `http-header=X-Env:beta path-pattern=/beta,/beta/* query-string=version=2 -> forward default/shop-beta:80`,
		"5": `host-header=ops.example.com http-request-method=GET,HEAD path-pattern=/ops,/ops/* source-ip=10.0.0.0/8 -> fixed-response 403 text/plain "ops only"`,
	}
	h.eventually("the listener rules", 60*time.Second, func() string {
		if got := h.rulesByPriority(listener); fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Sprintf("rules\n%v\nwant\n%v", got, want)
		}
		return ""
	})
	// The default backend's action is the listener's default action.
	h.eventually("the listener's default action", 30*time.Second, func() string {
		l := h.listenerOnPort(lbARN, 80)
		got := ruleString(elbtypes.Rule{Actions: l.DefaultActions}, nil)
		if want := `-> fixed-response 404 application/json "{\"error\":\"no route\"}"`; got != want {
			return fmt.Sprintf("default action %s, want %s", got, want)
		}
		return ""
	})
	// Both Services of the forward, and the conditioned one, reach their node ports.
	h.eventually("node rules for every Service", 30*time.Second, func() string {
		got := lbsgRules(h.securityGroups()[h.world.NodeSGID])
		for _, p := range []int{30081, 30082, 30083} {
			if !coversPort(got, p) {
				return fmt.Sprintf("node SG lbsg rules %v do not admit %d", got, p)
			}
		}
		return ""
	})
	if c := ingressCondition(h.getIngress("shop")); !strings.HasPrefix(c, "True Reconciled") {
		t.Errorf("condition = %s, want Ready", c)
	}

	// In step: another pass rewrites no rule.
	h.quiesce()
	before := h.counts().Mutating()
	h.pokeIngress("shop", 2)
	h.quiesce()
	after := h.counts().Mutating()
	for _, op := range []string{"CreateRule", "ModifyRule", "DeleteRule", "CreateTargetGroup"} {
		if d := after[op] - before[op]; d != 0 {
			t.Errorf("%d %s call(s) on a stack in step", d, op)
		}
	}

	// A changed action modifies its rule in place.
	old, _ := h.ruleAt(listener, "2")
	h.patchIngressAnnotations("shop", map[string]string{ingActions + "maintenance": `{"type":"fixed-response","fixedResponseConfig":{"contentType":"application/json","statusCode":"502","messageBody":"{\"down\":true}"}}`})
	want["2"] = `path-pattern=/down,/down/* -> fixed-response 502 application/json "{\"down\":true}"`
	h.eventually("the modified rule", 30*time.Second, func() string {
		if got := h.rulesByPriority(listener); got["2"] != want["2"] {
			return fmt.Sprintf("rule 2 = %s, want %s", got["2"], want["2"])
		}
		return ""
	})
	if now, _ := h.ruleAt(listener, "2"); aws.ToString(now.RuleArn) != aws.ToString(old.RuleArn) {
		t.Errorf("rule 2 was replaced (%s -> %s), want it modified", aws.ToString(old.RuleArn), aws.ToString(now.RuleArn))
	}

	// A malformed action: a Warning Event and condition naming the key; AWS keeps the rules.
	h.quiesce()
	before = h.counts().Mutating()
	bad := `{"type":"fixed-response","fixedResponseConfig":{"statusCode":"503"}`
	h.patchIngressAnnotations("shop", map[string]string{ingActions + "maintenance": bad})
	h.waitIngressEvent("shop", "FailedBuildModel", ingActions+"maintenance")
	h.waitIngressEvent("shop", "FailedBuildModel", "malformed action JSON")
	h.eventually("condition naming the key", 30*time.Second, func() string {
		if c := ingressCondition(h.getIngress("shop")); !strings.Contains(c, ingActions+"maintenance") || !strings.Contains(c, "fix:") {
			return c
		}
		return ""
	})
	h.quiesce()
	after = h.counts().Mutating()
	for _, op := range destructive {
		if d := after[op] - before[op]; d != 0 {
			t.Errorf("%d %s call(s) after a malformed action", d, op)
		}
	}
	if got := h.rulesByPriority(listener); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rules after a malformed action\n%v\nwant them kept\n%v", got, want)
	}
}
