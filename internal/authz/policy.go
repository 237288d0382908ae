package authz

import (
	"fmt"
	"slices"
	"strings"
)

// GroupScope is --ingress-group-namespaces: which namespaces an explicit Ingress group that
// no IngressClassParams pins may take members from.
type GroupScope string

const (
	// GroupSameNamespace: one namespace, the group's owner's (the namespace of its oldest
	// member); others need a ReferenceGrant from it. The default.
	GroupSameNamespace GroupScope = "same"
	// GroupAnyNamespace: any namespace, as upstream (a platform that trusts every tenant).
	GroupAnyNamespace GroupScope = "any"
)

// ParseGroupScope parses the flag's value.
func ParseGroupScope(v string) (GroupScope, error) {
	switch s := GroupScope(v); s {
	case GroupSameNamespace, GroupAnyNamespace:
		return s, nil
	}
	return "", fmt.Errorf("%q is not a group scope: use %q or %q", v, GroupSameNamespace, GroupAnyNamespace)
}

// The API group and kind an Ingress group has in a ReferenceGrant's "to": Ingress groups are
// no Kubernetes object, so lbsg names them under its own API group.
const (
	GrantGroup            = "elbv2.k8s.aws"
	GrantKindIngressGroup = "IngressGroup"
	ingressAPIGroup       = "networking.k8s.io"
)

// Grant is a ReferenceGrant (gateway.networking.k8s.io): the namespace it lives in consents
// to references from the listed kinds and namespaces to the listed resources it owns.
type Grant struct {
	Namespace string      `json:"namespace"`
	From      []GrantFrom `json:"from"`
	To        []GrantTo   `json:"to"`
}

// GrantFrom is one "from" entry of a ReferenceGrant.
type GrantFrom struct {
	Group     string `json:"group"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
}

// GrantTo is one "to" entry of a ReferenceGrant; an empty Name allows every resource of the kind.
type GrantTo struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
	Name  string `json:"name,omitempty"`
}

// Policy decides references. Its zero value is the default: groups of one namespace, and
// no consents.
type Policy struct {
	Groups GroupScope `json:"groups,omitempty"`
	Grants []Grant    `json:"grants,omitempty"`
}

// Decide answers one reference.
func (p Policy) Decide(r Reference) Decision {
	switch r.Kind {
	case SecurityGroup:
		return decideShared(r, "security group",
			"name a security group of your own (by ID or Name tag) that no load balancer stack of lbsg owns, or remove it: lbsg attaches the backend security group by itself")
	case SourceSecurityGroup:
		return decideSource(r)
	case TargetGroup:
		return decideShared(r, "target group",
			"bind or forward to a target group of your own, made outside lbsg and bound by no other TargetGroupBinding; lbsg's target groups belong to the Service or Ingress that made them")
	case PrefixList:
		// Prefix lists are AWS objects no stack makes.
		return Decision{Allowed: true}
	case Pod:
		for _, ns := range r.Owner.Namespaces {
			if r.From.spans(ns) {
				return Decision{Allowed: true}
			}
		}
		return Decision{Reason: fmt.Sprintf("%s is a Pod of namespace %s, not of %s's namespace", r.ID, strings.Join(r.Owner.Namespaces, ", "), r.From),
			Fix: "targets are the Pods of the Service's own namespace"}
	case IngressGroup:
		return p.decideGroup(r)
	}
	return Decision{Reason: fmt.Sprintf("lbsg does not know references of kind %q", r.Kind), Fix: "remove the reference"}
}

// decideShared decides a reference to a security group or target group: a stack's resources
// are its own, the backend SG is lbsg's to attach, anything another cluster or stack made is
// refused, and what no stack made is the user's to name.
func decideShared(r Reference, what, fix string) Decision {
	switch r.Owner.Class {
	case Own, External:
		return Decision{Allowed: true}
	case BackendSG:
		return Decision{Reason: "it is " + r.Owner.String() + ", which lbsg attaches itself to the load balancers that need it; named here, other load balancers' rules would admit this load balancer's clients, and its deletion would wait on this load balancer",
			Fix: fix}
	case Stack:
		return Decision{Reason: fmt.Sprintf("%s %s belongs to %s: it would change when that stack changes, and its deletion would wait on this object", what, r.ID, r.Owner), Fix: fix}
	case OtherCluster:
		return Decision{Reason: fmt.Sprintf("%s %s belongs to %s", what, r.ID, r.Owner), Fix: fix}
	}
	return Decision{Reason: fmt.Sprintf("%s %s carries lbsg's tracking tags but no stack: lbsg cannot tell whose it is", what, r.ID), Fix: fix}
}

// decideSource decides a security group a rule on the targets' security groups admits
// traffic from. The rule admits the group's members to the subject's own targets, on their
// own ports (the planner keeps it there), so what it may name is wider than what a load
// balancer may carry: an SG made outside Kubernetes (the user's load balancer), the shared
// backend SG (lbsg's load balancers send only to the targets their own objects chose, and
// a forward action to a bound target group is the usual way to reach it), and the managed
// SG of a load balancer of the subject's own namespace. The managed SG of another
// namespace's load balancer is refused: the rule would tie that stack's SG to this object
// (its deletion would wait on the rule, which lbsg puts back) and admit a load balancer
// another tenant steers; so is anything another cluster made or that no stack explains.
func decideSource(r Reference) Decision {
	fix := "name the security group of the load balancer that sends to these targets: one made outside Kubernetes, the cluster's backend security group, or the managed security group of a Service or Ingress of this namespace"
	switch r.Owner.Class {
	case Own, External, BackendSG:
		return Decision{Allowed: true}
	case Stack:
		for _, ns := range r.Owner.Namespaces {
			if r.From.spans(ns) {
				return Decision{Allowed: true}
			}
		}
		return Decision{Reason: fmt.Sprintf("security group %s belongs to %s: a rule from it would admit a load balancer of another namespace, and that security group's deletion would wait on this object", r.ID, r.Owner), Fix: fix}
	case OtherCluster:
		return Decision{Reason: fmt.Sprintf("security group %s belongs to %s", r.ID, r.Owner), Fix: fix}
	}
	return Decision{Reason: fmt.Sprintf("security group %s carries lbsg's tracking tags but no stack: lbsg cannot tell whose it is", r.ID), Fix: fix}
}

// decideGroup decides whether an Ingress may join an explicit group: a group pinned by the
// platform (IngressClassParams) or allowed everywhere takes it; otherwise the group belongs
// to its owner's namespace, which may consent with a ReferenceGrant.
func (p Policy) decideGroup(r Reference) Decision {
	switch {
	case r.Pinned:
		return Decision{Allowed: true, Via: "IngressClassParams"}
	case p.Groups == GroupAnyNamespace:
		return Decision{Allowed: true, Via: "--ingress-group-namespaces=any"}
	case len(r.Owner.Namespaces) == 0 || r.From.within(r.Owner.Namespaces):
		return Decision{Allowed: true}
	}
	for _, ns := range r.Owner.Namespaces {
		if p.granted(r.From, ns, GrantGroup, GrantKindIngressGroup, r.Value) {
			return Decision{Allowed: true, Via: "ReferenceGrant in namespace " + ns}
		}
	}
	owner := strings.Join(r.Owner.Namespaces, ", ")
	return Decision{
		Reason: fmt.Sprintf("Ingress group %s belongs to namespace %s; %s may not join it", r.Value, owner, r.From),
		Fix: fmt.Sprintf("use a group name of your own; or, to share the group, namespace %s creates a ReferenceGrant from kind Ingress (group %s) of namespace %s to kind %s (group %s) named %s, or the platform pins the group in an IngressClassParams or runs lbsg with --ingress-group-namespaces=any",
			owner, ingressAPIGroup, r.From.Namespace, GrantKindIngressGroup, GrantGroup, r.Value)}
}

// granted reports whether a ReferenceGrant in namespace ns lets the subject refer to the
// resource.
func (p Policy) granted(from Subject, ns, group, kind, name string) bool {
	fromGroup := ""
	if from.Kind == "Ingress" {
		fromGroup = ingressAPIGroup
	}
	for _, g := range p.Grants {
		if g.Namespace != ns {
			continue
		}
		okFrom := slices.ContainsFunc(g.From, func(f GrantFrom) bool {
			return f.Group == fromGroup && f.Kind == from.Kind && f.Namespace == from.Namespace
		})
		okTo := slices.ContainsFunc(g.To, func(t GrantTo) bool {
			return t.Group == group && t.Kind == kind && (t.Name == "" || t.Name == name)
		})
		if okFrom && okTo {
			return true
		}
	}
	return false
}
