package controller

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// gateBackoffWorld is an ip-target Service whose n gated Pods, containers ready, never
// become healthy, on a fake clock that the test moves.
type gateBackoffWorld struct {
	*stackWorld
	gateName string
	now      time.Time
	ips      []string
}

func newGateBackoffWorld(t *testing.T, n int) *gateBackoffWorld {
	w := &gateBackoffWorld{stackWorld: gatedWorld(t), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	w.eng.polls().now = func() time.Time { return w.now }
	svc := ipService("web", map[string]string{"app": "web"})
	w.create(svc)
	w.gateName = tgNames(t, w.eng, svc)[0]
	notReady := false
	port := int32(80)
	name := "http"
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "shop", Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
	}
	for i := 0; i < n; i++ {
		pod, ip := fmt.Sprintf("web-%d", i), fmt.Sprintf("10.0.0.%d", 10+i)
		w.gatedPod(pod, ip, w.gateName, true)
		w.elbv.SetTargetHealth(ip, elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumUnhealthy,
			Reason: elbtypes.TargetHealthReasonEnumFailedHealthChecks, Description: aws.String("Health checks failed")})
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: pod}, Conditions: discoveryv1.EndpointConditions{Ready: &notReady}})
		w.ips = append(w.ips, ip)
	}
	w.create(slice)
	return w
}

// run reconciles the Service whenever it asked to be, from now for d of simulated time, and
// returns the delays it asked for and the DescribeTargetHealth calls it made.
func (w *gateBackoffWorld) run(d time.Duration) (delays []time.Duration, reads int) {
	w.t.Helper()
	end := w.now.Add(d)
	w.calls()
	for w.now.Before(end) {
		res := w.reconcileService("web")
		if res.RequeueAfter <= 0 {
			w.t.Fatalf("at %s: no recheck while Pods wait", w.now.Format(time.TimeOnly))
		}
		delays = append(delays, res.RequeueAfter)
		w.now = w.now.Add(res.RequeueAfter)
	}
	return delays, w.calls()["DescribeTargetHealth"]
}

func seconds(ds []time.Duration) []int {
	out := make([]int, len(ds))
	for i, d := range ds {
		out[i] = int(d / time.Second)
	}
	return out
}

// Issue 15 §1.13: gates that never turn healthy polled DescribeTargetHealth every 10 s
// forever. The recheck now doubles from 10 s to 5 min: over 30 minutes the target group's
// health is read 10 times, not 180, and the count is the same for 1 or 12 Pods waiting on
// the group: one read per group and poll, never one per Pod.
func TestReadinessGatePollingBacksOffAndDoesNotGrowWithPods(t *testing.T) {
	var first []int
	for _, n := range []int{1, 12} {
		w := newGateBackoffWorld(t, n)
		delays, reads := w.run(30 * time.Minute)
		want := []int{10, 20, 40, 80, 160, 300, 300, 300, 300, 300}
		if got := seconds(delays); !reflect.DeepEqual(got, want) {
			t.Errorf("%d Pods: rechecks = %v s, want %v s", n, got, want)
		}
		if reads != len(want) {
			t.Errorf("%d Pods: %d DescribeTargetHealth calls over 30 minutes, want %d (one per recheck)", n, reads, len(want))
		}
		if got := w.gate("web-0", w.gateName); got != "False Target.FailedHealthChecks" {
			t.Errorf("%d Pods: gate of web-0 = %q", n, got)
		}
		if first == nil {
			first = []int{reads}
		} else if reads != first[0] {
			t.Errorf("reads grow with the Pods waiting on one group: %d for 1 Pod, %d for %d", first[0], reads, n)
		}
	}
}

// A reconcile for another reason between two reads reads nothing and keeps the schedule;
// a change of the waiting Pods is read at once; a change of target health starts the
// backoff over at 10 s.
func TestReadinessGateBackoffResetsWhenHealthOrPodsChange(t *testing.T) {
	w := newGateBackoffWorld(t, 2)
	if delays, _ := w.run(10 * time.Minute); delays[len(delays)-1] != GateRecheckMax {
		t.Fatalf("rechecks %v s never reached the cap", seconds(delays))
	}

	// Something else (an annotation, an EndpointSlice) brings the Service back early.
	w.now = w.now.Add(-GateRecheckMax / 2)
	w.calls()
	res := w.reconcileService("web")
	if n := w.calls()["DescribeTargetHealth"]; n != 0 {
		t.Errorf("a reconcile before the read is due read target health %d times", n)
	}
	if res.RequeueAfter != GateRecheckMax/2 {
		t.Errorf("early reconcile asked to come back in %v, want the rest of the delay, %v", res.RequeueAfter, GateRecheckMax/2)
	}

	// The target's health changes: the read that sees it starts over.
	w.now = w.now.Add(GateRecheckMax / 2)
	w.elbv.SetTargetHealth(w.ips[0], elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumInitial,
		Reason: elbtypes.TargetHealthReasonEnumRegistrationInProgress})
	res = w.reconcileService("web")
	if res.RequeueAfter != GateRecheck {
		t.Errorf("after a health change: recheck in %v, want %v", res.RequeueAfter, GateRecheck)
	}
	if got := w.gate("web-0", w.gateName); got != "False Elb.RegistrationInProgress" {
		t.Errorf("gate of web-0 = %q", got)
	}
	w.now = w.now.Add(GateRecheck)
	if res = w.reconcileService("web"); res.RequeueAfter != 2*GateRecheck {
		t.Errorf("no change since: recheck in %v, want %v", res.RequeueAfter, 2*GateRecheck)
	}

	// A new Pod waits on the gate: read at once, although the next read is not due.
	w.now = w.now.Add(time.Second)
	w.gatedPod("web-new", "10.0.0.99", w.gateName, true)
	w.calls()
	if res = w.reconcileService("web"); res.RequeueAfter != GateRecheck {
		t.Errorf("a new Pod waiting: recheck in %v, want %v", res.RequeueAfter, GateRecheck)
	}
	if n := w.calls()["DescribeTargetHealth"]; n != 1 {
		t.Errorf("a new Pod waiting: %d DescribeTargetHealth calls, want 1", n)
	}

	// The new Pod goes (it was in no EndpointSlice) and every target is healthy: no Pod
	// waits, the group is forgotten, nothing is read.
	if err := w.kube.Delete(w.ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-new"}}); err != nil {
		t.Fatal(err)
	}
	for _, ip := range w.ips {
		w.elbv.SetTargetHealth(ip, elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumHealthy})
	}
	w.now = w.now.Add(GateRecheck)
	if res = w.reconcileService("web"); res.RequeueAfter != 0 {
		t.Errorf("every gate True: recheck in %v, want none", res.RequeueAfter)
	}
	w.calls()
	w.reconcileService("web")
	if n := w.calls()["DescribeTargetHealth"]; n != 0 {
		t.Errorf("no Pod waiting: %d DescribeTargetHealth calls", n)
	}
	if n := len(w.eng.polls().groups); n != 0 {
		t.Errorf("%d groups remembered with no Pod waiting", n)
	}
}
