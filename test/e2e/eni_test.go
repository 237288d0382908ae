package e2e

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/targets"
)

// backendSGID waits for the backend SG and returns its ID.
func (h *harness) backendSGID() string {
	h.t.Helper()
	var id string
	h.eventually("the backend SG", 30*time.Second, func() string {
		b, ok := h.sgByName(wantBackendName(cluster))
		if !ok {
			return "no backend SG"
		}
		id = b.ID
		return ""
	})
	return id
}

// TestTargetSGSelectionPolicyOnNodeENIWithTwoClusterTaggedSGs: the node ENIs are in two
// SGs, both tagged for the cluster. Under --target-sg-selection=error (the default, as
// upstream) neither gets a rule, the Service gets a Warning Event naming the ENI, both SGs
// and the fix, and its NLB works all the same; first-tagged puts the rule on the first of
// the two in sorted order; all on both.
func TestTargetSGSelectionPolicyOnNodeENIWithTwoClusterTaggedSGs(t *testing.T) {
	for _, policy := range targets.Policies {
		t.Run(string(policy), func(t *testing.T) {
			h := newHarness(t, localenv.WorldOptions{Nodes: 1, ExtraNodeSG: true})
			if _, err := h.ec2.CreateTags(h.ctx, &ec2.CreateTagsInput{Resources: []string{h.world.ExtraSGID},
				Tags: []ec2types.Tag{{Key: aws.String("kubernetes.io/cluster/" + cluster), Value: aws.String("shared")}}}); err != nil {
				t.Fatal(err)
			}
			var args []string
			if policy != targets.PolicyError {
				args = append(args, "--target-sg-selection="+string(policy))
			}
			h.startController(args...)
			name := "web-" + string(policy)
			h.create(webserver(name, nil))
			h.waitHostname(name)
			backend := h.backendSGID()
			first, second := min(h.world.NodeSGID, h.world.ExtraSGID), max(h.world.NodeSGID, h.world.ExtraSGID)
			if policy == targets.PolicyError {
				h.waitEvent(name, controller.EventFailedNetwork, h.world.Nodes[0].ENIID)
				for _, m := range h.events(name)[controller.EventFailedNetwork] {
					if !strings.Contains(m, h.world.Nodes[0].ENIID) {
						continue // an earlier run's
					}
					for _, want := range []string{first, second, "--target-sg-selection", "first-tagged"} {
						if !strings.Contains(m, want) {
							t.Errorf("Event %q lacks %q", m, want)
						}
					}
				}
				h.quiesce()
				for _, id := range []string{first, second} {
					if got := lbsgRules(h.securityGroups()[id]); len(got) != 0 {
						t.Errorf("SG %s has lbsg rules %v, want none", id, got)
					}
				}
				return
			}
			wantOn := map[string]bool{first: true, second: policy == targets.PolicyAll}
			h.eventually("rules on the selected SGs", 30*time.Second, func() string {
				sgs := h.securityGroups()
				for id, want := range wantOn {
					got := lbsgRules(sgs[id])
					if want != (len(got) == 1 && strings.HasSuffix(got[0], " from "+backend)) {
						return fmt.Sprintf("SG %s: %v (want a rule: %v)", id, got, want)
					}
				}
				return ""
			})
			h.quiesce()
			if got := lbsgRules(h.securityGroups()[second]); (len(got) > 0) != wantOn[second] {
				t.Errorf("SG %s rules %v after quiescing", second, got)
			}
			for _, m := range h.events(name)[controller.EventFailedNetwork] {
				if strings.Contains(m, h.world.Nodes[0].ENIID) {
					t.Errorf("FailedNetworkReconcile Event %q, want none", m)
				}
			}
		})
	}
}

// branchENI creates an ENI in its own SG as the VPC resource controller would create a
// pod's branch ENI (InterfaceType branch), and returns its ID, IP and SG.
func (h *harness) branchENI(name string) (id, ip, sgID string) {
	h.t.Helper()
	g, err := h.ec2.CreateSecurityGroup(h.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name),
		Description: aws.String(name), VpcId: aws.String(h.world.VPCID)})
	if err != nil {
		h.t.Fatal(err)
	}
	ni, err := h.ec2.CreateNetworkInterface(h.ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(h.world.Subnets[0].ID),
		Groups: []string{aws.ToString(g.GroupId)}, Description: aws.String(name), InterfaceType: ec2types.NetworkInterfaceCreationTypeBranch})
	if err != nil {
		h.t.Fatal(err)
	}
	return aws.ToString(ni.NetworkInterface.NetworkInterfaceId), aws.ToString(ni.NetworkInterface.PrivateIpAddress), aws.ToString(g.GroupId)
}

// annotatePod writes annotations on a Pod, as the VPC resource controller (or a tenant)
// would.
func (h *harness) annotatePod(p *corev1.Pod, ann map[string]string) {
	h.t.Helper()
	if err := h.k8s.Get(h.ctx, client.ObjectKeyFromObject(p), p); err != nil {
		h.t.Fatal(err)
	}
	if p.Annotations == nil {
		p.Annotations = map[string]string{}
	}
	for k, v := range ann {
		p.Annotations[k] = v
	}
	if err := h.k8s.Update(h.ctx, p); err != nil {
		h.t.Fatal(err)
	}
}

func podENI(eni, ip string) string {
	return fmt.Sprintf(`[{"eniId":%q,"ifAddress":"02:78:59:8f:ee:b2","privateIp":%q,"vlanId":1,"subnetCidr":"10.0.0.0/24"}]`, eni, ip)
}

// TestPodENIAnnotationIsUsedOnlyWhenEC2ConfirmsIt: two Pods behind an ip-target Service
// carry the vpc.amazonaws.com/pod-eni annotation. One names the ENI that holds its IP,
// created with InterfaceType branch; the other is forged: it names another ENI (a
// "victim" in its own SG) that does not hold its IP. The forged claim is never used: the
// victim's SG gets no rule, the rule for that Pod lands on the SG of the ENI that holds its
// IP (the node's), and the Service gets a Warning Event saying why.
//
// moto ignores InterfaceType on CreateNetworkInterface and reports every ENI as
// "interface", so on the emulator the first claim cannot be confirmed either: lbsg says so
// in an Event and finds that Pod's ENI by its IP, which is the same ENI; the rule lands on
// its SG. A confirmed branch ENI, reached without a lookup by IP, is covered by
// internal/controller's TestConfirmedBranchENIGetsTheRuleOnItsSG on the in-memory fake.
func TestPodENIAnnotationIsUsedOnlyWhenEC2ConfirmsIt(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{Nodes: 1})
	h.startController()
	branchID, branchIP, branchSG := h.branchENI("pod-branch")
	victimID, _, victimSG := h.branchENI("victim")
	// moto finds an ENI by its primary address only: the forged Pod gets the node ENI's.
	nodeIP := h.world.Nodes[0].PrivateIP
	svc := webserver("web-ip", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"})
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	h.create(svc)
	sel := svc.Spec.Selector
	honest := h.pod("honest", sel, []string{branchIP})
	h.annotatePod(honest, map[string]string{targets.PodENIAnnotation: podENI(branchID, branchIP)})
	forged := h.pod("forged", sel, []string{nodeIP})
	h.annotatePod(forged, map[string]string{targets.PodENIAnnotation: podENI(victimID, nodeIP)})
	h.sliceOf("web-ip", "web-ip-1",
		discoveryv1.Endpoint{Addresses: []string{branchIP}, TargetRef: podRef("honest")},
		discoveryv1.Endpoint{Addresses: []string{nodeIP}, TargetRef: podRef("forged")})
	h.waitHostname("web-ip")
	backend := h.backendSGID()

	h.waitEvent("web-ip", controller.EventPodENIIgnored, victimID)
	h.waitEvent("web-ip", controller.EventPodENIIgnored, branchID)
	want := []string{"tcp 8080 from " + backend}
	h.eventually("rules on the SGs of the ENIs that hold the pod IPs", 30*time.Second, func() string {
		sgs := h.securityGroups()
		if got := lbsgRules(sgs[branchSG]); !reflect.DeepEqual(got, want) {
			out, err := h.ec2.DescribeNetworkInterfaces(h.ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{
				{Name: aws.String("addresses.private-ip-address"), Values: []string{nodeIP, branchIP}}, {Name: aws.String("vpc-id"), Values: []string{h.world.VPCID}}}})
			var found []string
			if out != nil {
				for _, ni := range out.NetworkInterfaces {
					found = append(found, aws.ToString(ni.NetworkInterfaceId)+"@"+aws.ToString(ni.PrivateIpAddress))
				}
			}
			return fmt.Sprintf("branch ENI SG: %v, want %v (events %v) lookup %v %v", got, want, h.events("web-ip"), found, err)
		}
		if got := lbsgRules(sgs[h.world.NodeSGID]); !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("node SG: %v, want %v", got, want)
		}
		return ""
	})
	h.quiesce()
	if got := h.securityGroups()[victimSG].Rules; len(got) != 0 {
		t.Errorf("the forged claim's SG %s has rules %v, want none", victimSG, ruleStrings(got))
	}
	for _, m := range h.events("web-ip")[controller.EventPodENIIgnored] {
		switch {
		case strings.Contains(m, victimID):
			for _, s := range []string{"default/forged", "does not hold the Pod's IP " + nodeIP} {
				if !strings.Contains(m, s) {
					t.Errorf("Event %q lacks %q", m, s)
				}
			}
		case strings.Contains(m, branchID):
			// moto reports the ENI as "interface" (see above).
			if !strings.Contains(m, "default/honest") || !strings.Contains(m, "not a branch ENI") {
				t.Errorf("Event %q does not say why %s was not used", m, branchID)
			}
		}
	}
}

// TestManagedFrontendSGKeptWithUserSGs: an NLB Service with a user SG and the
// manage-frontend-security-group opt-in gets its managed SG (with the client rules), the
// user SG and the backend SG, and its targets admit the backend SG; a bad value is a
// Warning Event naming the key, the value and the fix, and changes nothing.
func TestManagedFrontendSGKeptWithUserSGs(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{Nodes: 1})
	h.startController()
	g, err := h.ec2.CreateSecurityGroup(h.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("corp-waf"),
		Description: aws.String("corp-waf"), VpcId: aws.String(h.world.VPCID)})
	if err != nil {
		t.Fatal(err)
	}
	userSG := aws.ToString(g.GroupId)
	svc := webserver("web", map[string]string{
		annotations.SvcSecurityGroups:   userSG,
		annotations.SvcManageFrontendSG: "true",
		annotations.SvcSourceRanges:     "203.0.113.0/24",
	})
	h.create(svc)
	h.waitHostname("web")
	backend := h.backendSGID()
	created := h.service("web")
	managedName := wantServiceSGName(cluster, "default", "web", string(created.UID))
	var managedID string
	h.eventually("the NLB's SGs: managed, user, backend", 30*time.Second, func() string {
		m, ok := h.sgByName(managedName)
		if !ok {
			return "no managed SG " + managedName
		}
		managedID = m.ID
		lb := h.loadBalancer(wantNLBName(cluster, "default", "web", string(created.UID), "internet-facing"))
		if lb == nil {
			return "no NLB"
		}
		got := slices.Sorted(slices.Values(lb.SecurityGroups))
		want := slices.Sorted(slices.Values([]string{m.ID, userSG, backend}))
		if !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("NLB SGs %v, want %v", got, want)
		}
		return ""
	})
	h.quiesce()
	sgs := h.securityGroups()
	if got, want := ruleStrings(sgs[managedID].Rules), []string{"tcp 80 from 203.0.113.0/24"}; !reflect.DeepEqual(got, want) {
		t.Errorf("managed SG rules %v, want %v", got, want)
	}
	if got := sgs[userSG].Rules; len(got) != 0 {
		t.Errorf("user SG rules %v, want none (lbsg never writes a user SG)", ruleStrings(got))
	}
	nodeRules := lbsgRules(sgs[h.world.NodeSGID])
	if len(nodeRules) != 1 || !strings.HasSuffix(nodeRules[0], " from "+backend) {
		t.Errorf("node SG rules %v, want one from the backend SG %s", nodeRules, backend)
	}

	h.patchAnnotations("web", map[string]string{annotations.SvcManageFrontendSG: "yes"})
	h.waitEvent("web", controller.EventFailedBuildModel, annotations.SvcManageFrontendSG)
	for _, m := range h.events("web")[controller.EventFailedBuildModel] {
		if strings.Contains(m, annotations.SvcManageFrontendSG) && (!strings.Contains(m, `"yes"`) || !strings.Contains(m, "true")) {
			t.Errorf("Event %q does not name the value and the fix", m)
		}
	}
	h.quiesce()
	lb := h.loadBalancer(wantNLBName(cluster, "default", "web", string(created.UID), "internet-facing"))
	if lb == nil || len(lb.SecurityGroups) != 3 {
		t.Errorf("NLB after a bad value: %v, want it unchanged with 3 SGs", lb)
	}
}

// TestIngressManagedFrontendSGKeptWithUserSGs: an Ingress with a user SG and the
// manage-frontend-security-group opt-in gets an ALB with its managed SG (with the
// inbound-cidrs rule), the user SG and the backend SG; removing the opt-in makes the user SG
// replace the managed SG, as upstream, and the managed SG is deleted.
func TestIngressManagedFrontendSGKeptWithUserSGs(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{Nodes: 1})
	h.startController()
	h.ensureIngressClass(albClass, "")
	user := h.userSG("corp-waf")
	h.create(backendService("echo", 30080, nil))
	h.create(ingress("echo", "echo", map[string]string{
		"alb.ingress.kubernetes.io/scheme":        "internet-facing",
		annotations.IngSecurityGroups:             user,
		annotations.IngManageFrontendSG:           "true",
		"alb.ingress.kubernetes.io/inbound-cidrs": "198.51.100.0/24",
	}))
	host := h.waitIngressHostname("echo")
	backend := h.backendSGID()
	managedName := naming.IngressSGName(cluster, "default", "echo")
	h.eventually("ALB SGs: managed, user, backend", 30*time.Second, func() string {
		m, ok := h.sgByName(managedName)
		if !ok {
			return "no managed SG"
		}
		got := slices.Sorted(slices.Values(h.albByHostname(host).SecurityGroups))
		if want := slices.Sorted(slices.Values([]string{m.ID, user, backend})); !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("ALB SGs %v, want %v", got, want)
		}
		if got, want := ruleStrings(m.Rules), []string{"tcp 80 from 198.51.100.0/24"}; !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("managed SG rules %v, want %v", got, want)
		}
		return ""
	})
	h.patchIngressAnnotations("echo", map[string]string{annotations.IngManageFrontendSG: ""})
	h.eventually("user SG alone, managed SG deleted", 30*time.Second, func() string {
		if got := h.albByHostname(host).SecurityGroups; !reflect.DeepEqual(got, []string{user}) {
			return fmt.Sprintf("ALB SGs %v, want [%s]", got, user)
		}
		if _, ok := h.sgByName(managedName); ok {
			return "managed SG still exists"
		}
		return ""
	})
}
