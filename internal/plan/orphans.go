package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

// StackRef names a stack as its resources do in AWS: the stack tag and its value
// (service.k8s.aws/stack=<namespace>/<name>, ingress.k8s.aws/stack=<group> or
// <namespace>/<name> for an implicit group).
type StackRef struct {
	Tag string `json:"tag"`
	ID  string `json:"id"`
}

func (s StackRef) String() string { return s.Tag + "=" + s.ID }

// Owner is the Kubernetes object the stack is made for, or "" when the ID cannot name one.
func (s StackRef) Owner() (spec.Owner, bool) {
	ns, name, namespaced := strings.Cut(s.ID, "/")
	switch {
	case s.Tag == naming.ServiceStackTag && namespaced && ns != "" && name != "" && !strings.Contains(name, "/"):
		return spec.Owner{Kind: "Service", Namespace: ns, Name: name}, true
	case s.Tag == naming.IngressStackTag && namespaced && ns != "" && name != "" && !strings.Contains(name, "/"):
		return spec.IngressGroupID{Namespace: ns, Name: name}.Owner(), true
	case s.Tag == naming.IngressStackTag && !namespaced && s.ID != "":
		return spec.IngressGroupID{Name: s.ID}.Owner(), true
	}
	return spec.Owner{}, false
}

// Identity is what the stack's resources carry. A Service's managed SG name hashes the
// Service's UID, unknown once the Service is gone: its shape is checked instead.
func (s StackRef) Identity(cluster string) Identity {
	id := Identity{Cluster: cluster, StackTag: s.Tag, StackID: s.ID}
	switch s.Tag {
	case naming.ServiceStackTag:
		id.ResourceTag, id.LBType, id.AnyServiceUID = naming.ServiceResourceTag, spec.TypeNetwork, true
	case naming.IngressStackTag:
		id.ResourceTag, id.LBType = naming.IngressResourceTag, spec.TypeApplication
		if ns, name, implicit := strings.Cut(s.ID, "/"); implicit {
			id.ManagedSGName = naming.IngressSGName(cluster, ns, name)
		} else {
			id.ManagedSGName = naming.IngressGroupSGName(cluster, s.ID)
		}
	}
	return id
}

// Claim is what Kubernetes says of a stack whose object exists.
type Claim struct {
	// Held: an object still holds the stack (a member, a finalizer, configuration lbsg
	// cannot resolve); its own reconciler decides, and the stack is never an orphan.
	Held bool `json:"held"`
	// Why names what holds the stack, or (not held) why the object no longer wants it.
	Why string `json:"why"`
}

// Claims are what the cluster's Kubernetes objects say of every stack they name. A stack
// they do not name has no object left: it is an orphan.
type Claims struct {
	// Services by "<namespace>/<name>": every Service that exists.
	Services map[string]Claim `json:"services,omitempty"`
	// Groups by stack ID: every Ingress group that some Ingress names, is a member of,
	// holds the finalizer of, or may belong to.
	Groups map[string]Claim `json:"groups,omitempty"`
	// ExplicitGroups, when set, holds every explicit Ingress group and says why: an
	// Ingress of lbsg's class whose IngressClassParams are missing may belong to any group
	// those parameters name.
	ExplicitGroups string `json:"explicitGroups,omitempty"`
	// DNSNames are load balancer DNS names that an Ingress whose class lbsg cannot resolve
	// still shows in its status (which only lbsg writes): it was a member of that load
	// balancer's group, and holds it. By DNS name, what holds it.
	DNSNames map[string]string `json:"dnsNames,omitempty"`
	// BoundTargetGroups are target group ARNs that TargetGroupBindings name: never
	// collected, whatever their tags.
	BoundTargetGroups map[string]bool `json:"boundTargetGroups,omitempty"`
}

// OrphanInput is what the orphan decision is made from: the inventories lbsg already
// reads (every load balancer and k8s- target group of the region, the SGs tagged for the
// cluster) and what Kubernetes says.
type OrphanInput struct {
	Cluster string `json:"cluster"`
	// VPCID is the cluster's VPC: load balancers and target groups of another VPC are
	// never collected ("" when unknown).
	VPCID string `json:"vpcID,omitempty"`
	// Namespace, when set (--watch-namespace), limits the decision to the stacks of that
	// namespace: lbsg sees no other namespace's objects, and an explicit Ingress group may
	// have members there, so those stacks are never its to collect.
	Namespace      string                `json:"namespace,omitempty"`
	LoadBalancers  []state.LoadBalancer  `json:"loadBalancers,omitempty"`
	TargetGroups   []state.TargetGroup   `json:"targetGroups,omitempty"`
	SecurityGroups []state.SecurityGroup `json:"securityGroups,omitempty"`
	Claims         Claims                `json:"claims"`
}

// Orphan is a stack whose object no longer exists, or explicitly no longer wants it, with
// what is left of it in AWS. Its plan is the one for a deleted owner: Stack with Desired
// nil.
type Orphan struct {
	Stack    StackRef   `json:"stack"`
	Owner    spec.Owner `json:"owner"`
	Reason   string     `json:"reason"`
	Observed Observed   `json:"observed"`
}

// Orphans finds the stacks of this cluster that no Kubernetes object holds. A stack is
// named by any load balancer, target group or managed SG that carries the cluster tag and
// exactly one stack tag; what it has is what carries its full identity (Identity), so a
// resource with a copied tag is never taken for a stack's. Stacks whose load balancers or
// managed SGs are ambiguous are left alone (returned in skipped, with why), as the
// reconcilers leave them. Absence of configuration never makes an orphan: only a missing
// object, or one that explicitly moved away.
func Orphans(in OrphanInput) (orphans []Orphan, skipped []string) {
	refs := map[StackRef]bool{}
	inVPC := func(vpc string) bool { return in.VPCID == "" || vpc == "" || vpc == in.VPCID }
	for _, lb := range in.LoadBalancers {
		if ref, ok := stackRefOf(in.Cluster, lb.Tags); ok && inVPC(lb.VPCID) {
			refs[ref] = true
		}
	}
	for _, tg := range in.TargetGroups {
		if ref, ok := stackRefOf(in.Cluster, tg.Tags); ok && inVPC(tg.VPCID) {
			refs[ref] = true
		}
	}
	for _, sg := range in.SecurityGroups {
		if ref, ok := stackRefOf(in.Cluster, sg.Tags); ok {
			refs[ref] = true
		}
	}
	for _, ref := range slices.SortedFunc(maps.Keys(refs), func(a, b StackRef) int { return strings.Compare(a.String(), b.String()) }) {
		owner, ok := ref.Owner()
		if !ok || in.Namespace != "" && owner.Namespace != in.Namespace {
			continue // names no object lbsg could have made it for, or one it does not watch
		}
		o := Orphan{Stack: ref, Owner: owner}
		id := ref.Identity(in.Cluster)
		var err error
		lbs := slices.DeleteFunc(slices.Clone(in.LoadBalancers), func(lb state.LoadBalancer) bool { return !inVPC(lb.VPCID) })
		if o.Observed.LoadBalancers, err = RecogniseLoadBalancers(id, lbs); err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		if o.Observed.ManagedSGs, err = RecogniseManagedSGs(id, in.SecurityGroups); err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		for _, tg := range RecogniseTargetGroups(id, in.TargetGroups) {
			if inVPC(tg.VPCID) && !in.Claims.BoundTargetGroups[tg.ARN] {
				o.Observed.TargetGroups = append(o.Observed.TargetGroups, tg)
			}
		}
		if len(o.Observed.LoadBalancers)+len(o.Observed.TargetGroups)+len(o.Observed.ManagedSGs) == 0 {
			continue
		}
		if o.Reason, ok = in.Claims.orphaned(ref, owner, o.Observed.LoadBalancers); ok {
			orphans = append(orphans, o)
		}
	}
	return orphans, skipped
}

// orphaned says why the stack is an orphan, or false when an object holds it.
func (c Claims) orphaned(ref StackRef, owner spec.Owner, lbs []state.LoadBalancer) (string, bool) {
	var claim Claim
	var exists bool
	if ref.Tag == naming.ServiceStackTag {
		claim, exists = c.Services[ref.ID]
	} else {
		claim, exists = c.Groups[ref.ID]
		if owner.Kind == "IngressGroup" && c.ExplicitGroups != "" {
			return "", false
		}
		for _, lb := range lbs {
			if _, held := c.DNSNames[lb.DNSName]; held && lb.DNSName != "" {
				return "", false
			}
		}
	}
	switch {
	case exists && claim.Held:
		return "", false
	case exists:
		return claim.Why, true
	case owner.Kind == "Service":
		return fmt.Sprintf("Service %s/%s no longer exists", owner.Namespace, owner.Name), true
	case owner.Kind == "Ingress":
		return fmt.Sprintf("Ingress %s/%s no longer exists", owner.Namespace, owner.Name), true
	}
	return fmt.Sprintf("no Ingress is a member of Ingress group %s or holds its finalizer %s", owner.Name, naming.IngressGroupFinalizer(owner.Name)), true
}

// stackRefOf returns the stack a resource's tags name: the cluster tag with this
// cluster's value and exactly one stack tag, of a Service or an Ingress group.
func stackRefOf(cluster string, tags map[string]string) (StackRef, bool) {
	if cluster == "" || tags[naming.TagCluster] != cluster {
		return StackRef{}, false
	}
	var ref StackRef
	n := 0
	for _, k := range stackTagKeys {
		if v, ok := tags[k]; ok {
			n++
			ref = StackRef{Tag: k, ID: v}
		}
	}
	if n != 1 || ref.ID == "" || (ref.Tag != naming.ServiceStackTag && ref.Tag != naming.IngressStackTag) {
		return StackRef{}, false
	}
	return ref, true
}
