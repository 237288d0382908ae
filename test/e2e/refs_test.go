package e2e

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
)

// Regression for issue 15 §1.4, with two tenants: team-b's Services put Name=corp-only on
// their managed SGs (additional-resource-tags), and team-a's NLB, restricted to a partner
// range by the SG named corp-only, got them too: opened to 0.0.0.0/0 on 443, and with four
// of them past 5 SGs, frozen. Now the Name tag is bad input for team-b, and SGs that carry
// it from before (an upgraded cluster: the annotation is refused, so team-b's stacks, and
// their tags, stay as they are) never join team-a's reference: team-a's NLB gets the
// partner SG alone and a Warning naming the copies and their owners.
func TestTenantNameTagCannotCaptureAnotherTenantsLoadBalancer(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	ns := h.refNamespaces("team-a", "team-b")
	victim, attacker := ns[0], ns[1]
	partner := h.partnerSG("corp-only", "198.51.100.0/24", 443)
	h.startController()

	var squat []string
	for i := 1; i <= 4; i++ {
		attacker.create(attacker.nlb(fmt.Sprintf("evil-%d", i), 443, []string{"0.0.0.0/0"}, map[string]string{svcAdditionalTags: "team=b"}))
	}
	for i := 1; i <= 4; i++ {
		name := fmt.Sprintf("evil-%d", i)
		attacker.waitProvisioned(name)
		squat = append(squat, attacker.managedSG(name).ID)
		// The attack, as written before lbsg reserved Name; and the tag an older
		// controller would have put on the SG for it.
		attacker.patchService(name, func(s *corev1.Service) { s.Annotations[svcAdditionalTags] = "team=b,Name=corp-only" })
	}
	for _, id := range squat {
		h.tagSG(id, map[string]string{"Name": "corp-only"})
	}

	victim.create(victim.nlb("partner", 443, nil, map[string]string{annSGs: "corp-only", annManage: "true"}))
	victim.waitProvisioned("partner")
	backend, ok := h.sgByName(wantBackendName(cluster))
	if !ok {
		t.Fatal("no backend SG")
	}
	h.quiesce()
	if got, want := victim.stackSGs("partner"), sorted(partner, backend.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("team-a's NLB has SGs %v, want the partner SG and the backend SG %v (team-b's SGs: %v)", got, want, squat)
	}
	victim.waitEvent("Service", "partner", "ReferenceDenied", `"corp-only"`, "Service team-b/evil-", "namespace team-b", "left out", "by its ID")
	for i := 1; i <= 4; i++ {
		attacker.waitEvent("Service", fmt.Sprintf("evil-%d", i), "FailedBuildModel",
			"aws-load-balancer-additional-resource-tags", `tag key "Name" is reserved`, "fix: remove the Name tag")
	}
	attacker.waitRefused("evil-1", `tag key "Name" is reserved`)
	// team-b's stacks are left as they were: nothing is deleted for bad input.
	sgs := h.securityGroups()
	for _, id := range squat {
		if _, ok := sgs[id]; !ok {
			t.Errorf("team-b's managed SG %s was deleted", id)
		}
	}
	if got := ruleStrings(sgs[partner].Rules); !reflect.DeepEqual(got, []string{"tcp 443 from 198.51.100.0/24"}) {
		t.Errorf("the partner SG's rules changed: %v", got)
	}

	// Once team-b drops the Name tag from its annotation, lbsg removes it from the SGs.
	for i := 1; i <= 4; i++ {
		attacker.patchService(fmt.Sprintf("evil-%d", i), func(s *corev1.Service) { s.Annotations[svcAdditionalTags] = "team=b" })
	}
	h.eventually("team-b's SGs without a Name tag", 90*time.Second, func() string {
		sgs := h.securityGroups()
		for _, id := range squat {
			if n, ok := sgs[id].Tags["Name"]; ok {
				return fmt.Sprintf("%s still has Name=%s", id, n)
			}
		}
		return ""
	})
}

// Regression for issue 15 §1.10, with two tenants: a Service or an Ingress may not name
// another stack's managed SG, by ID or by Name tag, in another namespace or its own. Each
// borrower gets a Warning and a False condition naming the reference, the owner and the
// fix, and no load balancer; the owner's stack is untouched and keeps converging.
// --default-tags=Name=... gives every SG lbsg makes the same Name, which a tenant can name.
func TestServiceMayNotNameAnotherStacksSecurityGroup(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	ns := h.refNamespaces("team-a", "team-b")
	owner, other := ns[0], ns[1]
	h.ensureIngressClass(albClass, "")
	h.startController("--default-tags=Name=lbsg-managed")

	owner.create(owner.nlb("web", 443, []string{"10.1.0.0/16"}, nil))
	owner.waitProvisioned("web")
	mine := owner.managedSG("web")
	ownerSGs := owner.stackSGs("web")

	other.create(other.nlb("by-id", 443, nil, map[string]string{annSGs: mine.ID}))
	other.create(other.nlb("by-name", 443, nil, map[string]string{annSGs: "lbsg-managed"}))
	owner.create(owner.nlb("same-ns", 443, nil, map[string]string{annSGs: mine.ID}))
	other.create(backendService("api", 30444, nil))
	ing := ingress("borrow", "api", map[string]string{ingSGs: mine.ID})
	other.create(ing)

	for _, c := range []struct {
		ns   refNS
		name string
		ref  string
	}{{other, "by-id", mine.ID}, {other, "by-name", "lbsg-managed"}, {owner, "same-ns", mine.ID}} {
		c.ns.waitEvent("Service", c.name, "FailedBuildModel", annSGs, fmt.Sprintf("%q", c.ref), mine.ID, "Service team-a/web", "namespace team-a", "fix: name a security group of your own")
		c.ns.waitRefused(c.name, "Service team-a/web")
		if got := c.ns.stackSGs(c.name); got != nil {
			t.Errorf("%s/%s got a load balancer with SGs %v", c.ns.name, c.name, got)
		}
	}
	other.waitEvent("Ingress", "borrow", "FailedBuildModel", ingSGs, mine.ID, "Service team-a/web", "fix: name a security group of your own")
	h.eventually("the Ingress's condition names the owner", 30*time.Second, func() string {
		got := &networkingv1.Ingress{}
		if err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: other.name, Name: "borrow"}, got); err != nil {
			return err.Error()
		}
		if c := controller.IngressCondition(got); c == nil || c.Reason != controller.ReasonInvalidConfig || !strings.Contains(c.Message, "Service team-a/web") {
			return ingressCondition(got)
		}
		return ""
	})
	for _, lb := range h.loadBalancers() {
		if slices.Contains(lb.SecurityGroups, mine.ID) && !reflect.DeepEqual(sorted(lb.SecurityGroups...), ownerSGs) {
			t.Errorf("load balancer %v carries team-a's managed SG %s", *lb.LoadBalancerName, mine.ID)
		}
	}

	// The owner keeps converging: a new source range reaches its managed SG.
	owner.patchService("web", func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.2.0.0/16"} })
	h.eventually("team-a's managed SG admits the new range", 90*time.Second, func() string {
		got := ruleStrings(h.securityGroups()[mine.ID].Rules)
		if !slices.Contains(got, "tcp 443 from 10.2.0.0/16") || slices.Contains(got, "tcp 443 from 10.1.0.0/16") {
			return fmt.Sprint(got)
		}
		return ""
	})
	if got := owner.stackSGs("web"); !reflect.DeepEqual(got, ownerSGs) {
		t.Errorf("team-a's NLB SGs changed from %v to %v", ownerSGs, got)
	}
}

// Regression for issue 15 §1.10: the backend SG may not be listed in security-groups, by ID
// or by Name tag, even by a Service whose load balancer lbsg gives the backend SG anyway
// (manage-backend-security-group-rules), where the check of the finished plan cannot tell
// the listing from lbsg's own wiring.
func TestServiceMayNotNameTheBackendSG(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	ns := h.refNamespaces("team-a", "team-b")
	owner, other := ns[0], ns[1]
	h.startController()
	owner.create(owner.nlb("web", 443, nil, nil))
	owner.waitProvisioned("web")
	backend, ok := h.sgByName(wantBackendName(cluster))
	if !ok {
		t.Fatal("no backend SG")
	}
	// The backend SG's Name is the platform's label, which lbsg keeps.
	h.tagSG(backend.ID, map[string]string{"Name": "cluster-backend"})
	other.create(other.nlb("by-id", 443, nil, map[string]string{annSGs: backend.ID, annManage: "true"}))
	other.create(other.nlb("by-name", 443, nil, map[string]string{annSGs: "cluster-backend"}))
	for _, c := range []struct{ name, ref string }{{"by-id", backend.ID}, {"by-name", "cluster-backend"}} {
		other.waitEvent("Service", c.name, "FailedBuildModel", annSGs, fmt.Sprintf("%q", c.ref), "shared backend security group", "fix: name a security group of your own")
		other.waitRefused(c.name, "shared backend security group")
		if got := other.stackSGs(c.name); got != nil {
			t.Errorf("team-b/%s got a load balancer with SGs %v", c.name, got)
		}
	}
	if got := owner.stackSGs("web"); len(got) != 2 || !slices.Contains(got, backend.ID) {
		t.Errorf("team-a's NLB has SGs %v, want its managed SG and the backend SG", got)
	}
	if strings.Contains(fmt.Sprint(owner.events("Service", "web")), "FailedBuildModel") {
		t.Errorf("team-a's Service got a FailedBuildModel Event: %v", owner.events("Service", "web"))
	}
}

// Regression for issue 15 §2 ("a forward action may not name a target group of another
// stack"), with two tenants: team-b's Ingress that forwards to team-a's target group by ARN
// would send team-b's clients to team-a's Pods, and hold the deletion of team-a's target
// group. It is refused at resolution, on the member, naming the key, the ARN, the owner
// and the fix; a forward to a target group made outside Kubernetes still works; team-a's
// group is untouched.
func TestForwardActionMayNotNameAnotherStacksTargetGroup(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	ns := h.refNamespaces("team-a", "team-b")
	owner, other := ns[0], ns[1]
	h.ensureIngressClass(albClass, "")
	h.startController()
	owner.create(backendService("api", 30181, nil))
	owner.create(ingress("shop", "api", map[string]string{ingScheme: internetFacing}))
	owner.waitIngressProvisioned("shop")
	theirs := ""
	for _, tg := range h.targetGroups() {
		if h.elbTags(aws.ToString(tg.TargetGroupArn))["ingress.k8s.aws/stack"] == "team-a/shop" {
			theirs = aws.ToString(tg.TargetGroupArn)
		}
	}
	if theirs == "" {
		t.Fatal("no target group of team-a's Ingress group")
	}
	ext, err := h.elb.CreateTargetGroup(h.ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("platform-ext"),
		Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(80), VpcId: aws.String(h.world.VPCID), TargetType: elbtypes.TargetTypeEnumIp})
	if err != nil {
		t.Fatal(err)
	}
	extARN := aws.ToString(ext.TargetGroups[0].TargetGroupArn)
	const key = "alb.ingress.kubernetes.io/actions.fwd"

	other.create(actionIngress("steal", "fwd", `{"type":"forward","targetGroupARN":"`+theirs+`"}`))
	other.create(actionIngress("weighted", "fwd", `{"type":"forward","forwardConfig":{"targetGroups":[{"targetGroupARN":"`+extARN+`","weight":1},{"targetGroupARN":"`+theirs+`","weight":1}]}}`))
	other.create(actionIngress("platform", "fwd", `{"type":"forward","targetGroupARN":"`+extARN+`"}`))
	for _, name := range []string{"steal", "weighted"} {
		other.waitEvent("Ingress", name, "FailedBuildModel", key, theirs, "Ingress group team-a/shop", "namespace team-a",
			"(Ingress team-b/"+name+")", "fix: bind or forward to a target group of your own")
		other.waitIngressRefused(name, "Ingress group team-a/shop")
	}
	host := other.waitIngressProvisioned("platform")
	alb := h.albByHostname(host)
	forwards := ""
	for _, l := range h.listenersOf(aws.ToString(alb.LoadBalancerArn)) {
		rules, err := h.elb.DescribeRules(h.ctx, &elbv2.DescribeRulesInput{ListenerArn: l.ListenerArn})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules.Rules {
			for _, a := range r.Actions {
				forwards += aws.ToString(a.TargetGroupArn) + " "
				if a.ForwardConfig != nil {
					for _, tg := range a.ForwardConfig.TargetGroups {
						forwards += aws.ToString(tg.TargetGroupArn) + " "
					}
				}
			}
		}
	}
	if !strings.Contains(forwards, extARN) || strings.Contains(forwards, theirs) {
		t.Errorf("team-b's ALB forwards to %q; want the platform's target group %s only", forwards, extARN)
	}
	for _, lb := range h.loadBalancers() {
		if h.elbTags(aws.ToString(lb.LoadBalancerArn))["ingress.k8s.aws/stack"] == "team-b/steal" {
			t.Errorf("team-b/steal got a load balancer")
		}
	}
	if c := controller.IngressCondition(owner.ingress("shop")); c == nil || c.Status != "True" {
		t.Errorf("team-a's Ingress is not Ready: %+v", c)
	}
}
