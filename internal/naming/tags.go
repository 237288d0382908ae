package naming

import (
	"fmt"
	"sort"
	"strings"
)

// Descriptions of the SGs lbsg creates, as upstream writes them.
const (
	ManagedSGDescription = "[k8s] Managed SecurityGroup for LoadBalancer"
	BackendSGDescription = "[k8s] Shared Backend SecurityGroup for LoadBalancer"
)

// Tag keys and values (reference §3.3, §4).
const (
	// TagCluster carries the cluster name on every resource lbsg (or upstream) manages.
	TagCluster = "elbv2.k8s.aws/cluster"
	// TagResource marks the shared backend SG, with value BackendSGResourceValue.
	TagResource            = "elbv2.k8s.aws/resource"
	BackendSGResourceValue = "backend-sg"

	ServiceStackTag    = "service.k8s.aws/stack"
	ServiceResourceTag = "service.k8s.aws/resource"
	IngressStackTag    = "ingress.k8s.aws/stack"
	IngressResourceTag = "ingress.k8s.aws/resource"
	// The stack and resource tags upstream puts on a Gateway's ALB or NLB resources.
	GatewayALBStackTag    = "gateway.k8s.aws.alb/stack"
	GatewayALBResourceTag = "gateway.k8s.aws.alb/resource"
	GatewayNLBStackTag    = "gateway.k8s.aws.nlb/stack"
	GatewayNLBResourceTag = "gateway.k8s.aws.nlb/resource"

	// ManagedSGResourceID is the resource tag value of a stack's managed frontend SG.
	ManagedSGResourceID = "ManagedLBSecurityGroup"
	// LoadBalancerResourceID is the resource tag value of a stack's load balancer.
	LoadBalancerResourceID = "LoadBalancer"

	// NodeSGClusterTagPrefix + cluster is the tag key (any value) that picks the SG of a
	// target ENI that has several SGs.
	NodeSGClusterTagPrefix = "kubernetes.io/cluster/"
)

// Finalizers upstream puts on the objects it provisions for; lbsg uses the same names so it
// can clean up after upstream and the other way round.
const (
	ServiceFinalizer = "service.k8s.aws/resources"
	IngressFinalizer = "ingress.k8s.aws/resources"
)

// IngressGroupFinalizer is the finalizer on every member of an explicit Ingress group.
func IngressGroupFinalizer(group string) string {
	return "group.ingress.k8s.aws/" + group
}

// ServiceStackID is the stack ID of a Service: "<namespace>/<name>".
func ServiceStackID(namespace, name string) string {
	return namespace + "/" + name
}

// ServiceStackTags are the tags that tie a resource to a Service's stack: the cluster tag
// and service.k8s.aws/stack. Resource tags and spec tags are layered on with MergeTags.
func ServiceStackTags(cluster, namespace, name string) map[string]string {
	return map[string]string{
		TagCluster:      cluster,
		ServiceStackTag: ServiceStackID(namespace, name),
	}
}

// IngressStackTags are the stack tags of an Ingress group. stackID is the group name for an
// explicit group and "<namespace>/<name>" for an implicit one.
func IngressStackTags(cluster, stackID string) map[string]string {
	return map[string]string{
		TagCluster:      cluster,
		IngressStackTag: stackID,
	}
}

// BackendSGTags are lbsg's own tags on the shared backend SG; --default-tags are added by
// the caller.
func BackendSGTags(cluster string) map[string]string {
	return map[string]string{
		TagCluster:  cluster,
		TagResource: BackendSGResourceValue,
	}
}

// TargetGroupResourceID is the resource ID (service.k8s.aws/resource value) of the target
// group of a Service port: "<namespace>/<name>:<port>".
func TargetGroupResourceID(namespace, name string, port int32) string {
	return fmt.Sprintf("%s/%s:%d", namespace, name, port)
}

// MergeTags merges layers of tags into a new map. When a key is in several layers, the
// earliest layer wins (reference §3.3: stack tags, then resource tags, then spec tags).
// The inputs are never modified. The result is never nil.
func MergeTags(layers ...map[string]string) map[string]string {
	n := 0
	for _, l := range layers {
		n += len(l)
	}
	out := make(map[string]string, n)
	for _, l := range layers {
		for k, v := range l {
			if _, taken := out[k]; !taken {
				out[k] = v
			}
		}
	}
	return out
}

// trackingTagKeys are the keys upstream reserves for tracking; --default-tags and
// --external-managed-tags may not use them.
var trackingTagKeys = map[string]bool{
	TagCluster:            true,
	TagResource:           true,
	IngressStackTag:       true,
	IngressResourceTag:    true,
	ServiceStackTag:       true,
	ServiceResourceTag:    true,
	GatewayALBStackTag:    true,
	GatewayALBResourceTag: true,
	GatewayNLBStackTag:    true,
	GatewayNLBResourceTag: true,
}

// IsTrackingTagKey reports whether key is one of the tracking tag keys.
func IsTrackingTagKey(key string) bool {
	return trackingTagKeys[key]
}

// legacyTagKeys are tags older controllers wrote; tag reconciliation leaves them alone.
var legacyTagKeys = map[string]bool{
	"kubernetes.io/cluster-name": true,
	"kubernetes.io/namespace":    true,
	"kubernetes.io/ingress-name": true,
	"kubernetes.io/service-name": true,
	"kubernetes.io/service-port": true,
	"ingress.k8s.aws/cluster":    true,
}

// IsIgnoredTagKey reports whether tag reconciliation must leave key alone on a managed SG
// (reference §3.5): AWS-reserved keys ("aws:" prefix), kubernetes.io/cluster/<cluster> and
// the legacy keys. --external-managed-tags are the caller's to add.
func IsIgnoredTagKey(key, cluster string) bool {
	return strings.HasPrefix(key, "aws:") ||
		key == NodeSGClusterTagPrefix+cluster ||
		legacyTagKeys[key]
}

// IngressTargetGroupResourceID is the resource ID (ingress.k8s.aws/resource value) of the
// target group of one Ingress backend: "<ingress ns>/<ingress name>-<service name>:<port>",
// where port is the backend's port number or name.
func IngressTargetGroupResourceID(namespace, ingress, service, port string) string {
	return namespace + "/" + ingress + "-" + service + ":" + port
}

// FormatTags renders tags as key=value pairs sorted by key and joined by sep, to quote
// them in a message or a plan.
func FormatTags(tags map[string]string, sep string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + tags[k]
	}
	return strings.Join(parts, sep)
}
