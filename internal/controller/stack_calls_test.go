package controller

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/lbsg/lbsg/internal/spec"
)

func TestNLBServiceCallCountsBaseline(t *testing.T) {
	w := newStackWorld(t)
	w.create(nlbService("web"))
	w.calls()
	w.reconcileService("web")
	t.Logf("create: %s", describeCalls(w.calls()))
	w.reconcileService("web")
	t.Logf("second: %s", describeCalls(w.calls()))
	w.annotateService("web", "example.com/team", "blue")
	w.reconcileService("web")
	t.Logf("annotation: %s", describeCalls(w.calls()))
	w.deleteService("web")
	w.reconcileService("web")
	t.Logf("delete: %s", describeCalls(w.calls()))
	t.Logf("lbs: %v", w.elbv.LoadBalancerNames())
}

func TestALBCallCountsBaseline(t *testing.T) {
	w := newStackWorld(t)
	w.create(w.albIngress("shop", ""))
	id := spec.IngressGroupID{Namespace: "shop", Name: "shop"}
	w.calls()
	w.reconcileGroup(id)
	t.Logf("create: %s", describeCalls(w.calls()))
	w.reconcileGroup(id)
	t.Logf("second: %s", describeCalls(w.calls()))
	ing := &networkingv1.Ingress{}
	if err := w.kube.Get(w.ctx, types.NamespacedName{Namespace: "shop", Name: "shop"}, ing); err != nil {
		t.Fatal(err)
	}
	if err := w.kube.Delete(w.ctx, ing); err != nil {
		t.Fatal(err)
	}
	w.reconcileGroup(id)
	t.Logf("delete: %s", describeCalls(w.calls()))
}

func TestGroupCallCountsBaseline(t *testing.T) {
	w := newStackWorld(t)
	for _, n := range []string{"a", "b", "c"} {
		w.create(w.albIngress(n, "team"))
	}
	id := spec.IngressGroupID{Name: "team"}
	w.calls()
	w.reconcileGroup(id)
	t.Logf("create: %s", describeCalls(w.calls()))
	w.reconcileGroup(id)
	t.Logf("second: %s", describeCalls(w.calls()))
}
