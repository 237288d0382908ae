package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
)

const annSourceRanges = "service.beta.kubernetes.io/load-balancer-source-ranges"

// staleRule authorizes a rule described as lbsg's that no load balancer needs, from an SG
// (peer "sg-...") or a CIDR.
func (h *harness) staleRule(sgID string, port int32, peer string) {
	h.t.Helper()
	p := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
	desc := aws.String(sgrules.OwnerDescription(cluster))
	if strings.HasPrefix(peer, "sg-") {
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: aws.String(peer), Description: desc}}
	} else {
		p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(peer), Description: desc}}
	}
	if _, err := h.ec2.AuthorizeSecurityGroupIngress(h.ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(sgID), IpPermissions: []ec2types.IpPermission{p}}); err != nil {
		h.t.Fatalf("authorize stale rule on %s: %v", sgID, err)
	}
}

// hasRule reports whether the SG holds the rule, as printed by sgrules.Key.String.
func (h *harness) hasRule(sgID, rule string) bool {
	return slices.Contains(ruleStrings(h.securityGroups()[sgID].Rules), rule)
}

// A tenant whose NLB without security groups asks for 61 source ranges (over the 60-rule
// quota of the node SG) gets a Warning Event and condition naming the quota and the fix;
// its rules are not added, while another Service's rules on the same node SG are added
// and a stale rule there is revoked: one tenant's quota never freezes the others. Both
// Services are in one namespace, so the namespace's share of the quota is turned off to
// check the quota itself (TestOneTenantsSourceRangesDoNotTakeTheNodeSGQuotaFromAnother
// checks the share).
func TestRuleQuotaOfOneServiceDoesNotBlockOtherRulesOrRevokes(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController("--sg-rules-namespace-share=100")
	var ranges []string
	for i := range 61 {
		ranges = append(ranges, fmt.Sprintf("10.%d.%d.0/24", 100+i/256, i%256))
	}
	legacy := "service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg"
	h.create(webserver("big", map[string]string{legacy: "true", annSourceRanges: strings.Join(ranges, ",")}))
	h.waitHostname("big")
	h.waitEvent("big", controller.EventRuleQuota, "quota of 60")
	h.eventually("big's Ready condition to name the quota", 30*time.Second, func() string {
		c := meta.FindStatusCondition(h.service("big").Status.Conditions, controller.ConditionReady)
		if c != nil && c.Reason == controller.ReasonTargetRules && strings.Contains(c.Message, "quota of 60") &&
			strings.Contains(c.Message, "fewer source ranges") {
			return ""
		}
		return conditionMessage(h.service("big"))
	})

	// Now another tenant's NLB without SGs, and a stale lbsg rule, on the same node SG.
	h.staleRule(h.world.NodeSGID, 31997, "198.51.100.0/24")
	h.create(webserver("small", map[string]string{legacy: "true", annSourceRanges: "192.0.2.0/24"}))
	h.waitHostname("small")
	np := h.service("small").Spec.Ports[0].NodePort
	want := fmt.Sprintf("tcp %d from 192.0.2.0/24", np)
	h.eventually("small's rule added and the stale rule revoked", 30*time.Second, func() string {
		got := lbsgRules(h.securityGroups()[h.world.NodeSGID])
		if !slices.Contains(got, want) || slices.Contains(got, "tcp 31997 from 198.51.100.0/24") {
			return fmt.Sprintf("node SG rules %v, want %q and not the stale one", got, want)
		}
		return ""
	})
	bigPort := h.service("big").Spec.Ports[0].NodePort
	for _, r := range lbsgRules(h.securityGroups()[h.world.NodeSGID]) {
		if strings.HasPrefix(r, fmt.Sprintf("tcp %d ", bigPort)) {
			t.Errorf("node SG got a rule of the over-quota Service: %s", r)
		}
	}
	if n := len(h.securityGroups()[h.world.NodeSGID].Rules); n > sgrules.DefaultRulesPerSG {
		t.Errorf("node SG has %d rules, over the quota", n)
	}

	// Fewer ranges: the rules are added and the condition turns Ready.
	h.patchAnnotations("big", map[string]string{annSourceRanges: strings.Join(ranges[:3], ",")})
	h.eventually("big's rules once under the quota", 30*time.Second, func() string {
		for _, cidr := range ranges[:3] {
			if r := fmt.Sprintf("tcp %d from %s", bigPort, cidr); !h.hasRule(h.world.NodeSGID, r) {
				return "missing " + r
			}
		}
		if c := meta.FindStatusCondition(h.service("big").Status.Conditions, controller.ConditionReady); c == nil || c.Status != "True" {
			return conditionMessage(h.service("big"))
		}
		return ""
	})
}

// A Service whose annotation turns bad after its load balancer exists cannot say which
// rules it needs: lbsg keeps the rules it could contribute, read from AWS (its NodePort
// from the backend SG, on the SG of its registered targets, the node SG), but still
// revokes stale rules on every other port of that SG and on every other target SG, and
// lifts the hold once the annotation is fixed. Before, one bad annotation froze every
// revoke of the cluster, then every revoke on the node SG.
func TestBadAnnotationHoldsRevokesOnlyOnItsOwnTargetSGs(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(webserver("web", nil))
	h.waitHostname("web")
	backend, ok := h.sgByName(naming.BackendSGName(cluster))
	if !ok {
		t.Fatal("no backend SG")
	}
	// Another target SG of the cluster (tagged as node SGs are), used by no target of web.
	other := h.userSG("other-nodes")
	if _, err := h.ec2.CreateTags(h.ctx, &ec2.CreateTagsInput{Resources: []string{other},
		Tags: []ec2types.Tag{{Key: aws.String(naming.NodeSGClusterTagPrefix + cluster), Value: aws.String("owned")}}}); err != nil {
		t.Fatal(err)
	}
	h.quiesce()

	h.patchAnnotations("web", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-ip-address-type": "ipv5"})
	h.waitEvent("web", controller.EventFailedNetwork, "ipv5")
	np := h.service("web").Spec.Ports[0].NodePort
	own := fmt.Sprintf("tcp %d from %s", np, backend.ID)
	stalePort := int32(31998)
	if np == stalePort {
		stalePort = 31997
	}
	h.staleRule(h.world.NodeSGID, stalePort, backend.ID)
	h.staleRule(other, stalePort, backend.ID)
	// A wider rule on web's own port, as an older budget would have left: web could rely on
	// it, so it is held until web can say what it needs.
	wide := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(np), ToPort: aws.Int32(np + 1),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(backend.ID), Description: aws.String(sgrules.OwnerDescription(cluster))}}}
	if _, err := h.ec2.AuthorizeSecurityGroupIngress(h.ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(h.world.NodeSGID), IpPermissions: []ec2types.IpPermission{wide}}); err != nil {
		t.Fatal(err)
	}
	wideRule := fmt.Sprintf("tcp %d-%d from %s", np, np+1, backend.ID)
	stale := fmt.Sprintf("tcp %d from %s", stalePort, backend.ID)
	h.eventually("the stale rules on the node SG and on the other target SG to be revoked", 30*time.Second, func() string {
		if h.hasRule(other, stale) || h.hasRule(h.world.NodeSGID, stale) {
			return "still there"
		}
		return ""
	})
	// Several passes later (drift check every 2s), web's own rules are still there.
	time.Sleep(5 * time.Second)
	for _, r := range []string{own, wideRule} {
		if !h.hasRule(h.world.NodeSGID, r) {
			t.Errorf("web's rule %q was revoked while web's rules cannot be computed", r)
		}
	}

	h.patchAnnotations("web", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-ip-address-type": ""})
	h.eventually("the hold to lift once the annotation is fixed", 30*time.Second, func() string {
		if h.hasRule(h.world.NodeSGID, wideRule) {
			return "the wider rule is still on the node SG"
		}
		if !h.hasRule(h.world.NodeSGID, own) {
			return "web's rule is gone"
		}
		return ""
	})
}
