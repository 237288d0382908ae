package targets

// Node labels and taints that decide whether a node can be an instance target. They are the
// ones upstream uses: its default traffic-proxy node selector and IsNodeSuitableAsTrafficProxy
// (pkg/backend/endpoint_utils.go), plus the hybrid-node skip of its node ENI resolver.
const (
	// LabelComputeType is EKS's compute-type label; "fargate" and "hybrid" nodes have no
	// EC2 instance ENI to put rules on.
	LabelComputeType = "eks.amazonaws.com/compute-type"
	// LabelExcludeFromExternalLB excludes a node from load balancers whatever its value.
	LabelExcludeFromExternalLB = "node.kubernetes.io/exclude-from-external-load-balancers"
	// LabelAlphaExcludeBalancer is the older spelling of the exclusion label.
	LabelAlphaExcludeBalancer = "alpha.service-controller.kubernetes.io/exclude-balancer"
	// LabelNodeRoleMaster marks a control-plane node, excluded whatever its value.
	LabelNodeRoleMaster = "node-role.kubernetes.io/master"

	// TaintToBeDeletedByClusterAutoscaler is added by cluster-autoscaler before it removes
	// a node; any effect excludes the node.
	TaintToBeDeletedByClusterAutoscaler = "ToBeDeletedByClusterAutoscaler"
	// TaintKarpenterDisrupted is added by Karpenter before it removes a node; it excludes
	// the node with effect NoSchedule.
	TaintKarpenterDisrupted = "karpenter.sh/disrupted"
	// EffectNoSchedule is the Kubernetes taint effect "NoSchedule".
	EffectNoSchedule = "NoSchedule"
)

// Taint is the part of a Kubernetes node taint NodeEligible reads.
type Taint struct {
	Key    string
	Effect string // NoSchedule, PreferNoSchedule or NoExecute
}

// NodeEligible reports whether a node is an instance target, following upstream:
//
//   - ready is the node's Ready condition being True. (Upstream can fail open to nodes whose
//     Ready is Unknown when no node is Ready; that choice spans all nodes and belongs to the
//     caller.)
//   - taints: ToBeDeletedByClusterAutoscaler (any effect) or karpenter.sh/disrupted with
//     NoSchedule exclude the node: it is about to go away. A cordoned (unschedulable) node
//     stays eligible, as in current upstream and Kubernetes' service controller.
//   - labels must not have eks.amazonaws.com/compute-type fargate or hybrid, nor any of
//     node.kubernetes.io/exclude-from-external-load-balancers,
//     alpha.service-controller.kubernetes.io/exclude-balancer or
//     node-role.kubernetes.io/master (any value).
//   - labels must hold every selector pair with the same value (the target-node-labels
//     annotation); an empty selector matches every node.
func NodeEligible(labels map[string]string, ready bool, taints []Taint, selector map[string]string) bool {
	if !ready {
		return false
	}
	for _, t := range taints {
		if t.Key == TaintToBeDeletedByClusterAutoscaler ||
			(t.Key == TaintKarpenterDisrupted && t.Effect == EffectNoSchedule) {
			return false
		}
	}
	switch labels[LabelComputeType] {
	case "fargate", "hybrid":
		return false
	}
	for _, k := range []string{LabelExcludeFromExternalLB, LabelAlphaExcludeBalancer, LabelNodeRoleMaster} {
		if _, ok := labels[k]; ok {
			return false
		}
	}
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
