package explain

import (
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

// Input is what the caller read from Kubernetes and AWS for one object.
type Input struct {
	Cluster string
	Object  Object
	// Stack names the stack ("Service ns/name", "IngressGroup name"...).
	Stack string
	// Members are the Ingresses of the group ("ns/name").
	Members []string
	// Desired is the object's desired state; nil when Problems keep it from being built.
	Desired  *spec.Stack
	Problems []string
	// AskedClients are the client rules the object asks for on its frontend: for a
	// managed SG its desired rules; for user SGs the rules a managed SG would have.
	AskedClients []sgrules.Rule

	// LoadBalancer is nil when it does not exist (yet).
	LoadBalancer *state.LoadBalancer
	Listeners    []state.Listener
	TargetGroups []state.TargetGroup
	// Targets are the registered targets by target group ARN.
	Targets map[string][]state.Target
	// SecurityGroups holds every SG of the load balancer and every target SG, as read.
	SecurityGroups map[string]state.SecurityGroup
	// BackendSG and ManagedSG are the IDs of the cluster's backend SG and the object's
	// managed SG ("" when none).
	BackendSG string
	ManagedSG string
	// ClusterSGs are this cluster's SG IDs: a target rule upstream wrote from one of them
	// is lbsg's (adopted), see sgrules.OwnedBy.
	ClusterSGs map[string]bool
	// TargetENIs says, by target ID (instance ID or IP), which ENI and SG receive it.
	TargetENIs map[string]TargetENI
	// LegacyPeers resolves the symbolic peers of an NLB without SGs (spec.PeerSubnets,
	// spec.PeerVPC) to CIDRs.
	LegacyPeers map[string][]string
	// Notes are passed through to the graph.
	Notes []string
	// ObjectTargetGroups are the resource IDs (tag values) of the target groups the
	// explained Ingress routes to, within its group; nil means every target group.
	ObjectTargetGroups map[string]bool
}

// TargetENI is the ENI of a target and the SG of it that gets inbound rules (chosen as
// targets.SelectSG does), or why that is unknown.
type TargetENI struct {
	ENI           string
	SecurityGroup string
	Error         string
}
