package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/plan"
)

// binding creates a TargetGroupBinding of the tenant's Service port with these networking
// rules; it is removed (finalizer included) when the test ends.
func (tn *tenant) binding(name, service string, port int32, arn string, rules ...elbv2api.NetworkingIngressRule) {
	h := tn.h
	h.t.Helper()
	b := &elbv2api.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: name},
		Spec: elbv2api.TargetGroupBindingSpec{TargetGroupARN: arn, ServiceRef: elbv2api.ServiceReference{Name: service, Port: intstr.FromInt32(port)},
			Networking: &elbv2api.TargetGroupBindingNetworking{Ingress: rules}}}
	h.create(b)
	h.t.Cleanup(func() {
		got := &elbv2api.TargetGroupBinding{}
		if err := h.k8s.Get(h.ctx, client.ObjectKeyFromObject(b), got); err != nil {
			return
		}
		got.Finalizers = nil
		_ = h.k8s.Update(h.ctx, got)
		_ = h.k8s.Delete(h.ctx, got)
	})
}

// bindingEvent waits for an Event of the reason on one of the tenant's bindings whose note
// holds every one of want, and returns it.
func (tn *tenant) bindingEvent(name, reason string, want ...string) string {
	tn.h.t.Helper()
	var found string
	refs := refNS{h: tn.h, name: tn.ns}
	tn.h.eventually(fmt.Sprintf("%s Event on TargetGroupBinding %s/%s with %q", reason, tn.ns, name, want), 60*time.Second, func() string {
	notes:
		for _, m := range refs.events("TargetGroupBinding", name)[reason] {
			for _, w := range want {
				if !strings.Contains(m, w) {
					continue notes
				}
			}
			found = m
			return ""
		}
		return fmt.Sprint(refs.events("TargetGroupBinding", name))
	})
	return found
}

// nodePortService is a NodePort Service of the tenant, for a binding.
func (tn *tenant) nodePortService(name string) int32 {
	tn.h.t.Helper()
	tn.create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"role": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}}}})
	return tn.nodePort(name)
}

func fromCIDR(cidr string, ports ...int32) elbv2api.NetworkingIngressRule {
	return elbv2api.NetworkingIngressRule{From: []elbv2api.NetworkingPeer{{IPBlock: &elbv2api.IPBlock{CIDR: cidr}}}, Ports: tcpPorts(ports)}
}

func fromSGPeer(id string, ports ...int32) elbv2api.NetworkingIngressRule {
	return elbv2api.NetworkingIngressRule{From: []elbv2api.NetworkingPeer{{SecurityGroup: &elbv2api.SecurityGroup{GroupID: id}}}, Ports: tcpPorts(ports)}
}

func tcpPorts(ports []int32) []elbv2api.NetworkingPort {
	var out []elbv2api.NetworkingPort
	for _, p := range ports {
		v := intstr.FromInt32(p)
		out = append(out, elbv2api.NetworkingPort{Port: &v})
	}
	return out
}

// Regression for issue 15 §2, "nothing is opened to a CIDR on a shared SG beyond the target
// port", for TargetGroupBindings. A tenant writes its binding's spec.networking, and lbsg
// puts those rules on the SG of the binding's targets: with instance targets the node SG of
// every node. Before, tenant B's binding opened sshd and the kubelet on every node to
// 0.0.0.0/0, every port to a CIDR, and admitted tenant A's load balancer. Now each rule keeps
// to B's traffic port (its NodePort): ports left out open exactly it, a rule on any other
// port is refused with a Warning naming the rule, port, SG and fix, and a rule from A's
// managed SG is denied by the reference authorizer. B's allowed rules and tenant A's own
// rules (its binding's and its NLB's) land as before, and `lbsg plan` lists the refusals.
func TestTargetGroupBindingOfOneTenantNeverOpensTheNodeSGBeyondItsTrafficPort(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	a, b := h.tenant("tgb-tenant-a"), h.tenant("tgb-tenant-b")
	refs := refNS{h: h, name: a.ns}

	// Tenant A: an NLB with its managed SG, and a binding of its own load balancer's target
	// group, open on its NodePort from that load balancer's SG and the VPC's CIDR.
	a.create(webserver("shop", nil))
	a.waitHostname("shop")
	aManaged := refs.managedSG("shop").ID
	aLB := h.userSG("team-a-lb")
	aPort := a.nodePortService("web")
	a.binding("web", "web", 80, h.userTargetGroup("team-a-web", h.world.VPCID, elbtypes.TargetTypeEnumInstance, nil),
		fromSGPeer(aLB, aPort), fromCIDR("10.0.0.0/16", aPort))

	// Tenant B: its binding asks for sshd and the kubelet from anywhere, every port from a
	// CIDR, and its NodePort from tenant A's load balancer.
	bPort := b.nodePortService("ssh")
	b.binding("ssh", "ssh", 80, h.userTargetGroup("team-b-ssh", h.world.VPCID, elbtypes.TargetTypeEnumInstance, nil),
		fromCIDR("0.0.0.0/0", 22, 10250, bPort), fromCIDR("10.1.0.0/16"), fromSGPeer(aManaged, bPort))

	want := []string{
		fmt.Sprintf("tcp %d from %s", aPort, aLB), fmt.Sprintf("tcp %d from 10.0.0.0/16", aPort),
		fmt.Sprintf("tcp %d from 0.0.0.0/0", bPort), fmt.Sprintf("tcp %d from 10.1.0.0/16", bPort),
	}
	h.eventually("both tenants' allowed rules on the node SG", 60*time.Second, func() string {
		got := h.nodeRules()
		for _, w := range want {
			if !slices.Contains(got, w) {
				return fmt.Sprintf("%v lacks %q", got, w)
			}
		}
		return ""
	})
	node := h.world.NodeSGID
	msg := b.bindingEvent("ssh", controller.EventNetworkingRefused, "tcp 22 from 0.0.0.0/0", "tcp 10250 from 0.0.0.0/0", node,
		fmt.Sprintf("tcp %d", bPort), "Fix:")
	if !strings.Contains(msg, "every node") {
		t.Errorf("refusal %q does not say what the rule would have opened", msg)
	}
	b.bindingEvent("ssh", controller.EventReferenceDenied, fmt.Sprintf("tcp %d from %s", bPort, aManaged), node, "Service tgb-tenant-a/shop")
	h.quiesce()
	got := h.nodeRules()
	for _, port := range []int32{22, 10250} {
		if open := rulesOnPort(got, port); len(open) > 0 {
			t.Errorf("tenant B's binding opened port %d on the node SG: %v", port, open)
		}
	}
	for _, r := range got {
		if strings.HasPrefix(r, "tcp 0-") || strings.Contains(r, "from "+aManaged) && strings.HasPrefix(r, fmt.Sprintf("tcp %d ", bPort)) {
			t.Errorf("rule %q must not be on the node SG", r)
		}
	}
	if shop := rulesOnPort(got, a.nodePort("shop")); len(shop) == 0 {
		t.Errorf("tenant A's NLB lost its rule on the node SG: %v", got)
	}

	// lbsg plan lists the refusals and, converged, plans nothing on target SGs.
	objs, err := controller.ListClusterObjects(h.ctx, h.k8s, controller.CRDs{Params: true})
	if err != nil {
		t.Fatal(err)
	}
	if objs.Bindings, err = controller.ListBindings(h.ctx, h.k8s); err != nil {
		t.Fatal(err)
	}
	np, err := h.engine.PlanNetworking(h.ctx, objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range np.Plan.Changes {
		t.Errorf("the converged target-SG plan has a change: %s %s %s", c.Op, c.Target, c.Reason)
	}
	whys := map[string]string{}
	for _, x := range np.Refused {
		if x.Owner == "TargetGroupBinding tgb-tenant-b/ssh" {
			whys[x.Rule.String()] = x.Why
		}
		if strings.HasPrefix(x.Owner, "TargetGroupBinding tgb-tenant-a/") {
			t.Errorf("tenant A's binding had a rule refused: %+v", x)
		}
	}
	for rule, why := range map[string]string{
		"tcp 22 from 0.0.0.0/0":                        plan.RefusedNotTrafficPort,
		"tcp 10250 from 0.0.0.0/0":                     plan.RefusedNotTrafficPort,
		fmt.Sprintf("tcp %d from %s", bPort, aManaged): plan.RefusedSource,
	} {
		if whys[rule] != why {
			t.Errorf("lbsg plan: refusal of %s is %q, want %q (all: %v)", rule, whys[rule], why, whys)
		}
	}
}

// Regression for issue 15 §1 case 6, for TargetGroupBindings: an ip binding's CIDR rule on
// its Pods' port lands, with the VPC CNI, on the node SG of every node, so it opened that
// port on every node. Like a client CIDR rule of an NLB without security groups, a binding's
// CIDR rule outside the NodePort range is now refused with a Warning naming the rule, the
// SG, the NodePort range and the fix (admit the load balancer's SG), while its rule from
// the load balancer's SG on the same port lands; the platform can allow the CIDR rule with
// --allow-client-cidr-rules-outside-node-port-range.
func TestTargetGroupBindingCIDRRuleOnAPodPortIsRefusedOutsideTheNodePortRange(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{Nodes: 1})
	h.startController()
	b := h.tenant("tgb-tenant-b")
	b.create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"role": "api"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}}}})
	b.endpoints("api", "http", 8080, h.podIPs(1))
	lb := h.userSG("team-b-lb")
	b.binding("api", "api", 80, h.userTargetGroup("team-b-api", h.world.VPCID, elbtypes.TargetTypeEnumIp, nil),
		fromCIDR("10.0.0.0/16", 8080), fromSGPeer(lb, 8080))

	fromLB := "tcp 8080 from " + lb
	h.eventually("the rule from the load balancer's SG on the node SG", 60*time.Second, func() string {
		if got := h.nodeRules(); !slices.Contains(got, fromLB) {
			return fmt.Sprint(got)
		}
		return ""
	})
	b.bindingEvent("api", controller.EventClientCIDRRefused, "tcp 8080 from 10.0.0.0/16", h.world.NodeSGID, "30000-32767",
		"from: securityGroup", "--allow-client-cidr-rules-outside-node-port-range")
	h.quiesce()
	if got := h.nodeRules(); slices.Contains(got, "tcp 8080 from 10.0.0.0/16") {
		t.Fatalf("the node SG was opened on the Pods' port to a CIDR: %v", got)
	}

	// The platform allows it: the rule lands.
	h.stopController()
	h.startController("--allow-client-cidr-rules-outside-node-port-range")
	h.eventually("the allowed rule on the node SG", 60*time.Second, func() string {
		if got := h.nodeRules(); !slices.Contains(got, "tcp 8080 from 10.0.0.0/16") {
			return fmt.Sprint(got)
		}
		return ""
	})
}

// Failure isolation per rule (issue 15 §2), for TargetGroupBindings: tenant B's ip binding
// has a Pod whose IP is on no network interface, so its rules cannot be placed. Before, that
// held every CIDR rule and every rule from the backend SG on every target SG: tenant A's
// 0.0.0.0/0 NodePort rule stayed after A narrowed its source ranges. Now B holds only its
// traffic port, and A's stale rule is revoked.
func TestUnplaceableBindingOfOneTenantHoldsOnlyItsTrafficPort(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{Nodes: 1})
	h.startController()
	a, b := h.tenant("tgb-tenant-a"), h.tenant("tgb-tenant-b")
	a.create(webserver("edge", map[string]string{annDisableNLBSG: "true"}))
	a.waitHostname("edge")
	aPort := a.nodePort("edge")
	aOpen := fmt.Sprintf("tcp %d from 0.0.0.0/0", aPort)
	h.eventually("tenant A's rule on the node SG", 30*time.Second, func() string {
		if got := h.nodeRules(); !slices.Contains(got, aOpen) {
			return fmt.Sprint(got)
		}
		return ""
	})

	b.create(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "api"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"role": "api"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(30555)}}}})
	b.endpoints("api", "http", 30555, []string{"10.0.250.250"}) // on no network interface
	b.binding("api", "api", 80, h.userTargetGroup("team-b-unplaced", h.world.VPCID, elbtypes.TargetTypeEnumIp, nil),
		fromCIDR("192.0.2.0/24", 30555))
	b.bindingEvent("api", controller.EventFailedNetwork, "10.0.250.250")

	a.patch("edge", map[string]string{annSourceRanges: "198.51.100.0/24"})
	aNarrow := fmt.Sprintf("tcp %d from 198.51.100.0/24", aPort)
	h.eventually("tenant A's 0.0.0.0/0 rule revoked once it narrowed its source ranges", 30*time.Second, func() string {
		got := h.nodeRules()
		if slices.Contains(got, aOpen) || !slices.Contains(got, aNarrow) {
			return fmt.Sprintf("%v, want %q and not %q", got, aNarrow, aOpen)
		}
		return ""
	})
}
