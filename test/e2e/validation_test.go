package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lbsg/lbsg/internal/localenv"
)

const (
	annPrefixLists = "service.beta.kubernetes.io/aws-load-balancer-security-group-prefix-lists"
	annExtraTags   = "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags"
)

// ingressManagedSG returns the managed SG of an implicit Ingress group, by its tracking tags.
func (h *harness) ingressManagedSG(name string) (sg, bool) {
	for _, g := range h.securityGroups() {
		if g.Tags["ingress.k8s.aws/stack"] == "default/"+name && g.Tags["ingress.k8s.aws/resource"] == "ManagedLBSecurityGroup" {
			return g, true
		}
	}
	return sg{}, false
}

// A CIDR with host bits set used to go to AWS as written, and every reconcile then
// authorized the written form and revoked the stored one. The API server rejects such a
// CIDR in a Service's source ranges, but not in an Ingress's inbound-cidrs.
func TestNonCanonicalInboundCIDRDoesNotFlap(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.ensureIngressClass(albClass, "")
	h.create(backendService("canon-be", 30081, nil))
	h.startController()
	h.create(ingress("canon", "canon-be", map[string]string{ingScheme: internetFacing, ingCIDRs: "10.0.0.1/8"}))
	h.waitIngressHostname("canon")
	h.waitIngressEvent("canon", "CIDRCanonicalized", `CIDR "10.0.0.1/8" has host bits set; lbsg uses 10.0.0.0/8`)
	want := "[tcp 80 from 10.0.0.0/8]"
	h.eventually("managed SG rules", 30*time.Second, func() string {
		g, ok := h.ingressManagedSG("canon")
		if !ok {
			return "no managed SG"
		}
		if got := fmt.Sprint(ruleStrings(g.Rules)); got != want {
			return got
		}
		return ""
	})
	h.quiesce()
	before := h.counts()
	for i := 0; i < 3; i++ {
		h.patchIngressAnnotations("canon", map[string]string{"example.com/touch": fmt.Sprint(i)})
		time.Sleep(2 * time.Second)
	}
	h.quiesce()
	if w := h.counts().Sub(before).Mutating(); w["AuthorizeSecurityGroupIngress"]+w["RevokeSecurityGroupIngress"] != 0 {
		t.Errorf("rules changed on reconciles of an unchanged Ingress: %v", w)
	}
	if g, _ := h.ingressManagedSG("canon"); fmt.Sprint(ruleStrings(g.Rules)) != want {
		t.Errorf("managed SG rules = %v, want %s", ruleStrings(g.Rules), want)
	}
}

// Bad input that used to be accepted: a forged tracking tag, an empty prefix list (which
// opened 0.0.0.0/0), an empty source range entry. Each is a Warning Event naming the key and
// the fix, and nothing is written to AWS.
func TestForgedTagsAndEmptyValuesAreRejectedBeforeAnyWrite(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	cases := []struct {
		name, key, value string
		want             []string
	}{
		{"forged-backend-tag", annExtraTags, "team=a,elbv2.k8s.aws/resource=backend-sg",
			[]string{`tag key "elbv2.k8s.aws/resource" is reserved`, "fix: remove the tag or rename its key"}},
		{"forged-stack-tag", annExtraTags, "ingress.k8s.aws/stack=team",
			[]string{`tag key "ingress.k8s.aws/stack" is reserved`}},
		{"forged-cluster-tag", annExtraTags, "kubernetes.io/cluster/" + cluster + "=owned",
			[]string{`is reserved`}},
		{"empty-prefix-list", annPrefixLists, "",
			[]string{"the value is empty", "fix: set a value, or remove the annotation to use the default"}},
		{"empty-sg-entry", annSGs, "sg-0123456789abcdef0,,sg-0123456789abcdef1",
			[]string{"entry 2 of the comma-separated list is empty"}},
		{"tag-value-too-long", annExtraTags, "team=" + strings.Repeat("v", 300),
			[]string{`the value of tag "team" has 300 characters; AWS allows at most 256`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := h.counts()
			svc := webserver(c.name, nil)
			svc.Annotations[c.key] = c.value
			h.create(svc)
			h.eventually("event on "+c.name, 30*time.Second, func() string {
				for _, m := range h.events(c.name)["FailedBuildModel"] {
					if containsAll(m, append([]string{c.key}, c.want...)) {
						return ""
					}
				}
				return fmt.Sprint(h.events(c.name))
			})
			if msg := conditionMessage(h.service(c.name)); !strings.HasPrefix(msg, "False InvalidConfiguration") || !containsAll(msg, c.want) {
				t.Errorf("condition = %q", msg)
			}
			if w := h.counts().Sub(before).Mutating(); len(w) != 0 {
				t.Errorf("AWS writes after an invalid Service: %v", w)
			}
		})
	}
}

// Upstream keys lbsg does not implement used to be ignored without a word.
func TestUnsupportedUpstreamAnnotationsGetOneWarning(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(webserver("eip", map[string]string{
		"service.beta.kubernetes.io/aws-load-balancer-eip-allocations":    "eipalloc-0123456789abcdef0",
		"service.beta.kubernetes.io/aws-load-balancer-quic-enabled-ports": "443",
	}))
	h.waitHostname("eip")
	h.waitEvent("eip", "UnsupportedAnnotations",
		"annotations not implemented by lbsg: service.beta.kubernetes.io/aws-load-balancer-eip-allocations, service.beta.kubernetes.io/aws-load-balancer-quic-enabled-ports; lbsg neither applies nor reverts these settings")

	h.ensureIngressClass(albClass, "")
	h.create(backendService("waf-be", 30082, nil))
	// Settings that protect traffic fail closed instead (TestSecurityAnnotationsFailClosed);
	// one that turns a protection off leaves AWS as it is, which is merely unsupported.
	h.create(ingress("waf", "waf-be", map[string]string{ingScheme: internetFacing,
		"alb.ingress.kubernetes.io/frontend-nlb-scheme": "internal", "alb.ingress.kubernetes.io/wafv2-acl-arn": "none"}))
	h.waitIngressHostname("waf")
	h.waitIngressEvent("waf", "UnsupportedAnnotations",
		"annotations not implemented by lbsg: alb.ingress.kubernetes.io/frontend-nlb-scheme, alb.ingress.kubernetes.io/wafv2-acl-arn; lbsg neither applies nor reverts these settings")
}
