package controller

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/lbsg/lbsg/internal/spec"
)

// The AWS calls of the stack path (a Service's NLB, an Ingress group's ALB) per action,
// on the in-memory fakes. The target-SG pass is not run here: these are the calls of the
// Service and Ingress-group reconcilers alone. Counts are deterministic.

// nlbCreateCalls: the writes (managed SG with its client rule, backend SG, target group,
// NLB, listener, targets), one read of each inventory, one search of the cluster's SGs,
// the subnets, and the by-name lookup that keeps a second NLB from being created.
var nlbCreateCalls = map[string]int{
	"CreateSecurityGroup": 2, "AuthorizeSecurityGroupIngress": 1, "CreateTargetGroup": 1, "CreateLoadBalancer": 1,
	"CreateListener": 1, "RegisterTargets": 1,
	"DescribeSecurityGroups": 1, "DescribeLoadBalancers": 2, "DescribeTargetGroups": 1, "DescribeSubnets": 1,
}

// stackDeleteCalls: the deletes and the fresh search for rules that refer to the managed
// SG (lbsg's are revoked first; any other would be named on the deletion). Nothing is
// asked before the SG deletion itself: AWS refuses it while something still uses the SG.
var stackDeleteCalls = map[string]int{
	"DeleteLoadBalancer": 1, "DeleteTargetGroup": 1, "DeleteSecurityGroup": 1,
	"DescribeSecurityGroups": 1,
}

func assertCalls(t *testing.T, what string, want map[string]int, got map[string]int) {
	t.Helper()
	if want == nil {
		want = map[string]int{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AWS calls of %s (-want +got):\n%s", what, diff)
	}
}

// TestNLBServiceReconcileCallCounts: creating a Service's NLB costs its writes and one
// read of each kind; the reconciles its own finalizer and status updates trigger, and a
// change of an annotation lbsg does not read, cost nothing (lbsg's writes were written
// through the caches); deleting it costs its deletes and the search for rules that refer to its SG.
func TestNLBServiceReconcileCallCounts(t *testing.T) {
	w := newStackWorld(t)
	w.create(nlbService("web"))
	w.calls()
	w.reconcileService("web")
	assertCalls(t, "create", nlbCreateCalls, w.calls())
	if svc := w.service("web"); len(svc.Status.LoadBalancer.Ingress) != 1 {
		t.Fatalf("status = %+v, want the NLB's hostname", svc.Status.LoadBalancer)
	}
	w.reconcileService("web") // after the finalizer and status updates
	assertCalls(t, "the reconcile after the create", nil, w.calls())
	w.annotateService("web", "example.com/team", "blue")
	w.reconcileService("web")
	assertCalls(t, "an unrelated annotation change", nil, w.calls())
	w.deleteService("web")
	w.reconcileService("web")
	assertCalls(t, "delete", stackDeleteCalls, w.calls())
	if lbs := w.elbv.LoadBalancerNames(); len(lbs) != 0 {
		t.Errorf("load balancers left: %v", lbs)
	}
}

// TestALBIngressTwoPortsReconcileCallCounts: an ALB with two HTTP listen ports and one
// path rule on each.
func TestALBIngressTwoPortsReconcileCallCounts(t *testing.T) {
	w := newStackWorld(t)
	w.create(w.albIngress("shop", ""))
	id := spec.IngressGroupID{Namespace: "shop", Name: "shop"}
	w.calls()
	w.reconcileGroup(id)
	assertCalls(t, "create", map[string]int{
		"CreateSecurityGroup": 2, "AuthorizeSecurityGroupIngress": 1, "CreateTargetGroup": 1, "CreateLoadBalancer": 1,
		"CreateListener": 2, "CreateRule": 2, "RegisterTargets": 1,
		"DescribeSecurityGroups": 1, "DescribeLoadBalancers": 2, "DescribeTargetGroups": 1, "DescribeSubnets": 1,
	}, w.calls())
	w.reconcileGroup(id)
	assertCalls(t, "the reconcile after the create", nil, w.calls())
	w.deleteIngress("shop")
	w.reconcileGroup(id)
	assertCalls(t, "delete", stackDeleteCalls, w.calls())
}

// TestIngressGroupOfThreeReconcileCallCounts: three Ingresses in one explicit group, one
// ALB: the reads are those of one stack.
func TestIngressGroupOfThreeReconcileCallCounts(t *testing.T) {
	w := newStackWorld(t)
	for _, n := range []string{"a", "b", "c"} {
		w.create(w.albIngress(n, "team"))
	}
	id := spec.IngressGroupID{Name: "team"}
	w.calls()
	w.reconcileGroup(id)
	assertCalls(t, "create", map[string]int{
		"CreateSecurityGroup": 2, "AuthorizeSecurityGroupIngress": 1, "CreateTargetGroup": 3, "CreateLoadBalancer": 1,
		"CreateListener": 2, "CreateRule": 6, "RegisterTargets": 3,
		"DescribeSecurityGroups": 1, "DescribeLoadBalancers": 2, "DescribeTargetGroups": 1, "DescribeSubnets": 1,
	}, w.calls())
	w.reconcileGroup(id)
	assertCalls(t, "the reconcile after the create", nil, w.calls())
}

// TestStackCallsFlatInOtherStacks: with N other Services provisioned, creating,
// re-reconciling and deleting one more costs the same calls whatever N: the reads of the
// inventories and of the cluster's SGs are shared (the other stacks' reconciles made them,
// and lbsg's writes keep them current), and nothing is read per other stack.
func TestStackCallsFlatInOtherStacks(t *testing.T) {
	var first map[string]map[string]int
	for _, n := range []int{1, 4, 30} {
		w := newStackWorld(t)
		for i := range n {
			name := fmt.Sprintf("other-%d", i)
			w.create(nlbService(name))
			w.reconcileService(name)
		}
		w.create(nlbService("web"))
		w.calls()
		got := map[string]map[string]int{}
		w.reconcileService("web")
		got["create"] = w.calls()
		w.reconcileService("web")
		got["no-op"] = w.calls()
		w.deleteService("web")
		w.reconcileService("web")
		got["delete"] = w.calls()
		if first == nil {
			first = got
			t.Logf("calls of one Service among others: %v", got)
			continue
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("with %d other Services, the calls of one Service differ from those with 1 (-want +got):\n%s", n, diff)
		}
	}
}

func cloneCalls(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (w *stackWorld) deleteIngress(name string) {
	w.t.Helper()
	ing := &networkingv1.Ingress{}
	if err := w.kube.Get(w.ctx, types.NamespacedName{Namespace: "shop", Name: name}, ing); err != nil {
		w.t.Fatal(err)
	}
	if err := w.kube.Delete(w.ctx, ing); err != nil {
		w.t.Fatal(err)
	}
}
