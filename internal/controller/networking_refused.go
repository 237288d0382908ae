package controller

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/spec"
)

// reportRefused tells each Service whose client CIDR rules were refused on a target SG
// which ports, on which SG, and how to fix it (a Warning Event and its Ready condition),
// and recommends an NLB with security groups once while the refusal lasts.
func (r *NetworkingReconciler) reportRefused(objs ClusterObjects, np *NetworkingPlan, rep *networkReport) {
	type key struct{ owner, sg string }
	byKey := map[key][]plan.Refused{}
	for _, x := range np.Refused {
		k := key{x.Owner, x.SG}
		byKey[k] = append(byKey[k], x)
	}
	keys := slices.SortedFunc(maps.Keys(byKey), func(a, b key) int { return compareStrings(a.owner+"\x00"+a.sg, b.owner+"\x00"+b.sg) })
	now := map[string]bool{}
	for _, k := range keys {
		o, ok := np.Owner(k.owner)
		if !ok {
			continue
		}
		ports := r.Engine.NodePorts
		rep.owner(o, EventClientCIDRRefused, failureRefused, refusedMessage(k.sg, byKey[k], fmt.Sprintf("%d-%d", ports.From, ports.To)))
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

// refusedMessage names the refused rules' ports, the SG and the fixes.
func refusedMessage(sg string, refused []plan.Refused, nodePorts string) string {
	var rules []string
	ports := map[string]bool{}
	for _, x := range refused {
		rules = append(rules, x.Rule.String())
		p := fmt.Sprint(x.Rule.FromPort)
		if x.Rule.ToPort != x.Rule.FromPort {
			p = fmt.Sprintf("%d-%d", x.Rule.FromPort, x.Rule.ToPort)
		}
		ports[x.Rule.Protocol+" "+p] = true
	}
	return fmt.Sprintf("client CIDR rules %s not added to security group %s: port %s is outside the NodePort range %s, and this NLB without security groups "+
		"would open it to its clients on every network interface in that security group (with ip targets and the VPC CNI: every node). "+
		"Fix: use an NLB with security groups (see the %s Event), or instance targets; or have the platform team allow it with "+
		"--allow-client-cidr-rules-outside-node-port-range",
		strings.Join(rules, ", "), sg, strings.Join(slices.Sorted(maps.Keys(ports)), ", "), nodePorts, EventNLBSGRecommended)
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
