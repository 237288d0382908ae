package app

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/targets"
)

// cacheOptions trims what the informers keep. The controller watches every Pod, Service,
// EndpointSlice and Node of the cluster, and most of each object (containers, volumes,
// images pulled on a node, managed fields, annotations of other tools) is never read:
// keeping it would make memory grow with what tenants write rather than with the number
// of load balancers. A tenant's 250 KB annotation on each of a thousand Pods costs lbsg
// nothing.
//
// A trimmed object must never be written back whole: lbsg writes Services, Ingresses,
// Pods and TargetGroupBindings only with patches of its own fields, and guardTrimmedWrites
// refuses an update of a kind this cache trims.
func cacheOptions(base cache.Options) cache.Options {
	base.DefaultTransform = trim
	return base
}

var _ toolscache.TransformFunc = trim

// trim is the informers' transform: what lbsg reads of each kind, nothing else. One
// transform for every kind, rather than one per object type, because a per-type entry for
// a CRD that is not installed (TargetGroupBinding) would stop the cache from starting.
func trim(in any) (any, error) {
	switch o := in.(type) {
	case *corev1.Pod:
		return trimPod(o), nil
	case *corev1.Node:
		return trimNode(o), nil
	case *corev1.Service:
		o.Annotations = keptAnnotations(o.Annotations, keepConfigAnnotation)
	case *networkingv1.Ingress:
		o.Annotations = keptAnnotations(o.Annotations, keepConfigAnnotation)
	case *discoveryv1.EndpointSlice:
		o.Annotations = nil
	case *elbv2api.TargetGroupBinding:
		o.Annotations = keptAnnotations(o.Annotations, keepOwnAnnotation)
	}
	if obj, err := meta.Accessor(in); err == nil && obj.GetManagedFields() != nil {
		obj.SetManagedFields(nil)
	}
	return in, nil
}

// lbsgAnnotationPrefix starts the annotations lbsg writes itself (an Ingress's Ready
// condition, a TargetGroupBinding's registered targets).
const lbsgAnnotationPrefix = "lbsg.k8s.aws/"

// configPrefixes start the annotation keys lbsg reads on Services and Ingresses (the
// Services an Ingress routes to carry alb.ingress.kubernetes.io keys too): upstream's
// keys, those lbsg reports as not implemented included, and lbsg's own.
var configPrefixes = []string{
	annotations.ServicePrefix,
	"service.kubernetes.io/",
	annotations.IngressPrefix,
	lbsgAnnotationPrefix,
}

// keepConfigAnnotation reports whether a Service or Ingress annotation is one lbsg reads.
func keepConfigAnnotation(key string) bool {
	if key == annotations.IngressClassAnnotation {
		return true
	}
	for _, p := range configPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// keepOwnAnnotation reports whether an annotation is one lbsg writes.
func keepOwnAnnotation(key string) bool { return strings.HasPrefix(key, lbsgAnnotationPrefix) }

// keepPodAnnotation reports whether a Pod annotation is one lbsg reads: only the VPC CNI's
// branch ENI of a Pod with security groups.
func keepPodAnnotation(key string) bool { return key == targets.PodENIAnnotation }

// keptAnnotations returns the annotations keep accepts, nil when there are none, in a new
// map, so that the decoded one and the values it held can be freed.
func keptAnnotations(in map[string]string, keep func(string) bool) map[string]string {
	var out map[string]string
	for k, v := range in {
		if keep(k) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// trimPod keeps what ip targets, readiness gates and a binding's named ports are built
// from: identity, labels, the pod-eni annotation, host networking, the node, readiness
// gates, the containers' names and ports, and the pod's phase, IPs and conditions.
func trimPod(p *corev1.Pod) *corev1.Pod {
	out := &corev1.Pod{TypeMeta: p.TypeMeta, ObjectMeta: p.ObjectMeta}
	out.ManagedFields = nil
	out.Annotations = keptAnnotations(p.Annotations, keepPodAnnotation)
	out.Spec = corev1.PodSpec{
		NodeName:       p.Spec.NodeName,
		HostNetwork:    p.Spec.HostNetwork,
		ReadinessGates: p.Spec.ReadinessGates,
	}
	for _, c := range p.Spec.Containers {
		out.Spec.Containers = append(out.Spec.Containers, corev1.Container{Name: c.Name, Ports: c.Ports})
	}
	out.Status = corev1.PodStatus{
		Phase:      p.Status.Phase,
		Conditions: p.Status.Conditions,
		PodIP:      p.Status.PodIP,
		PodIPs:     p.Status.PodIPs,
		HostIP:     p.Status.HostIP,
		HostIPs:    p.Status.HostIPs,
	}
	return out
}

// trimNode keeps what instance targets and target ENIs are built from: identity, labels,
// provider ID, taints, conditions and addresses. A node's list of pulled images alone is
// often larger than everything else lbsg keeps about it; lbsg reads no Node annotation.
func trimNode(n *corev1.Node) *corev1.Node {
	out := &corev1.Node{TypeMeta: n.TypeMeta, ObjectMeta: n.ObjectMeta}
	out.ManagedFields = nil
	out.Annotations = nil
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
	return out
}
