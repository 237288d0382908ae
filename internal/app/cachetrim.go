package app

import (
	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// cacheOptions trims what the informers keep. The controller watches every Pod and Node
// of the cluster, and most of each object (containers, volumes, images pulled on a node,
// managed fields) is never read: keeping it would make memory grow with the size of the
// cluster rather than with the number of load balancers. Pods and Nodes are never
// written by lbsg, so a trimmed copy can't be written back by mistake; other kinds lose
// only their managed fields, which an update leaves unchanged when they are absent.
func cacheOptions(base cache.Options) cache.Options {
	base.DefaultTransform = cache.TransformStripManagedFields()
	base.ByObject = map[client.Object]cache.ByObject{
		&corev1.Pod{}:  {Transform: trimPod},
		&corev1.Node{}: {Transform: trimNode},
	}
	return base
}

var _ toolscache.TransformFunc = trimPod

// trimPod keeps what ip targets are built from: identity, labels, annotations (pod ENIs),
// host networking, the node, readiness gates and the pod's IPs and conditions.
func trimPod(in any) (any, error) {
	p, ok := in.(*corev1.Pod)
	if !ok {
		return in, nil
	}
	out := &corev1.Pod{TypeMeta: p.TypeMeta, ObjectMeta: p.ObjectMeta}
	out.ManagedFields = nil
	out.Spec = corev1.PodSpec{
		NodeName:       p.Spec.NodeName,
		HostNetwork:    p.Spec.HostNetwork,
		ReadinessGates: p.Spec.ReadinessGates,
	}
	out.Status = corev1.PodStatus{
		Phase:      p.Status.Phase,
		Conditions: p.Status.Conditions,
		PodIP:      p.Status.PodIP,
		PodIPs:     p.Status.PodIPs,
		HostIP:     p.Status.HostIP,
		HostIPs:    p.Status.HostIPs,
	}
	return out, nil
}

// trimNode keeps what instance targets and target ENIs are built from: identity, labels,
// provider ID, taints, conditions and addresses. A node's list of pulled images alone is
// often larger than everything else lbsg keeps about it.
func trimNode(in any) (any, error) {
	n, ok := in.(*corev1.Node)
	if !ok {
		return in, nil
	}
	out := &corev1.Node{TypeMeta: n.TypeMeta, ObjectMeta: n.ObjectMeta}
	out.ManagedFields = nil
	out.Spec = corev1.NodeSpec{
		ProviderID:    n.Spec.ProviderID,
		Taints:        n.Spec.Taints,
		Unschedulable: n.Spec.Unschedulable,
		PodCIDR:       n.Spec.PodCIDR,
		PodCIDRs:      n.Spec.PodCIDRs,
	}
	out.Status = corev1.NodeStatus{
		Conditions: n.Status.Conditions,
		Addresses:  n.Status.Addresses,
	}
	return out, nil
}
