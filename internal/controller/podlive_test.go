package controller

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbsg/lbsg/internal/readiness"
)

// The readiness gates agree with target selection: a Pod whose gate lbsg writes, or that
// it registers before it is Ready, is a live Pod; a finished Pod, or one past its grace,
// is neither, so its gate is not read for ever.
func TestReadinessGatesFollowTheLivenessRule(t *testing.T) {
	now := time.Now()
	gated := func(phase corev1.PodPhase, deleted *time.Time) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web"},
			Spec: corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{{ConditionType: readiness.ConditionType("tg")}}},
			Status: corev1.PodStatus{Phase: phase, PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}},
				Conditions: []corev1.PodCondition{{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}}}}
		if deleted != nil {
			p.DeletionTimestamp = &metav1.Time{Time: *deleted}
		}
		return p
	}
	past := now.Add(-time.Minute)
	noIP := gated(corev1.PodPending, nil)
	noIP.Status.PodIPs = nil
	for _, tc := range []struct {
		name                 string
		pod                  *corev1.Pod
		registrable, pending bool
	}{
		{"running", gated(corev1.PodRunning, nil), true, true},
		{"pending with its IP", gated(corev1.PodPending, nil), true, true},
		{"pending without an IP", noIP, false, false},
		{"succeeded", gated(corev1.PodSucceeded, nil), false, false},
		{"failed", gated(corev1.PodFailed, nil), false, false},
		{"past its grace", gated(corev1.PodRunning, &past), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := gateRegistrable(tc.pod, "tg", now); got != tc.registrable {
				t.Errorf("gateRegistrable = %t, want %t", got, tc.registrable)
			}
			if got := gatePending(tc.pod, "tg", now); got != tc.pending {
				t.Errorf("gatePending = %t, want %t", got, tc.pending)
			}
			if gateRegistrable(tc.pod, "tg", now) && !liveTarget(tc.pod, now) {
				t.Error("a registrable Pod must be a live target")
			}
		})
	}
}
