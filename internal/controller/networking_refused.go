package controller

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
)

// reportRefused tells each owner whose rules were refused on a target SG which rules, on
// which SG, why and how to fix it (a Warning Event and its Ready condition). A Service
// (client CIDR rules of an NLB without SGs outside the NodePort range) is also recommended
// an NLB with security groups, once while the refusal lasts; a TargetGroupBinding is told
// per reason (bindingRefusal).
func (r *NetworkingReconciler) reportRefused(objs ClusterObjects, np *NetworkingPlan, rep *networkReport) {
	type key struct{ owner, sg, why, source string }
	byKey := map[key][]plan.Refused{}
	for _, x := range np.Refused {
		k := key{owner: x.Owner, sg: x.SG, why: x.Why}
		if x.Denial != nil {
			// One message per source: each has its own owner and reason.
			k.source = x.Rule.Peer
		}
		byKey[k] = append(byKey[k], x)
	}
	keys := slices.SortedFunc(maps.Keys(byKey), func(a, b key) int {
		return compareStrings(strings.Join([]string{a.owner, a.sg, a.why, a.source}, "\x00"), strings.Join([]string{b.owner, b.sg, b.why, b.source}, "\x00"))
	})
	ports := r.Engine.NodePorts
	nodePorts := fmt.Sprintf("%d-%d", ports.From, ports.To)
	now := map[string]bool{}
	for _, k := range keys {
		o, ok := np.Owner(k.owner)
		if !ok {
			continue
		}
		if o.Kind == OwnerKindTGB {
			event, reason, msg := bindingRefusal(k.sg, byKey[k], np.Input.Restricted[k.owner].Ports, nodePorts)
			rep.owner(o, event, reason, msg)
			continue
		}
		rep.owner(o, EventClientCIDRRefused, failureRefused, refusedMessage(k.sg, byKey[k], nodePorts))
		if now[k.owner] {
			continue
		}
		now[k.owner] = true
		if r.recommended[k.owner] {
			continue
		}
		for _, obj := range r.ownerObjects(objs, o) {
			r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, EventNLBSGRecommended, "Reconcile", "%s", recommendNLBSG(o))
		}
	}
	r.recommended = now
}

// refusedRules lists refused rules and their protocols and ports, for a message.
func refusedRules(refused []plan.Refused) (rules, ports string) {
	var list []string
	set := map[string]bool{}
	for _, x := range refused {
		list = append(list, x.Rule.String())
		p := fmt.Sprint(x.Rule.FromPort)
		if x.Rule.ToPort != x.Rule.FromPort {
			p = fmt.Sprintf("%d-%d", x.Rule.FromPort, x.Rule.ToPort)
		}
		set[x.Rule.Protocol+" "+p] = true
	}
	return strings.Join(list, ", "), strings.Join(slices.Sorted(maps.Keys(set)), ", ")
}

// bindingRefusal is the Event reason, metric reason and message of a binding's rules
// refused on one SG for one reason (one source, for a source the authorizer refused).
func bindingRefusal(sg string, refused []plan.Refused, traffic []sgrules.Need, nodePorts string) (event, reason, msg string) {
	rules, ports := refusedRules(refused)
	head := fmt.Sprintf("spec.networking rules %s not added to security group %s", rules, sg)
	switch refused[0].Why {
	case plan.RefusedSource:
		return EventReferenceDenied, failureSourceDenied, fmt.Sprintf("%s: %s", head, refused[0].Denial.Error())
	case plan.RefusedOutsideNodePorts:
		return EventClientCIDRRefused, failureRefused, fmt.Sprintf("%s: port %s is outside the NodePort range %s, and a CIDR rule there "+
			"opens it on every network interface in that security group (with ip targets and the VPC CNI: every node), not only on this "+
			"binding's targets. Fix: admit the load balancer's security group (from: securityGroup) instead of a CIDR, or bind an instance "+
			"target group; or have the platform team allow it with --allow-client-cidr-rules-outside-node-port-range", head, ports, nodePorts)
	}
	var open []string
	for _, n := range traffic {
		open = append(open, fmt.Sprintf("%s %d", n.Protocol, n.Port))
	}
	if len(open) == 0 {
		open = []string{"none"}
	}
	return EventNetworkingRefused, failureNotTrafficPort, fmt.Sprintf("%s: port %s is not a port this binding's targets receive traffic on (%s), "+
		"and a rule there opens its port on every network interface in that security group (with instance targets, or ip targets and the "+
		"VPC CNI: every node), not only on this binding's targets. Fix: open only the targets' port (the Service port's NodePort for "+
		"instance targets, the Pods' port for ip targets) or the target group's health-check port; leave ports out to open exactly those",
		head, ports, strings.Join(open, ", "))
}

// refusedMessage names the refused rules' ports, the SG and the fixes.
func refusedMessage(sg string, refused []plan.Refused, nodePorts string) string {
	rules, ports := refusedRules(refused)
	return fmt.Sprintf("client CIDR rules %s not added to security group %s: port %s is outside the NodePort range %s, and this NLB without security groups "+
		"would open it to its clients on every network interface in that security group (with ip targets and the VPC CNI: every node). "+
		"Fix: use an NLB with security groups (see the %s Event), or instance targets; or have the platform team allow it with "+
		"--allow-client-cidr-rules-outside-node-port-range",
		rules, sg, ports, nodePorts, EventNLBSGRecommended)
}

// recommendNLBSG is the recommendation made to a Service whose client CIDR rules were
// refused.
func recommendNLBSG(o spec.Owner) string {
	return fmt.Sprintf("%s has an NLB without security groups, so its client CIDRs become rules on its targets' security groups, "+
		"which other workloads share. An NLB with security groups keeps its client rules on its own security group and admits only "+
		"that group on its targets: AWS never adds security groups to an existing NLB, so recreate the Service with the %s feature "+
		"gate on (the default) and without %s, or naming its security groups in %s",
		o, "NLBSecurityGroup", annotations.SvcDisableNLBSG, annotations.SvcSecurityGroups)
}
