package readiness

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func pod(gates []string, conds map[corev1.PodConditionType]corev1.ConditionStatus, deleting bool) *corev1.Pod {
	p := &corev1.Pod{}
	for _, g := range gates {
		p.Spec.ReadinessGates = append(p.Spec.ReadinessGates, corev1.PodReadinessGate{ConditionType: ConditionType(g)})
	}
	for t, s := range conds {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: t, Status: s})
	}
	if deleting {
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	return p
}

func TestRegistrableAndPending(t *testing.T) {
	ready := map[corev1.PodConditionType]corev1.ConditionStatus{corev1.ContainersReady: corev1.ConditionTrue}
	cases := []struct {
		name                 string
		pod                  *corev1.Pod
		registrable, pending bool
	}{
		{"gate, containers ready", pod([]string{"tg"}, ready, false), true, true},
		{"gate of another group", pod([]string{"other"}, ready, false), false, false},
		{"gate, containers not ready", pod([]string{"tg"}, map[corev1.PodConditionType]corev1.ConditionStatus{corev1.ContainersReady: corev1.ConditionFalse}, false), false, true},
		{"gate, no conditions yet", pod([]string{"tg"}, nil, false), false, true},
		{"gate, terminating", pod([]string{"tg"}, ready, true), false, false},
		{"no gate", pod(nil, ready, false), false, false},
		{"gate already true", pod([]string{"tg"}, map[corev1.PodConditionType]corev1.ConditionStatus{
			corev1.ContainersReady: corev1.ConditionTrue, ConditionType("tg"): corev1.ConditionTrue}, false), true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Registrable(c.pod, "tg"); got != c.registrable {
				t.Errorf("Registrable = %v, want %v", got, c.registrable)
			}
			if got := Pending(c.pod, "tg"); got != c.pending {
				t.Errorf("Pending = %v, want %v", got, c.pending)
			}
		})
	}
}

func TestConditionFollowsTargetHealth(t *testing.T) {
	cases := []struct {
		name           string
		h              *Health
		status         corev1.ConditionStatus
		reason, msgHas string
	}{
		{"not registered", nil, corev1.ConditionFalse, "Target.NotRegistered", "not a target of tg"},
		{"healthy", &Health{State: "healthy"}, corev1.ConditionTrue, "Healthy", "healthy in tg"},
		{"initial", &Health{State: "initial", Reason: "Elb.RegistrationInProgress", Description: "Target registration is in progress"},
			corev1.ConditionFalse, "Elb.RegistrationInProgress", "registration is in progress"},
		{"unhealthy", &Health{State: "unhealthy", Reason: "Target.Timeout", Description: "Request timed out"},
			corev1.ConditionFalse, "Target.Timeout", "timed out"},
		{"unused, no reason", &Health{State: "unused"}, corev1.ConditionFalse, "Target.unused", "target state unused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Condition("tg", c.h)
			if got.Type != "target-health.elbv2.k8s.aws/tg" || got.Status != c.status || got.Reason != c.reason {
				t.Errorf("Condition = %+v", got)
			}
			if c.msgHas != "" && !strings.Contains(got.Message, c.msgHas) {
				t.Errorf("message %q lacks %q", got.Message, c.msgHas)
			}
		})
	}
}

func TestChangedIgnoresTransitionTime(t *testing.T) {
	p := pod([]string{"tg"}, nil, false)
	want := Condition("tg", &Health{State: "healthy"})
	if !Changed(p, want) {
		t.Error("a missing condition must be written")
	}
	c := want
	c.LastTransitionTime = metav1.Now()
	p.Status.Conditions = append(p.Status.Conditions, c)
	if Changed(p, want) {
		t.Error("same status, reason and message: nothing to write")
	}
	if !Changed(p, Condition("tg", &Health{State: "unhealthy", Reason: "Target.Timeout"})) {
		t.Error("a new status must be written")
	}
}

func TestMissingAddsEachGateOnceSorted(t *testing.T) {
	p := pod([]string{"b"}, nil, false)
	got := Missing(p, []string{"c", "b", "a", "c"})
	if len(got) != 2 || got[0].ConditionType != ConditionType("a") || got[1].ConditionType != ConditionType("c") {
		t.Errorf("Missing = %v", got)
	}
	if HasAnyGate(pod(nil, nil, false)) || !HasAnyGate(p) {
		t.Error("HasAnyGate")
	}
}

func TestNextPollDoublesToTheCapAndStartsOverOnAChange(t *testing.T) {
	for _, c := range []struct {
		last    time.Duration
		changed bool
		want    time.Duration
	}{
		{0, false, PollFirst},
		{0, true, PollFirst},
		{PollFirst, false, 2 * PollFirst},
		{160 * time.Second, false, PollMax},
		{PollMax, false, PollMax},
		{PollMax, true, PollFirst},
	} {
		if got := NextPoll(c.last, c.changed); got != c.want {
			t.Errorf("NextPoll(%v, %t) = %v, want %v", c.last, c.changed, got, c.want)
		}
	}
}
