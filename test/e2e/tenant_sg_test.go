package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/plan"
)

const (
	annDisableNLBSG = "service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg"
	annTargetType   = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"
)

// tenant is one tenant's namespace: its Services are removed when the test ends (the
// namespace stays: envtest runs no namespace controller to finish deleting it).
type tenant struct {
	h  *harness
	ns string
}

func (h *harness) tenant(ns string) *tenant {
	h.t.Helper()
	if err := h.k8s.Create(h.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		h.t.Fatalf("create namespace %s: %v", ns, err)
	}
	tn := &tenant{h: h, ns: ns}
	clear := func() {
		list := &corev1.ServiceList{}
		if err := h.k8s.List(h.ctx, list, client.InNamespace(ns)); err != nil {
			return
		}
		for i := range list.Items {
			s := &list.Items[i]
			if len(s.Finalizers) > 0 {
				s.Finalizers = nil
				_ = h.k8s.Update(h.ctx, s)
			}
			_ = h.k8s.Delete(h.ctx, s)
		}
	}
	clear()
	h.t.Cleanup(clear)
	return tn
}

// create creates the tenant's version of a sample Service (webserver).
func (tn *tenant) create(svc *corev1.Service) {
	tn.h.t.Helper()
	svc.Namespace = tn.ns
	tn.h.create(svc)
}

func (tn *tenant) service(name string) *corev1.Service {
	tn.h.t.Helper()
	s := &corev1.Service{}
	if err := tn.h.k8s.Get(tn.h.ctx, client.ObjectKey{Namespace: tn.ns, Name: name}, s); err != nil {
		tn.h.t.Fatalf("get service %s/%s: %v", tn.ns, name, err)
	}
	return s
}

func (tn *tenant) nodePort(name string) int32 { return tn.service(name).Spec.Ports[0].NodePort }

// patch sets (or, for "", removes) annotations on one of the tenant's Services.
func (tn *tenant) patch(name string, ann map[string]string) {
	tn.h.t.Helper()
	tn.h.eventually("update "+tn.ns+"/"+name, 10*time.Second, func() string {
		s := tn.service(name)
		for k, v := range ann {
			if v == "" {
				delete(s.Annotations, k)
			} else {
				s.Annotations[k] = v
			}
		}
		if err := tn.h.k8s.Update(tn.h.ctx, s); err != nil {
			return err.Error()
		}
		return ""
	})
}

func (tn *tenant) delete(name string) {
	tn.h.t.Helper()
	if err := tn.h.k8s.Delete(tn.h.ctx, tn.service(name)); err != nil {
		tn.h.t.Fatal(err)
	}
}

func (tn *tenant) waitHostname(name string) {
	tn.h.t.Helper()
	tn.h.eventually("hostname of "+tn.ns+"/"+name, 60*time.Second, func() string {
		s := tn.service(name)
		if len(s.Status.LoadBalancer.Ingress) > 0 && s.Status.LoadBalancer.Ingress[0].Hostname != "" {
			return ""
		}
		return "condition: " + conditionMessage(s)
	})
}

// events returns the messages of the Events about one of the tenant's Services, by reason.
func (tn *tenant) events(name string) map[string][]string {
	tn.h.t.Helper()
	list := &eventsv1.EventList{}
	if err := tn.h.k8s.List(tn.h.ctx, list, client.InNamespace(tn.ns)); err != nil {
		tn.h.t.Fatalf("list events: %v", err)
	}
	out := map[string][]string{}
	for _, e := range list.Items {
		if e.Regarding.Kind == "Service" && e.Regarding.Name == name {
			out[e.Reason] = append(out[e.Reason], e.Note)
		}
	}
	return out
}

func (tn *tenant) waitEvent(name, reason string, contains ...string) string {
	tn.h.t.Helper()
	var found string
	tn.h.eventually(fmt.Sprintf("event %s on %s/%s containing %q", reason, tn.ns, name, contains), 30*time.Second, func() string {
		for _, m := range tn.events(name)[reason] {
			ok := true
			for _, c := range contains {
				ok = ok && strings.Contains(m, c)
			}
			if ok {
				found = m
				return ""
			}
		}
		return fmt.Sprint(tn.events(name))
	})
	return found
}

// endpoints creates a Pod the Service selects at each IP and an EndpointSlice of ready
// endpoints for them, on the named port.
func (tn *tenant) endpoints(service, portName string, port int32, ips []string) {
	h := tn.h
	h.t.Helper()
	selector := tn.service(service).Spec.Selector
	ready := true
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: tn.ns, Name: service + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: aws.String(portName), Port: aws.Int32(port)}},
	}
	no := false
	for i, ip := range ips {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: tn.ns, Name: fmt.Sprintf("%s-pod-%d", service, i), Labels: selector},
			Spec: corev1.PodSpec{AutomountServiceAccountToken: &no, Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}}}}
		h.create(p)
		h.t.Cleanup(func() { _ = h.k8s.Delete(h.ctx, p, client.GracePeriodSeconds(0)) })
		p.Status.Phase, p.Status.PodIP, p.Status.PodIPs = corev1.PodRunning, ip, []corev1.PodIP{{IP: ip}}
		p.Status.StartTime = &metav1.Time{Time: time.Now()}
		if err := h.k8s.Status().Update(h.ctx, p); err != nil {
			h.t.Fatalf("set IPs of pod %s: %v", p.Name, err)
		}
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: tn.ns, Name: p.Name},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	h.create(slice)
	h.t.Cleanup(func() { _ = h.k8s.Delete(h.ctx, slice) })
}

// nodeRules are lbsg's rules on the node SG.
func (h *harness) nodeRules() []string {
	return lbsgRules(h.securityGroups()[h.world.NodeSGID])
}

// rulesOnPort are the rules among rules on port (from or to).
func rulesOnPort(rules []string, port int32) []string {
	var out []string
	for _, r := range rules {
		if strings.HasPrefix(r, fmt.Sprintf("tcp %d ", port)) || strings.HasPrefix(r, fmt.Sprintf("tcp %d-", port)) {
			out = append(out, r)
		}
	}
	return out
}

// Regression for issue 15 §1 case 5: tenant A's Service with instance targets gets a bad
// annotation, so its rules cannot be computed. Before, that held every lbsg revoke on the
// node SG, which every instance-target Service uses: tenant B's 0.0.0.0/0 NodePort rule
// stayed after B narrowed its source ranges, and after B deleted its Service. Now A holds
// only what it could contribute (its NodePort from the backend SG its NLB carries), and
// B's stale rules are revoked.
func TestBrokenServiceOfOneTenantDoesNotHoldAnotherTenantsRevokesOnTheNodeSG(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	a, b := h.tenant("sg-tenant-a"), h.tenant("sg-tenant-b")
	a.create(webserver("shop", nil))
	b.create(webserver("edge", map[string]string{annDisableNLBSG: "true"}))
	a.waitHostname("shop")
	b.waitHostname("edge")
	backend := h.backendSGID()
	aRule := fmt.Sprintf("tcp %d from %s", a.nodePort("shop"), backend)
	bPort := b.nodePort("edge")
	bOpen := fmt.Sprintf("tcp %d from 0.0.0.0/0", bPort)
	h.eventually("both tenants' rules on the node SG", 30*time.Second, func() string {
		if got := h.nodeRules(); !slices.Contains(got, aRule) || !slices.Contains(got, bOpen) {
			return fmt.Sprintf("%v, want %q and %q", got, aRule, bOpen)
		}
		return ""
	})

	a.patch("shop", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-ip-address-type": "ipv5"})
	a.waitEvent("shop", controller.EventFailedNetwork, "ipv5")

	b.patch("edge", map[string]string{annSourceRanges: "192.0.2.0/24"})
	bNarrow := fmt.Sprintf("tcp %d from 192.0.2.0/24", bPort)
	h.eventually("tenant B's 0.0.0.0/0 rule revoked once it narrowed its source ranges", 30*time.Second, func() string {
		got := h.nodeRules()
		if slices.Contains(got, bOpen) || !slices.Contains(got, bNarrow) {
			return fmt.Sprintf("%v, want %q and not %q", got, bNarrow, bOpen)
		}
		return ""
	})
	if got := h.nodeRules(); !slices.Contains(got, aRule) {
		t.Fatalf("tenant A's rule %q was revoked while A's rules cannot be computed: %v", aRule, got)
	}

	b.delete("edge")
	h.eventually("tenant B's rules revoked once it deleted its Service", 30*time.Second, func() string {
		if got := rulesOnPort(h.nodeRules(), bPort); len(got) > 0 {
			return fmt.Sprintf("rules on B's NodePort left: %v", got)
		}
		return ""
	})
	if got := h.nodeRules(); !slices.Contains(got, aRule) {
		t.Errorf("tenant A's rule %q was revoked while A's rules cannot be computed: %v", aRule, got)
	}
}

// Regression for issue 15 §1 case 6: an NLB without security groups with ip targets
// writes its client CIDRs on the target ENI's SG, which with the VPC CNI is the node SG of
// every node; a tenant's targetPort 22 opened sshd on every node to 0.0.0.0/0. Now a client
// CIDR rule outside the NodePort range is refused with a Warning naming the port, the SG
// and the fix, and an Event recommends an NLB with security groups; the platform can allow
// it with --allow-client-cidr-rules-outside-node-port-range.
func TestNLBWithoutSGsNeverOpensANodeSGPortOutsideTheNodePortRange(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{Nodes: 1})
	h.startController()
	b := h.tenant("sg-tenant-b")
	svc := webserver("ssh", map[string]string{annDisableNLBSG: "true", annTargetType: "ip",
		"service.beta.kubernetes.io/aws-load-balancer-target-group-attributes": "preserve_client_ip.enabled=true"})
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(22)
	b.create(svc)
	b.endpoints("ssh", "http", 22, h.podIPs(1))
	b.waitHostname("ssh")
	msg := b.waitEvent("ssh", controller.EventClientCIDRRefused, "tcp 22 from 0.0.0.0/0", h.world.NodeSGID, "30000-32767",
		"--allow-client-cidr-rules-outside-node-port-range")
	if !strings.Contains(msg, "NLB with security groups") {
		t.Errorf("refusal %q does not name the fix", msg)
	}
	b.waitEvent("ssh", controller.EventNLBSGRecommended, "aws-load-balancer-security-groups")
	h.quiesce()
	if got := rulesOnPort(h.nodeRules(), 22); len(got) > 0 {
		t.Fatalf("the node SG was opened on port 22: %v", got)
	}
	if c := b.service("ssh").Status.Conditions; !slices.ContainsFunc(c, func(c metav1.Condition) bool {
		return c.Type == controller.ConditionReady && c.Status == metav1.ConditionFalse && strings.Contains(c.Message, "tcp 22 from 0.0.0.0/0")
	}) {
		t.Errorf("Ready condition does not name the refused rule: %v", c)
	}

	// The platform allows it: the rule lands.
	h.stopController()
	h.startController("--allow-client-cidr-rules-outside-node-port-range")
	h.eventually("the allowed rule on the node SG", 30*time.Second, func() string {
		if got := h.nodeRules(); !slices.Contains(got, "tcp 22 from 0.0.0.0/0") {
			return fmt.Sprint(got)
		}
		return ""
	})
}

// Regression for issue 15 §1 case 6, second half: at the default rule budget of 1, the
// rule from the backend SG spanned from an ip target's pod port to the NodePorts, opening
// every port in between (sshd, the kubelet: 8080..31000). Ports inside and outside the
// NodePort range now get separate rules.
func TestBackendSGRuleNeverSpansFromAPodPortToTheNodePorts(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{Nodes: 1})
	h.startController()
	a, b := h.tenant("sg-tenant-a"), h.tenant("sg-tenant-b")
	a.create(webserver("shop", nil))
	ip := webserver("api", map[string]string{annTargetType: "ip"})
	ip.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	b.create(ip)
	b.endpoints("api", "http", 8080, h.podIPs(1))
	a.waitHostname("shop")
	b.waitHostname("api")
	backend := h.backendSGID()
	want := []string{fmt.Sprintf("tcp %d from %s", a.nodePort("shop"), backend), "tcp 8080 from " + backend}
	slices.Sort(want)
	h.eventually("one rule for the pod port and one for the NodePort", 30*time.Second, func() string {
		if got := h.nodeRules(); !slices.Equal(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
}

// Regression for issue 15 §1 case 13 (the rule quota): tenant A's NLB without security
// groups asked for 55 source ranges, which took the node SG's quota and left tenant B's
// NLB without rules. Each namespace now gets a share of a shared SG's quota
// (--sg-rules-namespace-share, 25% of 60 by default): A is over its share and gets a
// Warning naming the SG, the count, the share and the fix, and B's rules are added.
func TestOneTenantsSourceRangesDoNotTakeTheNodeSGQuotaFromAnother(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	a, b := h.tenant("sg-tenant-a"), h.tenant("sg-tenant-b")
	var ranges []string
	for i := range 55 {
		ranges = append(ranges, fmt.Sprintf("10.%d.%d.0/24", 100+i/256, i%256))
	}
	a.create(webserver("big", map[string]string{annDisableNLBSG: "true", annSourceRanges: strings.Join(ranges, ",")}))
	a.waitHostname("big")
	h.quiesce()

	b.create(webserver("small", map[string]string{annDisableNLBSG: "true", annSourceRanges: "192.0.2.0/24,198.51.100.0/24"}))
	b.waitHostname("small")
	bPort := b.nodePort("small")
	h.eventually("tenant B's rules on the node SG", 30*time.Second, func() string {
		got := h.nodeRules()
		for _, cidr := range []string{"192.0.2.0/24", "198.51.100.0/24"} {
			if r := fmt.Sprintf("tcp %d from %s", bPort, cidr); !slices.Contains(got, r) {
				return fmt.Sprintf("%v lacks %q", got, r)
			}
		}
		return ""
	})
	a.waitEvent("big", controller.EventRuleShare, "namespace sg-tenant-a", h.world.NodeSGID, "57", "share of 15", "--sg-rules-namespace-share")
	if got := rulesOnPort(h.nodeRules(), a.nodePort("big")); len(got) > 0 {
		t.Errorf("tenant A's rules were added over its share: %v", got)
	}
}

// Regression for issue 15 §1 case 13 (the audit trail): the audit line of a write on the
// shared node SG named every owner on the SG. Now an authorize names the Service that
// asks for its rules, and a revoke the Service whose rules stopped being needed.
func TestNodeSGAuditLinesNameTheTenantWhoseRulesChanged(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	var lines auditLines
	h.startControllerWith(app.RunOptions{Started: func(_ *controller.Engine, c *cloud.Clients) {
		c.Calls.SetAuditLog(funcr.New(lines.add, funcr.Options{}))
	}})
	a, b := h.tenant("sg-tenant-a"), h.tenant("sg-tenant-b")
	a.create(webserver("shop", nil))
	a.waitHostname("shop")
	h.eventually("tenant A's node SG rule", 30*time.Second, func() string {
		if len(h.nodeRules()) == 0 {
			return "none yet"
		}
		return ""
	})
	h.quiesce()
	aName, bName := "Service sg-tenant-a/shop", "Service sg-tenant-b/edge"
	b.create(webserver("edge", map[string]string{annDisableNLBSG: "true", annSourceRanges: "192.0.2.0/24"}))
	b.waitHostname("edge")
	nodeSG := `"resource"="` + h.world.NodeSGID + `"`
	h.eventually("the authorize of B's rule, audited for B", 30*time.Second, func() string {
		if lines.count(`"action"="AuthorizeSecurityGroupIngress"`, nodeSG, `"object"="`+bName+`"`) == 0 {
			return lines.String()
		}
		return ""
	})
	b.delete("edge")
	h.eventually("the revoke of B's rules, audited for B", 30*time.Second, func() string {
		if lines.count(`"action"="RevokeSecurityGroupIngress"`, nodeSG, `"object"="`+bName+`"`) == 0 {
			return lines.String()
		}
		return ""
	})
	if n := lines.count(nodeSG, aName, bName); n > 0 {
		t.Errorf("%d writes on the node SG were audited for both tenants:\n%s", n, lines.String())
	}
	if n := lines.count(nodeSG, plan.NoOwner); n > 0 {
		t.Errorf("a write on the node SG was audited for no owner although B's rules stopped being needed:\n%s", lines.String())
	}
}
