// Package authz is lbsg's reference authorizer: it decides whether a Kubernetes object may
// use something it does not own. Every reference an object makes — an Ingress group it
// joins, a security group it names by ID or Name tag or admits traffic from, a target group
// it binds or forwards to, a prefix list, a Pod or IP it would send traffic to — is first
// classified against what lbsg observed (whose is it: this object's own stack, another
// stack and its namespaces, the cluster's shared backend SG, another cluster's, or nothing
// Kubernetes owns), then decided by one Policy. The default denies every use across
// namespaces and every use of another stack's resources; consent follows Kubernetes' own
// model (ReferenceGrant).
//
// The package is pure: values in, decisions out. The resolvers of spec and the controller
// ask it before a reference becomes part of a desired state, and plan.CheckReferences asks
// it again about every reference a finished plan carries, so that a reference no resolver
// checked can still never reach AWS.
package authz

import (
	"fmt"
	"slices"
	"strings"
)

// Subject is the Kubernetes object that makes a reference.
type Subject struct {
	// Kind is the object's kind: Service, Ingress, TargetGroupBinding; IngressGroup for a
	// reference a whole group makes (its load balancer's target groups, say).
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Namespaces are the namespaces a multi-namespace subject (an explicit Ingress group)
	// spans; empty for an object of one namespace, which is Namespace.
	Namespaces []string `json:"namespaces,omitempty"`
}

func (s Subject) String() string {
	if s.Namespace == "" {
		return s.Kind + " " + s.Name
	}
	return s.Kind + " " + s.Namespace + "/" + s.Name
}

// spans reports whether the subject is in namespace ns (one of them, for a group).
func (s Subject) spans(ns string) bool {
	if ns == "" {
		return false
	}
	if len(s.Namespaces) == 0 {
		return s.Namespace == ns
	}
	return slices.Contains(s.Namespaces, ns)
}

// within reports whether every namespace the subject spans is among ns.
func (s Subject) within(ns []string) bool {
	mine := s.Namespaces
	if len(mine) == 0 {
		mine = []string{s.Namespace}
	}
	for _, n := range mine {
		if n == "" || !slices.Contains(ns, n) {
			return false
		}
	}
	return true
}

// Kind is what a reference points at.
type Kind string

const (
	// IngressGroup: an Ingress joins an explicit group (group.name, or its class's
	// IngressClassParams group).
	IngressGroup Kind = "IngressGroup"
	// SecurityGroup: a security group named by ID or Name tag (security-groups).
	SecurityGroup Kind = "SecurityGroup"
	// SourceSecurityGroup: a security group whose members a rule on the targets' security
	// groups admits (a TargetGroupBinding's spec.networking securityGroup peer).
	SourceSecurityGroup Kind = "SourceSecurityGroup"
	// TargetGroup: a target group named by ARN (TargetGroupBinding, forward actions).
	TargetGroup Kind = "TargetGroup"
	// PrefixList: a managed prefix list a load balancer admits clients from.
	PrefixList Kind = "PrefixList"
	// Pod: a Pod, or the IP of one, that becomes a target.
	Pod Kind = "Pod"
)

// Class says whose a referenced resource is, as observed.
type Class string

const (
	// Own: the referring object's own stack made it.
	Own Class = "own"
	// Stack: another stack of this cluster made it; Owner.Namespaces says whose.
	Stack Class = "stack"
	// BackendSG: the cluster's shared backend security group.
	BackendSG Class = "backend-sg"
	// OtherCluster: it carries another cluster's tracking tags.
	OtherCluster Class = "other-cluster"
	// Unattributed: it carries this cluster's tracking tags but no stack lbsg can name.
	// Nothing lbsg made looks like that, so it is refused as if it were another stack's.
	Unattributed Class = "unattributed"
	// External: nothing in Kubernetes owns it (a security group, target group or prefix
	// list the platform made; a Node).
	External Class = "external"
)

// Owner is who a referenced resource belongs to.
type Owner struct {
	Class Class `json:"class"`
	// Stack names the owning stack ("Service team-a/web", "Ingress group shop") for a
	// Stack, Own or OtherCluster resource.
	Stack string `json:"stack,omitempty"`
	// Namespaces are the namespaces of the owning objects: one for a Service, an implicit
	// Ingress group, a Pod; the members' for an explicit Ingress group; none when unknown.
	Namespaces []string `json:"namespaces,omitempty"`
}

func (o Owner) String() string {
	switch o.Class {
	case Own:
		return "this object's own " + o.Stack
	case Stack, OtherCluster:
		if len(o.Namespaces) > 0 && o.Class == Stack {
			return fmt.Sprintf("%s (namespace %s)", o.Stack, strings.Join(o.Namespaces, ", "))
		}
		return o.Stack
	case BackendSG:
		return "the cluster's shared backend security group"
	case Unattributed:
		return "lbsg's tracking tags without a stack"
	}
	return "nothing in Kubernetes"
}

// Reference is one use of something an object may not own.
type Reference struct {
	From Subject `json:"from"`
	Kind Kind    `json:"kind"`
	// Value is the reference as the object wrote it (an ID, a Name tag, an ARN, a group
	// name); ID is what it resolved to (an SG ID, a target-group ARN, an IP).
	Value string `json:"value"`
	ID    string `json:"id,omitempty"`
	// Key is the annotation key or field that holds the reference, for messages.
	Key   string `json:"key,omitempty"`
	Owner Owner  `json:"owner"`
	// Pinned (IngressGroup) says the platform put the group in the object's IngressClass
	// (IngressClassParams spec.group.name) and the class admits the object's namespace.
	Pinned bool `json:"pinned,omitempty"`
}

// Decision is the Policy's answer about one Reference.
type Decision struct {
	Allowed bool `json:"allowed"`
	// Reason and Fix say why a denied reference is refused and what to do instead; Via
	// says what allowed a reference that crosses a namespace (a ReferenceGrant, a flag).
	Reason string `json:"reason,omitempty"`
	Fix    string `json:"fix,omitempty"`
	Via    string `json:"via,omitempty"`
}

// Denial is a refused reference with the Policy's reasons.
type Denial struct {
	Reference Reference `json:"reference"`
	Decision  Decision  `json:"decision"`
}

// Error renders a denial as lbsg's messages read: the key and the value first, then the
// owner, then the fix.
func (d Denial) Error() string {
	r := d.Reference
	where := r.Key
	if where == "" {
		where = string(r.Kind)
	}
	return fmt.Sprintf("%s %q: %s; %s", where, r.Value, d.Decision.Reason, d.Decision.Fix)
}
