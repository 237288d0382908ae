package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
)

// startSecondController runs another lbsg process against the same cluster and emulator,
// with its own caches, as a second replica with leader election off would. It is stopped
// when the test ends.
func (h *harness) startSecondController() {
	h.t.Helper()
	cfg := h.controllerConfig()
	ctx, cancel := context.WithCancel(h.ctx)
	started, done := make(chan struct{}), make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, app.RunOptions{RestConfig: plane.Config, SkipNameValidation: true, Registry: prometheus.NewRegistry(),
			Started: func(*controller.Engine, *cloud.Clients) { close(started) }})
	}()
	h.t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			h.t.Error("second controller did not stop within 30s")
		}
	})
	select {
	case <-started:
	case err := <-done:
		h.t.Fatalf("second controller did not start: %v", err)
	case <-time.After(30 * time.Second):
		h.t.Fatal("second controller did not start within 30s")
	}
}

// stackResources counts the load balancers and target groups tagged for a Service's stack,
// and the managed SGs.
func (h *harness) stackResources(name string) (lbs, tgs, sgs []string) {
	stack := "default/" + name
	for _, lb := range h.loadBalancers() {
		if h.elbTags(aws.ToString(lb.LoadBalancerArn))["service.k8s.aws/stack"] == stack {
			lbs = append(lbs, aws.ToString(lb.LoadBalancerName))
		}
	}
	for _, tg := range h.targetGroups() {
		if h.elbTags(aws.ToString(tg.TargetGroupArn))["service.k8s.aws/stack"] == stack {
			tgs = append(tgs, aws.ToString(tg.TargetGroupName))
		}
	}
	for _, g := range h.securityGroups() {
		if g.Tags["service.k8s.aws/stack"] == stack {
			sgs = append(sgs, g.ID)
		}
	}
	return lbs, tgs, sgs
}

// A Service gets exactly one NLB, one target group per port and one managed SG, even when
// its first reconciles come in a storm of edits and two lbsg processes reconcile it at
// once (leader election off).
func TestDuplicateLoadBalancerReconcileStormAndSecondControllerMakeOne(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.startSecondController()
	h.create(webserver("dup", nil))
	// Edits that change nothing lbsg models, as fast as the apiserver takes them: every one
	// is a reconcile of the same stack while the first creates are in flight.
	for i := range 20 {
		h.patchAnnotations("dup", map[string]string{"example.com/touch": fmt.Sprint(i)})
	}
	h.waitHostname("dup")
	h.quiesce()
	// Let the resyncs of both processes run over the settled stack too.
	time.Sleep(5 * time.Second)
	lbs, tgs, sgs := h.stackResources("dup")
	if len(lbs) != 1 || len(tgs) != 1 || len(sgs) != 1 {
		t.Errorf("stack of default/dup has load balancers %v, target groups %v, managed SGs %v; want exactly one of each",
			lbs, tgs, sgs)
	}
	for _, e := range h.events("dup")["FailedDeployModel"] {
		if strings.Contains(e, "already exists") {
			t.Errorf("a create collided instead of adopting: %s", e)
		}
	}
	if err := h.k8s.Delete(h.ctx, h.service("dup")); err != nil {
		t.Fatal(err)
	}
	h.waitNothingLeft()
}
