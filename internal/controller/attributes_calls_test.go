package controller

import (
	"fmt"
	"testing"
)

// TestAttributeCallsOnlyForStacksThatSetThem: a Service that sets attributes costs one
// write per resource when created and nothing on the next reconciles (the writes went
// through the cache); Services that set none cost no attribute call at all, however many
// there are.
func TestAttributeCallsOnlyForStacksThatSetThem(t *testing.T) {
	w := newStackWorld(t)
	for i := range 3 {
		name := fmt.Sprintf("other-%d", i)
		w.create(nlbService(name))
		w.reconcileService(name)
	}
	svc := nlbService("web")
	svc.Annotations = map[string]string{
		"service.beta.kubernetes.io/aws-load-balancer-attributes":                 "load_balancing.cross_zone.enabled=true",
		"service.beta.kubernetes.io/aws-load-balancer-proxy-protocol":             "*",
		"service.beta.kubernetes.io/aws-load-balancer-listener-attributes.TCP-80": "tcp.idle_timeout.seconds=400",
	}
	w.create(svc)
	w.calls()
	w.reconcileService("web")
	got := w.calls()
	for _, k := range []string{"ModifyLoadBalancerAttributes", "ModifyTargetGroupAttributes", "ModifyListenerAttributes"} {
		if got[k] != 1 {
			t.Errorf("create: %s called %d times, want 1 (%s)", k, got[k], describeCalls(got))
		}
	}
	for _, k := range []string{"DescribeLoadBalancerAttributes", "DescribeTargetGroupAttributes", "DescribeListenerAttributes"} {
		if got[k] != 0 {
			t.Errorf("create: %s called %d times: new resources have nothing to read (%s)", k, got[k], describeCalls(got))
		}
	}
	w.reconcileService("web")
	assertCalls(t, "the reconcile after the create", nil, w.calls())
	w.annotateService("web", "service.beta.kubernetes.io/aws-load-balancer-attributes", "load_balancing.cross_zone.enabled=false")
	w.reconcileService("web")
	assertCalls(t, "a changed attribute", map[string]int{"ModifyLoadBalancerAttributes": 1}, w.calls())
	w.reconcileService("web")
	assertCalls(t, "a reconcile in step", nil, w.calls())
	w.annotateService("other-1", "example.com/team", "blue")
	w.reconcileService("other-1")
	assertCalls(t, "another Service's reconcile", nil, w.calls())
}
