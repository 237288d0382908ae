// Package readiness holds the rules of pod readiness gates, as upstream defines them: which
// Pods get a target-health gate, when a Pod that is not yet Ready is registered anyway (its
// gate waits for the target to be healthy, so it must be a target before it is Ready), and
// what the gate's condition says for a target's health. It is pure: no I/O.
package readiness

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

const (
	// GatePrefix starts the condition type of every target-health readiness gate; the rest
	// is the name of the target group lbsg manages, or of the TargetGroupBinding.
	GatePrefix = "target-health.elbv2.k8s.aws/"
	// InjectLabel on a namespace, with the value InjectEnabled, makes the webhook add gates
	// to the Pods created in it.
	InjectLabel   = "elbv2.k8s.aws/pod-readiness-gate-inject"
	InjectEnabled = "enabled"
)

// ConditionType is the readiness gate of target group (or binding) name.
func ConditionType(name string) corev1.PodConditionType {
	return corev1.PodConditionType(GatePrefix + name)
}

// HasGate reports whether the Pod waits on the gate of name.
func HasGate(pod *corev1.Pod, name string) bool {
	want := ConditionType(name)
	for _, g := range pod.Spec.ReadinessGates {
		if g.ConditionType == want {
			return true
		}
	}
	return false
}

// HasAnyGate reports whether the Pod waits on some target-health gate.
func HasAnyGate(pod *corev1.Pod) bool {
	for _, g := range pod.Spec.ReadinessGates {
		if strings.HasPrefix(string(g.ConditionType), GatePrefix) {
			return true
		}
	}
	return false
}

// condition returns the Pod's condition of type t, or nil.
func condition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// ContainersReady reports the Pod's ContainersReady condition.
func ContainersReady(pod *corev1.Pod) bool {
	c := condition(pod, corev1.ContainersReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

// GateTrue reports whether the Pod's gate of name is True.
func GateTrue(pod *corev1.Pod, name string) bool {
	c := condition(pod, ConditionType(name))
	return c != nil && c.Status == corev1.ConditionTrue
}

// Registrable reports whether a Pod whose endpoint is not Ready is still a target of the
// target group (or binding) name: it waits on that group's gate, its containers are ready
// and it is not going away. Without this the gate could never turn True.
func Registrable(pod *corev1.Pod, name string) bool {
	return pod.DeletionTimestamp == nil && HasGate(pod, name) && ContainersReady(pod)
}

// Pending reports whether the Pod waits on the gate of name, which is not True yet.
func Pending(pod *corev1.Pod, name string) bool {
	return pod.DeletionTimestamp == nil && HasGate(pod, name) && !GateTrue(pod, name)
}

// Health is a target's health in its target group, as DescribeTargetHealth reports it.
type Health struct {
	State, Reason, Description string
}

// StateHealthy is ELBv2's healthy target state; ReasonHealthy the gate's reason then.
const (
	StateHealthy  = "healthy"
	ReasonHealthy = "Healthy"
)

// Condition is the gate's condition for a target's health; h is nil when the target is not
// in the target group (yet). Only a healthy target makes the gate True, as upstream.
func Condition(name string, h *Health) corev1.PodCondition {
	c := corev1.PodCondition{Type: ConditionType(name), Status: corev1.ConditionFalse}
	switch {
	case h == nil:
		c.Reason = "Target.NotRegistered"
		c.Message = fmt.Sprintf("the Pod is not a target of %s yet", name)
	case h.State == StateHealthy:
		// Reason and message are set, never empty: a strategic merge patch leaves a field
		// that is omitted as it was, and the previous reason would stay.
		c.Status, c.Reason, c.Message = corev1.ConditionTrue, ReasonHealthy, fmt.Sprintf("the target is healthy in %s", name)
	default:
		c.Reason = h.Reason
		if c.Reason == "" {
			c.Reason = "Target." + h.State
		}
		c.Message = h.Description
		if c.Message == "" {
			c.Message = "target state " + h.State
		}
	}
	return c
}

// Changed reports whether writing want would change the Pod's condition (status, reason or
// message: the transition time is left to follow status).
func Changed(pod *corev1.Pod, want corev1.PodCondition) bool {
	have := condition(pod, want.Type)
	return have == nil || have.Status != want.Status || have.Reason != want.Reason || have.Message != want.Message
}

// Missing returns, sorted and without duplicates, the gates of names the Pod does not yet
// have: what the webhook adds.
func Missing(pod *corev1.Pod, names []string) []corev1.PodReadinessGate {
	seen := map[string]bool{}
	var out []corev1.PodReadinessGate
	for _, n := range names {
		if seen[n] || HasGate(pod, n) {
			continue
		}
		seen[n] = true
		out = append(out, corev1.PodReadinessGate{ConditionType: ConditionType(n)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ConditionType < out[j].ConditionType })
	return out
}

// While a Pod waits on a gate, its target group's health is read again after PollFirst,
// then twice as long after each read that found nothing new, at most PollMax apart: a
// target that never becomes healthy costs one read every PollMax, not one every PollFirst
// forever. A read that finds a change starts over at PollFirst.
const (
	PollFirst = 10 * time.Second
	PollMax   = 5 * time.Minute
)

// NextPoll is how long after a read of a target group's health the next one is due, given
// the delay before that read (0 for the first) and whether it found a change.
func NextPoll(last time.Duration, changed bool) time.Duration {
	if changed || last <= 0 {
		return PollFirst
	}
	return min(2*last, PollMax)
}
