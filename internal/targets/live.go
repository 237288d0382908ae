package targets

import (
	"fmt"
	"time"
)

// Pod phases, as status.phase spells them.
const (
	PhasePending   = "Pending"
	PhaseRunning   = "Running"
	PhaseSucceeded = "Succeeded"
	PhaseFailed    = "Failed"
)

// Liveness is what a Pod's object says about whether it may receive traffic, and whether
// the IPs it reports are still its own.
type Liveness struct {
	// Phase is status.phase.
	Phase string
	// HasIP says status.podIPs is not empty.
	HasIP bool
	// Gated says the Pod waits on a target-health readiness gate: it must be a target
	// before it can become Ready.
	Gated bool
	// Deadline is metadata.deletionTimestamp, zero when the Pod is not being deleted. The
	// API server sets it to the time of the delete plus the grace period: the kubelet has
	// stopped the Pod by then, or lost it.
	Deadline time.Time
}

func (l Liveness) finished() bool {
	return l.Phase == PhaseSucceeded || l.Phase == PhaseFailed
}

// pastGrace reports whether the Pod's grace period ended before now.
func (l Liveness) pastGrace(now time.Time) bool {
	return !l.Deadline.IsZero() && !now.Before(l.Deadline)
}

// HoldsIP reports whether the Pod still holds the IPs it reports at now. A Pod that
// Succeeded or Failed keeps status.podIPs, and one deleted past its grace period (its
// node gone, say) may keep phase Running for ever; either's IP may already be another
// Pod's, of another namespace. Any other Pod with an IP holds it, a terminating one
// included: its containers may still run until the grace period ends.
func HoldsIP(l Liveness, now time.Time) bool {
	return l.HasIP && !l.finished() && !l.pastGrace(now)
}

// NotLive returns "" when the Pod may be a target at now, and otherwise why not: it must
// hold its IP, be Running (or Pending with a readiness gate, which waits for the Pod to be
// a target before its containers count as ready) and not be terminating. A terminating
// Pod is taken out so that the target group drains it, as its endpoint does.
func NotLive(l Liveness, now time.Time) string {
	switch {
	case l.finished():
		return fmt.Sprintf("the Pod has finished (phase %s) and no longer holds its IP", l.Phase)
	case !l.HasIP:
		return "the Pod has no IP"
	case l.pastGrace(now):
		return "the Pod is terminating past its grace period and no longer holds its IP"
	case !l.Deadline.IsZero():
		return "the Pod is terminating"
	case l.Phase == PhaseRunning:
		return ""
	case l.Phase == PhasePending && l.Gated:
		return ""
	case l.Phase == PhasePending || l.Phase == "":
		return "the Pod is Pending and waits on no readiness gate"
	}
	return fmt.Sprintf("the Pod's phase is %s, not Running", l.Phase)
}

// Holder is a Pod that reports an IP.
type Holder struct {
	Namespace, Name string
	HostNetwork     bool
	Live            Liveness
}

// IPConflict returns "" when Pod namespace/name may take an IP as its own at now, and
// otherwise why not: the Pod must be among holders, every Pod of the cluster that reports
// the IP (an IP nobody confirmed is no target), and no other Pod that holds its IPs may
// report it. Pods on the host network share their node's IP with each other, and only with each
// other.
func IPConflict(namespace, name string, holders []Holder, now time.Time) string {
	var self *Holder
	for i := range holders {
		if h := &holders[i]; h.Namespace == namespace && h.Name == name {
			self = h
		}
	}
	if self == nil {
		return "the IP could not be checked against the cluster's other Pods"
	}
	for _, h := range holders {
		if (h.Namespace == namespace && h.Name == name) || !HoldsIP(h.Live, now) {
			continue
		}
		if h.HostNetwork && self.HostNetwork {
			continue
		}
		return "another live Pod of the cluster reports the same IP"
	}
	return ""
}
