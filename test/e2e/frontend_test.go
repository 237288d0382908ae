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

	"github.com/lbsg/lbsg/internal/localenv"
)

const annSGs = "service.beta.kubernetes.io/aws-load-balancer-security-groups"
const annManage = "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules"

// userSG creates a security group the way seed 002 does, with a Name tag.
func (h *harness) userSG(name string) string {
	h.t.Helper()
	out, err := h.ec2.CreateSecurityGroup(h.ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), Description: aws.String("frontend for " + name), VpcId: aws.String(h.world.VPCID),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup,
			Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}}}},
	})
	if err != nil {
		h.t.Fatalf("create SG %s: %v", name, err)
	}
	id := aws.ToString(out.GroupId)
	if _, err := h.ec2.AuthorizeSecurityGroupIngress(h.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}}); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// lbSGs returns the SGs of the Service's NLB, sorted.
func (h *harness) lbSGs(svc string) []string {
	for _, lb := range h.loadBalancers() {
		if h.elbTags(aws.ToString(lb.LoadBalancerArn))["service.k8s.aws/stack"] == "default/"+svc {
			out := append([]string(nil), lb.SecurityGroups...)
			sort.Strings(out)
			return out
		}
	}
	return nil
}

func (h *harness) waitLBSGs(svc string, want func([]string) string) {
	h.t.Helper()
	h.eventually("security groups of "+svc+"'s NLB", 30*time.Second, func() string { return want(h.lbSGs(svc)) })
}

func sorted(s ...string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// Seed 002: a user SG by ID, then by Name tag; removing the annotation reverts to a managed SG.
func TestUserSecurityGroupAndRevert(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	user := h.userSG("team-frontend")
	h.create(webserver("webserver", map[string]string{annSGs: user}))
	h.waitHostname("webserver")
	h.waitLBSGs("webserver", func(got []string) string {
		if !reflect.DeepEqual(got, []string{user}) {
			return fmt.Sprintf("%v, want only the user SG %s (manage-backend-rules defaults to false)", got, user)
		}
		return ""
	})
	if _, ok := h.sgByName(wantBackendName(cluster)); ok {
		t.Errorf("backend SG created although no load balancer needs it")
	}
	if r := lbsgRules(h.securityGroups()[h.world.NodeSGID]); len(r) != 0 {
		t.Errorf("node SG got rules %v with a user SG and manage-backend-rules unset", r)
	}

	// Revert: remove the annotation (seed 002 step 7): managed + backend SG, node rule.
	h.patchAnnotations("webserver", map[string]string{annSGs: ""})
	svc := h.service("webserver")
	managedName := wantServiceSGName(cluster, "default", "webserver", string(svc.UID))
	h.waitLBSGs("webserver", func(got []string) string {
		m, ok1 := h.sgByName(managedName)
		b, ok2 := h.sgByName(wantBackendName(cluster))
		if !ok1 || !ok2 || !reflect.DeepEqual(got, sorted(m.ID, b.ID)) {
			return fmt.Sprintf("%v, want managed %s and backend SG", got, managedName)
		}
		return ""
	})
	b, _ := h.sgByName(wantBackendName(cluster))
	want := []string{fmt.Sprintf("tcp %d from %s", svc.Spec.Ports[0].NodePort, b.ID)}
	h.eventually("node rule after revert", 30*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !reflect.DeepEqual(got, want) {
			return fmt.Sprint(got)
		}
		return ""
	})
	// The user's SG is untouched.
	if got := ruleStrings(h.securityGroups()[user].Rules); !reflect.DeepEqual(got, []string{"tcp 443 from 0.0.0.0/0"}) {
		t.Errorf("user SG rules changed: %v", got)
	}

	// By Name tag, with manage-backend-rules=true: user SG + backend SG; the managed SG goes.
	h.patchAnnotations("webserver", map[string]string{annSGs: "team-frontend", annManage: "true"})
	h.waitLBSGs("webserver", func(got []string) string {
		if !reflect.DeepEqual(got, sorted(user, b.ID)) {
			return fmt.Sprintf("%v, want user %s + backend %s", got, user, b.ID)
		}
		return ""
	})
	h.eventually("managed SG deleted", 30*time.Second, func() string {
		if _, ok := h.sgByName(managedName); ok {
			return "managed SG still exists"
		}
		return ""
	})
	if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !reflect.DeepEqual(got, want) {
		t.Errorf("node rules with manage-backend-rules=true = %v, want %v", got, want)
	}

	// manage-backend-rules=false: the backend SG leaves the NLB and the node rule goes.
	h.patchAnnotations("webserver", map[string]string{annManage: "false"})
	h.waitLBSGs("webserver", func(got []string) string {
		if !reflect.DeepEqual(got, []string{user}) {
			return fmt.Sprint(got)
		}
		return ""
	})
	h.eventually("node rule and backend SG removed", 30*time.Second, func() string {
		if r := lbsgRules(h.securityGroups()[h.world.NodeSGID]); len(r) != 0 {
			return fmt.Sprint("node rules ", r)
		}
		if _, ok := h.sgByName(wantBackendName(cluster)); ok {
			return "backend SG still exists"
		}
		return ""
	})
	if err := h.k8s.Delete(h.ctx, h.service("webserver")); err != nil {
		t.Fatal(err)
	}
	h.waitNothingLeft()
	if _, ok := h.securityGroups()[user]; !ok {
		t.Errorf("the user's SG was deleted")
	}
}

func TestDisableRestrictedSGRules(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController("--disable-restricted-sg-rules")
	h.create(webserver("webserver", nil))
	h.waitHostname("webserver")
	h.eventually("all-ports node rule", 30*time.Second, func() string {
		b, ok := h.sgByName(wantBackendName(cluster))
		if !ok {
			return "no backend SG"
		}
		want := []string{"tcp 0-65535 from " + b.ID}
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
}

// With the backend SG disabled, each managed frontend SG is the source of its node rules.
func TestBackendSGDisabled(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController("--enable-backend-security-group=false")
	h.create(webserver("web-a", nil))
	h.create(webserver("web-b", nil))
	h.waitHostname("web-a")
	h.waitHostname("web-b")
	if _, ok := h.sgByName(wantBackendName(cluster)); ok {
		t.Errorf("backend SG exists although disabled")
	}
	a, b := h.service("web-a"), h.service("web-b")
	ma, _ := h.sgByName(wantServiceSGName(cluster, "default", "web-a", string(a.UID)))
	mb, _ := h.sgByName(wantServiceSGName(cluster, "default", "web-b", string(b.UID)))
	if got := h.lbSGs("web-a"); !reflect.DeepEqual(got, []string{ma.ID}) {
		t.Errorf("web-a NLB SGs = %v, want only its managed SG %s", got, ma.ID)
	}
	want := sorted(fmt.Sprintf("tcp %d from %s", a.Spec.Ports[0].NodePort, ma.ID), fmt.Sprintf("tcp %d from %s", b.Spec.Ports[0].NodePort, mb.ID))
	h.eventually("node rules from each frontend SG", 30*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})

	// A user SG with manage-backend-rules=true needs the backend SG: bad input.
	h.userSG("team-frontend")
	h.create(webserver("web-c", map[string]string{annSGs: "team-frontend", annManage: "true"}))
	h.waitEvent("web-c", "FailedBuildModel", "backendSG feature is required")
	c := h.service("web-c")
	if msg := conditionMessage(c); !strings.Contains(msg, annManage) || !strings.Contains(msg, "--enable-backend-security-group") {
		t.Errorf("condition = %s, want it to name the annotation and the flag", msg)
	}
	if got := h.lbSGs("web-c"); got != nil {
		t.Errorf("an NLB was created for a Service with invalid configuration: %v", got)
	}
	for _, s := range []string{"web-a", "web-b", "web-c"} {
		if err := h.k8s.Delete(h.ctx, h.service(s)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitNothingLeft()
}

// NLBSecurityGroup=false: NLBs without SGs; the SG annotation is ignored with a warning.
func TestNLBSecurityGroupGateOff(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController("--feature-gates=NLBSecurityGroup=false")
	user := h.userSG("team-frontend")
	h.create(webserver("webserver", map[string]string{annSGs: user}))
	h.waitHostname("webserver")
	if got := h.lbSGs("webserver"); len(got) != 0 {
		t.Errorf("NLB has SGs %v with NLBSecurityGroup=false", got)
	}
	h.waitEvent("webserver", "SecurityGroupsIgnored", "is ignored")
	for _, g := range h.securityGroups() {
		if g.Tags["elbv2.k8s.aws/cluster"] != "" {
			t.Errorf("SG %s created for an NLB without SGs", g.Name)
		}
	}
	// Legacy rules: client traffic to the NodePort from 0.0.0.0/0 (instance targets keep
	// the client IP), no separate health-check rule.
	np := h.service("webserver").Spec.Ports[0].NodePort
	want := []string{fmt.Sprintf("tcp %d from 0.0.0.0/0", np)}
	h.eventually("legacy node rules", 30*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
	if err := h.k8s.Delete(h.ctx, h.service("webserver")); err != nil {
		t.Fatal(err)
	}
	h.waitNothingLeft()
}
