package controller

import (
	"testing"
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
