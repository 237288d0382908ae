package e2e

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
)

const svcAdditionalTags = "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags"

// tenantSG creates an SG in the world's VPC with the tags and a tcp 22 rule from
// 0.0.0.0/0, as a tenant's own SG would be.
func (h *harness) tenantSG(name string, tags map[string]string) string {
	h.t.Helper()
	var ts []ec2types.Tag
	for k, v := range tags {
		ts = append(ts, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	g, err := h.ec2.CreateSecurityGroup(h.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name),
		VpcId: aws.String(h.world.VPCID), TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: ts}}})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.ec2.AuthorizeSecurityGroupIngress(h.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId,
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		h.t.Fatal(err)
	}
	return aws.ToString(g.GroupId)
}

// serviceSettled waits until lbsg either provisioned the Service or refused its input.
func (h *harness) serviceSettled(name string) bool {
	h.t.Helper()
	provisioned := false
	h.eventually("Service "+name+" provisioned or refused", 60*time.Second, func() string {
		s := h.service(name)
		if len(s.Status.LoadBalancer.Ingress) > 0 {
			provisioned = true
			return ""
		}
		if c := meta.FindStatusCondition(s.Status.Conditions, controller.ConditionReady); c != nil && c.Reason == controller.ReasonInvalidConfig {
			return ""
		}
		return conditionMessage(s)
	})
	return provisioned
}

// Regression for §1 case 1 (recognition): an SG that carries the backend SG's tags but
// not its name (a tenant's SG, or a tenant Service's managed SG tagged through
// additional-resource-tags) is never taken for the backend SG: lbsg creates the real one,
// never attaches the tenant's SG (with its tcp 22 from 0.0.0.0/0) to a load balancer,
// never rewrites its tags, and never deletes it.
func TestSGWithOnlyTheBackendSGTagsIsNeverAdopted(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	tenantTags := map[string]string{"elbv2.k8s.aws/cluster": cluster, "elbv2.k8s.aws/resource": "backend-sg", "team": "blue"}
	tenant := h.tenantSG("tenant-open", tenantTags)
	h.startController()
	h.create(webserver("web", nil))
	h.create(webserver("forger", map[string]string{svcAdditionalTags: "elbv2.k8s.aws/resource=backend-sg"}))
	h.waitHostname("web")
	h.serviceSettled("forger")
	h.quiesce()

	backend, ok := h.sgByName(wantBackendName(cluster))
	if !ok {
		t.Fatalf("no backend SG named %s was created", wantBackendName(cluster))
	}
	sgs := h.securityGroups()
	for _, lb := range h.loadBalancers() {
		stack := h.elbTags(aws.ToString(lb.LoadBalancerArn))["service.k8s.aws/stack"]
		for _, id := range lb.SecurityGroups {
			if id == backend.ID {
				continue
			}
			if g := sgs[id]; g.Tags["service.k8s.aws/stack"] != stack || g.Tags["service.k8s.aws/resource"] != "ManagedLBSecurityGroup" {
				t.Errorf("load balancer %s (%s) has SG %s (%s, tags %v), neither its managed SG nor the backend SG %s",
					aws.ToString(lb.LoadBalancerName), stack, id, g.Name, g.Tags, backend.ID)
			}
		}
	}
	h.checkTenantSG(tenant, tenantTags)

	for _, name := range []string{"web", "forger"} {
		if err := h.k8s.Delete(h.ctx, h.service(name)); err != nil {
			t.Fatal(err)
		}
	}
	h.eventually("lbsg's resources gone", 60*time.Second, func() string {
		if n := len(h.loadBalancers()) + len(h.targetGroups()); n > 0 {
			return fmt.Sprintf("%d load balancers and target groups left", n)
		}
		if _, ok := h.sgByName(wantBackendName(cluster)); ok {
			return "backend SG left"
		}
		return ""
	})
	h.quiesce()
	h.checkTenantSG(tenant, tenantTags)
}

// checkTenantSG asserts that a tenant SG still exists with its tags and its one rule.
func (h *harness) checkTenantSG(id string, tags map[string]string) {
	h.t.Helper()
	g, ok := h.securityGroups()[id]
	if !ok {
		h.t.Errorf("tenant SG %s was deleted", id)
		return
	}
	if !reflect.DeepEqual(g.Tags, tags) {
		h.t.Errorf("tenant SG %s tags = %v, want %v (unchanged)", id, g.Tags, tags)
	}
	if got := ruleStrings(g.Rules); !reflect.DeepEqual(got, []string{"tcp 22 from 0.0.0.0/0"}) {
		h.t.Errorf("tenant SG %s rules = %v, want its own tcp 22 rule only", id, got)
	}
}

// Regression for §1 case 1 (two candidates for one role): two load balancers that both
// carry everything that identifies one Service's load balancer are a Warning Event naming
// both and the fix; lbsg creates, changes and deletes nothing for the Service.
func TestTwoLoadBalancersOfOneStackAreAWarningAndNoAction(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	var arns []string
	for _, name := range []string{"twin-a", "twin-b"} {
		out, err := h.elb.CreateLoadBalancer(h.ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(name), Type: elbtypes.LoadBalancerTypeEnumNetwork,
			Subnets: []string{h.world.Subnets[0].ID, h.world.Subnets[1].ID},
			Tags: []elbtypes.Tag{{Key: aws.String("elbv2.k8s.aws/cluster"), Value: aws.String(cluster)},
				{Key: aws.String("service.k8s.aws/stack"), Value: aws.String("default/twin")},
				{Key: aws.String("service.k8s.aws/resource"), Value: aws.String("LoadBalancer")}}})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, aws.ToString(out.LoadBalancers[0].LoadBalancerArn))
	}
	h.startController()
	h.create(webserver("twin", nil))
	h.waitEvent("twin", controller.EventFailedDeploy, "delete or untag one of them")
	h.quiesce()
	for _, m := range h.events("twin")[controller.EventFailedDeploy] {
		if !strings.Contains(m, arns[0]) || !strings.Contains(m, arns[1]) {
			t.Errorf("Event %q does not name both load balancers %v", m, arns)
		}
	}
	var got []string
	for _, lb := range h.loadBalancers() {
		got = append(got, aws.ToString(lb.LoadBalancerArn))
	}
	sort.Strings(got)
	sort.Strings(arns)
	if !reflect.DeepEqual(got, arns) {
		t.Errorf("load balancers = %v, want only the two that were there %v", got, arns)
	}
	if tgs := h.targetGroups(); len(tgs) > 0 {
		t.Errorf("%d target groups created", len(tgs))
	}
	for _, g := range h.securityGroups() {
		if g.Tags["elbv2.k8s.aws/cluster"] != "" {
			t.Errorf("security group %s (%v) created", g.Name, g.Tags)
		}
	}
	if s := h.service("twin"); len(s.Status.LoadBalancer.Ingress) > 0 {
		t.Errorf("Service got a hostname: %v", s.Status.LoadBalancer.Ingress)
	}
}

// Regression for §1 case 1 (a Service reaching into an Ingress group): a Service whose
// resources carry an Ingress group's stack tag, through additional-resource-tags, gets
// none of the group's resources adopted or deleted, and none of its own deleted by the
// group's reconcile.
func TestServiceTaggedWithAnIngressStackTouchesNoIngressGroup(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(backendService("shop-svc", 30081, nil))
	h.create(ingress("shop", "shop-svc", map[string]string{ingGroup: "shop", ingScheme: internetFacing}))
	host := h.waitIngressHostname("shop")
	h.quiesce()
	alb := h.albByHostname(host)
	if alb == nil {
		t.Fatalf("no ALB for %s", host)
	}
	before := h.inventory()

	h.create(webserver("intruder", map[string]string{svcAdditionalTags: "ingress.k8s.aws/stack=shop,ingress.k8s.aws/resource=ManagedLBSecurityGroup"}))
	provisioned := h.serviceSettled("intruder")
	h.quiesce()
	intruder := h.inventory()
	// Make the group reconcile with the intruder's resources in AWS.
	h.patchIngressAnnotations("shop", map[string]string{"example.com/nudge": "1"})
	time.Sleep(2 * time.Second)
	h.quiesce()
	after := h.inventory()

	for id := range before {
		if _, ok := after[id]; !ok {
			t.Errorf("group resource %s (%s) was deleted", id, before[id])
		}
	}
	if provisioned {
		for id := range intruder {
			if _, ok := after[id]; !ok {
				t.Errorf("the Service's resource %s (%s) was deleted by the group", id, intruder[id])
			}
		}
	}
	a := h.albByHostname(host)
	if a == nil || aws.ToString(a.LoadBalancerArn) != aws.ToString(alb.LoadBalancerArn) {
		t.Fatalf("the group's ALB changed")
	}
	sort.Strings(a.SecurityGroups)
	sort.Strings(alb.SecurityGroups)
	if !reflect.DeepEqual(a.SecurityGroups, alb.SecurityGroups) {
		t.Errorf("the ALB's SGs went from %v to %v", alb.SecurityGroups, a.SecurityGroups)
	}
	if c := ingressCondition(h.getIngress("shop")); !strings.Contains(c, "True") {
		t.Errorf("Ingress condition = %s", c)
	}
}

// inventory lists every load balancer, target group and cluster-tagged SG, with a label.
func (h *harness) inventory() map[string]string {
	h.t.Helper()
	out := map[string]string{}
	for _, lb := range h.loadBalancers() {
		out[aws.ToString(lb.LoadBalancerArn)] = "load balancer " + aws.ToString(lb.LoadBalancerName)
	}
	for _, tg := range h.targetGroups() {
		out[aws.ToString(tg.TargetGroupArn)] = "target group " + aws.ToString(tg.TargetGroupName)
	}
	for _, g := range h.securityGroups() {
		if g.Tags["elbv2.k8s.aws/cluster"] != "" {
			out[g.ID] = "security group " + g.Name
		}
	}
	return out
}
