package e2e

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/naming"
)

// grpIngress is ingress() routing path (Prefix) instead of "/".
func grpIngress(name, service, path string, ann map[string]string) *networkingv1.Ingress {
	ing := ingress(name, service, ann)
	ing.Spec.Rules[0].HTTP.Paths[0].Path = path
	return ing
}

// grpTGName is the name lbsg must give the instance target group of the Ingress's backend
// service:80 in a group.
func (h *harness) grpTGName(groupID, ing, service string, nodePort int32) string {
	h.t.Helper()
	return naming.IngressTargetGroupName(naming.IngressTargetGroupNameInput{Cluster: cluster, GroupID: groupID,
		IngressNamespace: "default", IngressName: ing, ServiceUID: string(h.service(service).UID),
		ServiceNamespace: "default", ServiceName: service, ServicePort: "80", TargetGroupPort: nodePort,
		TargetType: "instance", Protocol: "HTTP", ProtocolVersion: "HTTP1"})
}

// grpTGNamesByARN maps every target group's ARN to its name.
func (h *harness) grpTGNamesByARN() map[string]string {
	out := map[string]string{}
	for _, tg := range h.targetGroups() {
		out[aws.ToString(tg.TargetGroupArn)] = aws.ToString(tg.TargetGroupName)
	}
	return out
}

// grpTGNames are the names of every target group, sorted.
func (h *harness) grpTGNames() []string {
	var out []string
	for _, n := range h.grpTGNamesByARN() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// grpAction renders a listener or rule action: "forward <tg name>" or "fixed-response <code>".
func grpAction(actions []elbtypes.Action, tgs map[string]string) string {
	var parts []string
	for _, a := range actions {
		switch a.Type {
		case elbtypes.ActionTypeEnumForward:
			arns := []string{}
			if a.TargetGroupArn != nil {
				arns = append(arns, aws.ToString(a.TargetGroupArn))
			} else if a.ForwardConfig != nil {
				for _, t := range a.ForwardConfig.TargetGroups {
					arns = append(arns, aws.ToString(t.TargetGroupArn))
				}
			}
			for _, arn := range arns {
				name := tgs[arn]
				if name == "" {
					name = arn
				}
				parts = append(parts, "forward "+name)
			}
		case elbtypes.ActionTypeEnumFixedResponse:
			code := ""
			if a.FixedResponseConfig != nil {
				code = aws.ToString(a.FixedResponseConfig.StatusCode)
			}
			parts = append(parts, "fixed-response "+code)
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, "+")
}

// grpShape renders the listeners of a load balancer and their rules, one line each,
// sorted: "HTTP:80 default fixed-response 404", "HTTP:80 #1 host=... path=/a,/a/* -> forward tg",
// "HTTPS:443 cert <arn>".
func (h *harness) grpShape(lbARN string) []string {
	h.t.Helper()
	tgs := h.grpTGNamesByARN()
	var out []string
	for _, l := range h.listenersOf(lbARN) {
		lid := fmt.Sprintf("%s:%d", l.Protocol, aws.ToInt32(l.Port))
		out = append(out, lid+" default "+grpAction(l.DefaultActions, tgs))
		for _, c := range l.Certificates {
			out = append(out, lid+" cert "+aws.ToString(c.CertificateArn))
		}
		rules, err := h.elb.DescribeRules(h.ctx, &elbv2.DescribeRulesInput{ListenerArn: l.ListenerArn})
		if err != nil {
			h.t.Fatalf("describe rules: %v", err)
		}
		for _, r := range rules.Rules {
			if aws.ToBool(r.IsDefault) || aws.ToString(r.Priority) == "default" {
				continue
			}
			var conds []string
			for _, c := range r.Conditions {
				var vals []string
				switch {
				case c.PathPatternConfig != nil:
					vals = c.PathPatternConfig.Values
				case c.HostHeaderConfig != nil:
					vals = c.HostHeaderConfig.Values
				default:
					vals = c.Values
				}
				conds = append(conds, aws.ToString(c.Field)+"="+strings.Join(vals, ","))
			}
			sort.Strings(conds)
			out = append(out, fmt.Sprintf("%s #%s %s -> %s", lid, aws.ToString(r.Priority), strings.Join(conds, " "), grpAction(r.Actions, tgs)))
		}
	}
	sort.Strings(out)
	return out
}

// grpSGRules are the rules of the SG with the name, or nil and false.
func (h *harness) grpSGRules(name string) ([]string, bool) {
	g, ok := h.sgByName(name)
	if !ok {
		return nil, false
	}
	return ruleStrings(g.Rules), true
}

// grpDeleteIngress deletes an Ingress and waits until it is gone from Kubernetes.
func (h *harness) grpDeleteIngress(name string) {
	h.t.Helper()
	if err := h.k8s.Delete(h.ctx, h.getIngress(name)); err != nil {
		h.t.Fatalf("delete ingress %s: %v", name, err)
	}
	h.eventually("ingress "+name+" gone", 60*time.Second, func() string {
		ing := &networkingv1.Ingress{}
		err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: name}, ing)
		if apierrors.IsNotFound(err) {
			return ""
		}
		if err != nil {
			return err.Error()
		}
		return fmt.Sprintf("still there, finalizers %v, condition %s", ing.Finalizers, ingressCondition(ing))
	})
}

// grpUpdateIngress applies f to the Ingress and updates it, retrying on conflicts.
func (h *harness) grpUpdateIngress(name string, f func(*networkingv1.Ingress)) {
	h.t.Helper()
	for i := 0; i < 5; i++ {
		ing := h.getIngress(name)
		f(ing)
		err := h.k8s.Update(h.ctx, ing)
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			h.t.Fatalf("update ingress %s: %v", name, err)
		}
	}
	h.t.Fatalf("update ingress %s: conflicts", name)
}

// grpWaitCondition waits until the Ingress's condition starts with prefix.
func (h *harness) grpWaitCondition(name, prefix string, contains ...string) {
	h.t.Helper()
	h.eventually(fmt.Sprintf("condition of %s %q %v", name, prefix, contains), 30*time.Second, func() string {
		c := ingressCondition(h.getIngress(name))
		if !strings.HasPrefix(c, prefix) || !containsAll(c, contains) {
			return c
		}
		return ""
	})
}

// grpWaitBuildEvent waits for a FailedBuildModel Event on the Ingress containing every string.
func (h *harness) grpWaitBuildEvent(name string, contains ...string) {
	h.t.Helper()
	h.eventually(fmt.Sprintf("FailedBuildModel on %s containing %q", name, contains), 30*time.Second, func() string {
		for _, m := range h.ingressEvents(name)["FailedBuildModel"] {
			if containsAll(m, contains) {
				return ""
			}
		}
		return fmt.Sprint(h.ingressEvents(name))
	})
}

// grpSortedSGs returns a load balancer's SGs, sorted.
func grpSortedSGs(lb *elbtypes.LoadBalancer) []string {
	return sorted(lb.SecurityGroups...)
}

// grpWaitEq polls got until it equals want.
func (h *harness) grpWaitEq(what string, want []string, got func() []string) {
	h.t.Helper()
	h.eventually(what, 60*time.Second, func() string {
		if g := got(); !reflect.DeepEqual(g, want) {
			return fmt.Sprintf("\n got  %q\n want %q", g, want)
		}
		return ""
	})
}

// Three Ingresses in one explicit group share one ALB and one managed SG whose rules are
// the merged listen ports × CIDRs; deleting the members one by one shrinks the ALB, and
// deleting the last removes everything.
func TestALBGroupOfThree(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	cert := h.certificate("shop.example.com")
	const (
		npPay, npCart, npAdmin = int32(30081), int32(30082), int32(30083)
	)
	h.create(backendService("pay", npPay, nil))
	h.create(backendService("cart", npCart, nil))
	h.create(backendService("admin", npAdmin, nil))
	// group.order runs against the names' alphabetical order: pay, cart, admin.
	h.create(grpIngress("pay", "pay", "/pay", map[string]string{ingGroup: "shop", ingOrder: "1",
		ingScheme: internetFacing, ingListenPorts: `[{"HTTP":80}]`, ingCIDRs: "10.0.0.0/16"}))
	h.create(grpIngress("cart", "cart", "/cart", map[string]string{ingGroup: "shop", ingOrder: "2",
		ingListenPorts: `[{"HTTP":80},{"HTTPS":443}]`, ingCertARN: cert}))
	h.create(grpIngress("admin", "admin", "/admin", map[string]string{ingGroup: "shop", ingOrder: "3",
		ingListenPorts: `[{"HTTP":8080}]`, ingCIDRs: "192.168.0.0/24, 172.16.0.0/12"}))

	host := h.waitIngressHostname("pay")
	lbName := naming.IngressLBName(cluster, true, "", "shop", internetFacing)
	sgName := naming.IngressGroupSGName(cluster, "shop")
	tgPay, tgCart, tgAdmin := h.grpTGName("shop", "pay", "pay", npPay), h.grpTGName("shop", "cart", "cart", npCart), h.grpTGName("shop", "admin", "admin", npAdmin)

	// Every member converges to the same hostname and carries the group's finalizer.
	for _, n := range []string{"pay", "cart", "admin"} {
		h.eventually("status and finalizer of "+n, 60*time.Second, func() string {
			ing := h.getIngress(n)
			if len(ing.Status.LoadBalancer.Ingress) != 1 || ing.Status.LoadBalancer.Ingress[0].Hostname != host {
				return fmt.Sprintf("status %+v, want hostname %s; condition %s", ing.Status.LoadBalancer, host, ingressCondition(ing))
			}
			if !reflect.DeepEqual(ing.Finalizers, []string{"group.ingress.k8s.aws/shop"}) {
				return fmt.Sprintf("finalizers %v", ing.Finalizers)
			}
			if c := ingressCondition(ing); !strings.HasPrefix(c, "True") {
				return c
			}
			return ""
		})
	}

	lbs := h.loadBalancers()
	if len(lbs) != 1 {
		t.Fatalf("%d load balancers, want exactly one", len(lbs))
	}
	lb := lbs[0]
	if aws.ToString(lb.LoadBalancerName) != lbName || aws.ToString(lb.DNSName) != host || lb.Type != "application" || lb.Scheme != internetFacing {
		t.Fatalf("load balancer %s (%s, %s %s), want %s at %s", aws.ToString(lb.LoadBalancerName), aws.ToString(lb.DNSName), lb.Type, lb.Scheme, lbName, host)
	}
	lbARN := aws.ToString(lb.LoadBalancerArn)

	// One managed SG for the group, and the backend SG.
	var managed []sg
	for _, g := range h.securityGroups() {
		if g.Tags["ingress.k8s.aws/resource"] == "ManagedLBSecurityGroup" {
			managed = append(managed, g)
		}
	}
	if len(managed) != 1 || managed[0].Name != sgName {
		t.Fatalf("managed SGs = %+v, want exactly one named %s", managed, sgName)
	}
	m := managed[0]
	if want := map[string]string{"elbv2.k8s.aws/cluster": cluster, "ingress.k8s.aws/stack": "shop",
		"ingress.k8s.aws/resource": "ManagedLBSecurityGroup"}; !reflect.DeepEqual(m.Tags, want) {
		t.Errorf("managed SG tags = %v, want %v", m.Tags, want)
	}
	if m.Description != naming.ManagedSGDescription {
		t.Errorf("managed SG description = %q", m.Description)
	}
	// Per port: 80 is restricted by pay only, 443 by nobody, 8080 by admin.
	h.grpWaitEq("managed SG rules", sorted(
		"tcp 80 from 10.0.0.0/16",
		"tcp 443 from 0.0.0.0/0",
		"tcp 8080 from 192.168.0.0/24",
		"tcp 8080 from 172.16.0.0/12",
	), func() []string { r, _ := h.grpSGRules(sgName); return r })
	backend, ok := h.sgByName(wantBackendName(cluster))
	if !ok {
		t.Fatal("no backend SG")
	}
	if got, want := grpSortedSGs(&lb), sorted(m.ID, backend.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("ALB security groups = %v, want %v", got, want)
	}

	// Listeners 80, 443 and 8080; rule priorities follow group.order, not names.
	h.grpWaitEq("listeners and rules", sorted(
		"HTTP:80 default fixed-response 404",
		"HTTP:80 #1 path-pattern=/pay,/pay/* -> forward "+tgPay,
		"HTTP:80 #2 path-pattern=/cart,/cart/* -> forward "+tgCart,
		"HTTPS:443 default fixed-response 404",
		"HTTPS:443 cert "+cert,
		"HTTPS:443 #1 path-pattern=/cart,/cart/* -> forward "+tgCart,
		"HTTP:8080 default fixed-response 404",
		"HTTP:8080 #1 path-pattern=/admin,/admin/* -> forward "+tgAdmin,
	), func() []string { return h.grpShape(lbARN) })
	if got, want := h.grpTGNames(), sorted(tgPay, tgCart, tgAdmin); !reflect.DeepEqual(got, want) {
		t.Errorf("target groups = %v, want %v", got, want)
	}
	// The node SG admits the three NodePorts from the backend SG only, in one rule.
	h.grpWaitEq("node SG rules", []string{fmt.Sprintf("tcp %d-%d from %s", npPay, npAdmin, backend.ID)},
		func() []string { return lbsgRules(h.securityGroups()[h.world.NodeSGID]) })

	// Delete pay: port 80 is no longer restricted; its rule and target group go.
	h.grpDeleteIngress("pay")
	h.grpWaitEq("listeners after pay left", sorted(
		"HTTP:80 default fixed-response 404",
		"HTTP:80 #1 path-pattern=/cart,/cart/* -> forward "+tgCart,
		"HTTPS:443 default fixed-response 404",
		"HTTPS:443 cert "+cert,
		"HTTPS:443 #1 path-pattern=/cart,/cart/* -> forward "+tgCart,
		"HTTP:8080 default fixed-response 404",
		"HTTP:8080 #1 path-pattern=/admin,/admin/* -> forward "+tgAdmin,
	), func() []string { return h.grpShape(lbARN) })
	h.grpWaitEq("target groups after pay left", sorted(tgCart, tgAdmin), h.grpTGNames)
	h.grpWaitEq("managed SG rules after pay left", sorted(
		"tcp 80 from 0.0.0.0/0",
		"tcp 443 from 0.0.0.0/0",
		"tcp 8080 from 192.168.0.0/24",
		"tcp 8080 from 172.16.0.0/12",
	), func() []string { r, _ := h.grpSGRules(sgName); return r })
	h.grpWaitEq("node SG rules after pay left", []string{fmt.Sprintf("tcp %d-%d from %s", npCart, npAdmin, backend.ID)},
		func() []string { return lbsgRules(h.securityGroups()[h.world.NodeSGID]) })

	// Delete cart: the 80 and 443 listeners go.
	h.grpDeleteIngress("cart")
	h.grpWaitEq("listeners after cart left", sorted(
		"HTTP:8080 default fixed-response 404",
		"HTTP:8080 #1 path-pattern=/admin,/admin/* -> forward "+tgAdmin,
	), func() []string { return h.grpShape(lbARN) })
	h.grpWaitEq("target groups after cart left", []string{tgAdmin}, h.grpTGNames)
	h.grpWaitEq("managed SG rules after cart left", sorted(
		"tcp 8080 from 192.168.0.0/24",
		"tcp 8080 from 172.16.0.0/12",
	), func() []string { r, _ := h.grpSGRules(sgName); return r })
	h.grpWaitEq("node SG rules after cart left", []string{fmt.Sprintf("tcp %d from %s", npAdmin, backend.ID)},
		func() []string { return lbsgRules(h.securityGroups()[h.world.NodeSGID]) })
	if got := h.getIngress("admin"); len(got.Status.LoadBalancer.Ingress) != 1 || got.Status.LoadBalancer.Ingress[0].Hostname != host {
		t.Errorf("admin's status = %+v, want hostname %s", got.Status.LoadBalancer, host)
	}
	if n := len(h.loadBalancers()); n != 1 {
		t.Errorf("%d load balancers, want the group's one", n)
	}

	// Delete the last member: nothing is left, the backend SG included.
	h.grpDeleteIngress("admin")
	h.waitNothingLeft()
}

// grpState renders what AWS holds for the group whose ALB has the name: the ALB, its SGs,
// listeners, rules and target groups, and the managed SG's rules and tags.
func (h *harness) grpState(lbName, sgName string) string {
	h.t.Helper()
	lb := h.loadBalancer(lbName)
	if lb == nil {
		return "no load balancer " + lbName
	}
	var b strings.Builder
	fmt.Fprintf(&b, "lb %s %s %s %s sgs %v\n", aws.ToString(lb.LoadBalancerArn), aws.ToString(lb.DNSName), lb.Scheme, lb.IpAddressType, grpSortedSGs(lb))
	for _, l := range h.grpShape(aws.ToString(lb.LoadBalancerArn)) {
		b.WriteString(l + "\n")
	}
	for _, tg := range h.targetGroups() {
		for _, arn := range tg.LoadBalancerArns {
			if arn == aws.ToString(lb.LoadBalancerArn) {
				fmt.Fprintf(&b, "tg %s port %d\n", aws.ToString(tg.TargetGroupName), aws.ToInt32(tg.Port))
			}
		}
	}
	g, ok := h.sgByName(sgName)
	fmt.Fprintf(&b, "managed SG %v %s rules %v tags %v\n", ok, g.ID, ruleStrings(g.Rules), g.Tags)
	return b.String()
}

// A conflict in a group excludes its newer member only (the oldest member's setting wins):
// an Event on it naming both values, no AWS change for the group, whose other members stay
// Ready, the other group keeps working, and deleting members still works.
func TestALBConflictExcludesOnlyTheNewerMember(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	for i, n := range []string{"a1", "a2", "a3", "b1"} {
		h.create(backendService("svc-"+n, int32(30091+i), nil))
	}
	h.create(grpIngress("a1", "svc-a1", "/a1", map[string]string{ingGroup: "a", ingScheme: internetFacing}))
	h.create(grpIngress("a2", "svc-a2", "/a2", map[string]string{ingGroup: "a"}))
	h.create(grpIngress("b1", "svc-b1", "/b1", map[string]string{ingGroup: "b", ingScheme: internetFacing}))
	hostA := h.waitIngressHostname("a1")
	if h2 := h.waitIngressHostname("a2"); h2 != hostA {
		t.Fatalf("a2's hostname %s, a1's %s: one ALB per group", h2, hostA)
	}
	hostB := h.waitIngressHostname("b1")
	if hostA == hostB {
		t.Fatal("groups a and b share an ALB")
	}
	lbA, lbB := naming.IngressLBName(cluster, true, "", "a", internetFacing), naming.IngressLBName(cluster, true, "", "b", internetFacing)
	if got := aws.ToString(h.albByHostname(hostB).LoadBalancerName); got != lbB {
		t.Fatalf("group b's ALB is %s, want %s", got, lbB)
	}
	sgA, sgB := naming.IngressGroupSGName(cluster, "a"), naming.IngressGroupSGName(cluster, "b")
	if got := aws.ToString(h.albByHostname(hostA).LoadBalancerName); got != lbA {
		t.Fatalf("group a's ALB is %s, want %s", got, lbA)
	}
	bARN := aws.ToString(h.albByHostname(hostB).LoadBalancerArn)
	tgA1, tgA2, tgB1 := h.grpTGName("a", "a1", "svc-a1", 30091), h.grpTGName("a", "a2", "svc-a2", 30092), h.grpTGName("b", "b1", "svc-b1", 30094)
	h.grpWaitEq("group a's listeners", sorted(
		"HTTP:80 default fixed-response 404",
		"HTTP:80 #1 path-pattern=/a1,/a1/* -> forward "+tgA1,
		"HTTP:80 #2 path-pattern=/a2,/a2/* -> forward "+tgA2,
	), func() []string { return h.grpShape(aws.ToString(h.albByHostname(hostA).LoadBalancerArn)) })
	h.grpWaitEq("group b's listeners", sorted(
		"HTTP:80 default fixed-response 404",
		"HTTP:80 #1 path-pattern=/b1,/b1/* -> forward "+tgB1,
	), func() []string { return h.grpShape(bARN) })
	if r, ok := h.grpSGRules(sgB); !ok || !reflect.DeepEqual(r, []string{"tcp 80 from 0.0.0.0/0"}) {
		t.Fatalf("group b's managed SG %s: %v %v", sgB, ok, r)
	}
	h.quiesce()
	stateA := h.grpState(lbA, sgA)
	if !strings.Contains(stateA, "managed SG true") {
		t.Fatalf("group a has no managed SG %s:\n%s", sgA, stateA)
	}

	// a3 sets another scheme: it conflicts with a1, the oldest, and is excluded.
	nodeRules := lbsgRules(h.securityGroups()[h.world.NodeSGID])
	before := h.counts()
	h.create(grpIngress("a3", "svc-a3", "/a3", map[string]string{ingGroup: "a", ingScheme: "internal"}))
	h.grpWaitBuildEvent("a3", ingScheme, "internet-facing", "internal", "a1", "a3", "the newer, is excluded")
	h.grpWaitCondition("a3", "False InvalidConfiguration", ingScheme, "internet-facing", "internal", "not a member of Ingress group a")
	h.quiesce()
	for _, n := range []string{"a1", "a2"} {
		if c := ingressCondition(h.getIngress(n)); !strings.HasPrefix(c, "True") {
			t.Errorf("%s condition = %s, want True: the older members are served", n, c)
		}
		if ev := h.ingressEvents(n)["FailedBuildModel"]; len(ev) != 0 {
			t.Errorf("%s got FailedBuildModel events: %v", n, ev)
		}
	}
	if w := h.counts().Sub(before).Mutating(); len(w) != 0 {
		t.Errorf("AWS writes while group a is in conflict: %v", w)
	}
	// The node SG still serves group a's ALB with the same single merged rule.
	if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !reflect.DeepEqual(got, nodeRules) {
		t.Errorf("node SG lbsg rules changed while group a is in conflict: %v, were %v", got, nodeRules)
	}
	if got := h.grpState(lbA, sgA); got != stateA {
		t.Errorf("group a changed in AWS while in conflict:\n got  %s\n was  %s", got, stateA)
	}
	if ev := h.ingressEvents("b1")["FailedBuildModel"]; len(ev) != 0 {
		t.Errorf("group b got FailedBuildModel events: %v", ev)
	}

	// Group b keeps working: a new path becomes a new rule.
	prefix := networkingv1.PathTypePrefix
	h.grpUpdateIngress("b1", func(ing *networkingv1.Ingress) {
		ing.Spec.Rules[0].HTTP.Paths = append(ing.Spec.Rules[0].HTTP.Paths, networkingv1.HTTPIngressPath{Path: "/b1-new", PathType: &prefix,
			Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "svc-b1", Port: networkingv1.ServiceBackendPort{Number: 80}}}})
	})
	h.grpWaitEq("group b's new rule", sorted(
		"HTTP:80 default fixed-response 404",
		"HTTP:80 #1 path-pattern=/b1,/b1/* -> forward "+tgB1,
		"HTTP:80 #2 path-pattern=/b1-new,/b1-new/* -> forward "+tgB1,
	), func() []string { return h.grpShape(bARN) })
	h.grpWaitCondition("b1", "True")
	h.quiesce()
	if got := h.grpState(lbA, sgA); got != stateA {
		t.Errorf("group a changed in AWS while group b was updated:\n got  %s\n was  %s", got, stateA)
	}

	// A member can be deleted while another is excluded; the group drops what a2 used.
	h.grpDeleteIngress("a2")
	// The excluded member can be deleted too.
	h.grpDeleteIngress("a3")
	h.grpWaitCondition("a1", "True")
	h.grpWaitEq("group a's listeners after the conflict", sorted(
		"HTTP:80 default fixed-response 404",
		"HTTP:80 #1 path-pattern=/a1,/a1/* -> forward "+tgA1,
	), func() []string {
		lb := h.loadBalancer(lbA)
		if lb == nil {
			return []string{"no ALB " + lbA}
		}
		return h.grpShape(aws.ToString(lb.LoadBalancerArn))
	})
	if lb := h.loadBalancer(lbA); lb == nil || aws.ToString(lb.DNSName) != hostA {
		t.Errorf("group a's ALB was replaced: %+v", lb)
	}
	h.grpWaitEq("target groups after the conflict", sorted(tgA1, tgB1), h.grpTGNames)
	if r, ok := h.grpSGRules(sgA); !ok || !reflect.DeepEqual(r, []string{"tcp 80 from 0.0.0.0/0"}) {
		t.Errorf("group a's managed SG %s: %v %v", sgA, ok, r)
	}
	// Once the group builds again, the node SG holds one merged rule for a1 and b1.
	backend, _ := h.sgByName(wantBackendName(cluster))
	h.grpWaitEq("node SG rules after the conflict", []string{"tcp 30091-30094 from " + backend.ID},
		func() []string { return lbsgRules(h.securityGroups()[h.world.NodeSGID]) })
}

// Dualstack ALBs get ::/0 (or the IPv6 CIDRs) on every listen port; an IPv6 CIDR on an
// ipv4 ALB is an error and creates nothing.
func TestALBDualstack(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(backendService("dual", 30101, nil))
	h.create(backendService("dual-cidrs", 30102, nil))
	h.create(backendService("v6-on-v4", 30103, nil))
	h.create(grpIngress("dual", "dual", "/", map[string]string{ingScheme: internetFacing, ingIPType: "dualstack",
		ingListenPorts: `[{"HTTP":80},{"HTTP":8080}]`}))
	h.create(grpIngress("dual-cidrs", "dual-cidrs", "/", map[string]string{ingScheme: internetFacing, ingIPType: "dualstack",
		ingListenPorts: `[{"HTTP":80},{"HTTP":8080}]`, ingCIDRs: "10.1.0.0/16,2001:db8::/32"}))
	cases := []struct {
		name string
		want []string
	}{
		{"dual", sorted("tcp 80 from 0.0.0.0/0", "tcp 80 from ::/0", "tcp 8080 from 0.0.0.0/0", "tcp 8080 from ::/0")},
		{"dual-cidrs", sorted("tcp 80 from 10.1.0.0/16", "tcp 80 from 2001:db8::/32", "tcp 8080 from 10.1.0.0/16", "tcp 8080 from 2001:db8::/32")},
	}
	for _, c := range cases {
		host := h.waitIngressHostname(c.name)
		lb := h.albByHostname(host)
		if want := naming.IngressLBName(cluster, false, "default", c.name, internetFacing); aws.ToString(lb.LoadBalancerName) != want {
			t.Errorf("%s: ALB %s, want %s", c.name, aws.ToString(lb.LoadBalancerName), want)
		}
		if lb.IpAddressType != elbtypes.IpAddressTypeDualstack {
			t.Errorf("%s: ALB IpAddressType = %s, want dualstack", c.name, lb.IpAddressType)
		}
		sgName := naming.IngressSGName(cluster, "default", c.name)
		h.grpWaitEq(c.name+"'s managed SG rules", c.want, func() []string { r, _ := h.grpSGRules(sgName); return r })
		m, _ := h.sgByName(sgName)
		b, _ := h.sgByName(wantBackendName(cluster))
		if got, want := grpSortedSGs(lb), sorted(m.ID, b.ID); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: ALB SGs = %v, want %v", c.name, got, want)
		}
	}
	h.quiesce()

	// An IPv6 CIDR on an ipv4 ALB: an Event and a condition naming the key and the value.
	lbsBefore := len(h.loadBalancers())
	before := h.counts()
	h.create(grpIngress("v6-on-v4", "v6-on-v4", "/", map[string]string{ingScheme: internetFacing,
		ingCIDRs: "10.0.0.0/8,2001:db8::/32"}))
	h.grpWaitBuildEvent("v6-on-v4", ingCIDRs, "2001:db8::/32", "dualstack")
	h.grpWaitCondition("v6-on-v4", "False InvalidConfiguration", ingCIDRs, "2001:db8::/32", "fix:")
	h.quiesce()
	if w := h.counts().Sub(before).Mutating(); len(w) != 0 {
		t.Errorf("AWS writes for an invalid Ingress: %v", w)
	}
	if lb := h.loadBalancer(naming.IngressLBName(cluster, false, "default", "v6-on-v4", internetFacing)); lb != nil || len(h.loadBalancers()) != lbsBefore {
		t.Errorf("a load balancer was created for the invalid Ingress")
	}
	for _, g := range h.securityGroups() {
		if g.Tags["ingress.k8s.aws/stack"] == "default/v6-on-v4" {
			t.Errorf("security group %s created for the invalid Ingress", g.Name)
		}
	}
	if ing := h.getIngress("v6-on-v4"); len(ing.Status.LoadBalancer.Ingress) != 0 {
		t.Errorf("invalid Ingress has a status: %+v", ing.Status.LoadBalancer)
	}
}

// IngressClassParams override the Ingress annotations (CIDRs, scheme, tags); a class naming
// a missing IngressClassParams is reported and creates nothing.
func TestALBClassParams(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(backendService("orphan", 30111, nil))
	h.create(backendService("classy", 30112, nil))

	// A class naming IngressClassParams that do not exist.
	h.ensureIngressClass("alb-missing", "nope")
	before := h.counts()
	orphan := grpIngress("orphan", "orphan", "/", map[string]string{ingScheme: internetFacing})
	orphan.Spec.IngressClassName = aws.String("alb-missing")
	h.create(orphan)
	h.grpWaitBuildEvent("orphan", "spec.ingressClassName", "alb-missing", "nope")
	h.grpWaitCondition("orphan", "False InvalidConfiguration", "spec.ingressClassName", "alb-missing", "nope")
	h.quiesce()
	if w := h.counts().Sub(before).Mutating(); len(w) != 0 {
		t.Errorf("AWS writes for an Ingress whose IngressClassParams are missing: %v", w)
	}
	if lbs := h.loadBalancers(); len(lbs) != 0 {
		t.Errorf("%d load balancers created", len(lbs))
	}
	if tgs := h.targetGroups(); len(tgs) != 0 {
		t.Errorf("%d target groups created", len(tgs))
	}
	for _, g := range h.securityGroups() {
		if g.Tags["elbv2.k8s.aws/cluster"] != "" {
			t.Errorf("security group %s created", g.Name)
		}
	}

	// A class with IngressClassParams: its CIDRs, scheme and tags win over the annotations.
	params := &elbv2api.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: "restricted"},
		Spec: elbv2api.IngressClassParamsSpec{
			Scheme:       aws.String(elbv2api.SchemeInternetFacing),
			InboundCIDRs: []string{"203.0.113.0/24", "198.51.100.0/24"},
			Tags:         []elbv2api.Tag{{Key: "team", Value: "platform"}, {Key: "cost-center", Value: "42"}},
		}}
	h.create(params)
	h.ensureIngressClass("alb-params", "restricted")
	classy := grpIngress("classy", "classy", "/", map[string]string{ingScheme: "internal",
		ingCIDRs: "10.0.0.0/8", ingTags: "team=other,env=dev"})
	classy.Spec.IngressClassName = aws.String("alb-params")
	h.create(classy)
	host := h.waitIngressHostname("classy")
	lb := h.albByHostname(host)
	if want := naming.IngressLBName(cluster, false, "default", "classy", internetFacing); aws.ToString(lb.LoadBalancerName) != want || lb.Scheme != internetFacing {
		t.Errorf("ALB %s %s, want %s internet-facing (the class's scheme)", aws.ToString(lb.LoadBalancerName), lb.Scheme, want)
	}
	sgName := naming.IngressSGName(cluster, "default", "classy")
	h.grpWaitEq("managed SG rules from the class's CIDRs", sorted("tcp 80 from 203.0.113.0/24", "tcp 80 from 198.51.100.0/24"),
		func() []string { r, _ := h.grpSGRules(sgName); return r })
	m, _ := h.sgByName(sgName)
	if want := map[string]string{"elbv2.k8s.aws/cluster": cluster, "ingress.k8s.aws/stack": "default/classy",
		"ingress.k8s.aws/resource": "ManagedLBSecurityGroup", "team": "platform", "cost-center": "42", "env": "dev"}; !reflect.DeepEqual(m.Tags, want) {
		t.Errorf("managed SG tags = %v, want %v", m.Tags, want)
	}
	if tags := h.elbTags(aws.ToString(lb.LoadBalancerArn)); tags["team"] != "platform" || tags["cost-center"] != "42" {
		t.Errorf("ALB tags = %v, want the class's tags", tags)
	}
	// The orphan is still reported, untouched by the other class's success.
	if c := ingressCondition(h.getIngress("orphan")); !strings.HasPrefix(c, "False InvalidConfiguration") {
		t.Errorf("orphan's condition = %s", c)
	}
}

// An ALB (managed SG, HTTPS listener) and an NLB share the backend SG; deleting both leaves
// no lbsg SG, node rule, target group or load balancer.
func TestALBDeletionLeavesNothing(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	cert := h.certificate("front.example.com")
	h.create(backendService("front", 30121, nil))
	h.create(grpIngress("front", "front", "/", map[string]string{ingScheme: internetFacing,
		ingListenPorts: `[{"HTTPS":443}]`, ingCertARN: cert}))
	h.create(webserver("web", nil))
	host := h.waitIngressHostname("front")
	h.waitHostname("web")
	alb := h.albByHostname(host)
	sgName := naming.IngressSGName(cluster, "default", "front")
	h.grpWaitEq("ALB managed SG rules", []string{"tcp 443 from 0.0.0.0/0"}, func() []string { r, _ := h.grpSGRules(sgName); return r })
	m, _ := h.sgByName(sgName)
	b, ok := h.sgByName(wantBackendName(cluster))
	if !ok {
		t.Fatal("no backend SG")
	}
	if got, want := grpSortedSGs(alb), sorted(m.ID, b.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("ALB SGs = %v, want %v", got, want)
	}
	if got := h.lbSGs("web"); len(got) != 2 || (got[0] != b.ID && got[1] != b.ID) {
		t.Errorf("NLB SGs = %v, want its managed SG and the backend SG %s", got, b.ID)
	}
	tgFront := h.grpTGName("default/front", "front", "front", 30121)
	h.grpWaitEq("HTTPS listener", sorted(
		"HTTPS:443 default fixed-response 404",
		"HTTPS:443 cert "+cert,
		"HTTPS:443 #1 path-pattern=/* -> forward "+tgFront,
	), func() []string { return h.grpShape(aws.ToString(alb.LoadBalancerArn)) })
	np := h.service("web").Spec.Ports[0].NodePort
	lo, hi := np, int32(30121)
	if lo > hi {
		lo, hi = hi, lo
	}
	h.grpWaitEq("one merged node rule", []string{fmt.Sprintf("tcp %d-%d from %s", lo, hi, b.ID)},
		func() []string { return lbsgRules(h.securityGroups()[h.world.NodeSGID]) })

	if err := h.k8s.Delete(h.ctx, h.getIngress("front")); err != nil {
		t.Fatal(err)
	}
	if err := h.k8s.Delete(h.ctx, h.service("web")); err != nil {
		t.Fatal(err)
	}
	h.waitNothingLeft()
	h.eventually("Ingress and Service gone", 30*time.Second, func() string {
		if err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: "front"}, &networkingv1.Ingress{}); !apierrors.IsNotFound(err) {
			return fmt.Sprintf("ingress front: %v", err)
		}
		if err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: "web"}, &corev1.Service{}); !apierrors.IsNotFound(err) {
			return fmt.Sprintf("service web: %v", err)
		}
		return ""
	})
}
