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
	// Held: an object lbsg trusts to speak for the stack holds it (a Service that is
	// lbsg's or holds its finalizer, a member of an Ingress group); its own reconciler
	// decides, and the stack is never an orphan.
	Held bool `json:"held"`
	// Why names what holds the stack, or (not held) why the object no longer wants it.
	Why string `json:"why"`
	// Holders may hold the stack on its evidence only (Holder).
	Holders []Holder `json:"holders,omitempty"`
}

// Holder is an Ingress that is no member of an Ingress group and yet may hold the
// group's stack: it holds the group's finalizer, asks for the group but its class or the
// platform's flags refuse it, names the group while its IngressClass is missing, may be
// placed in any group by IngressClassParams that are missing, or shows the group's load
// balancer in its status. Each of those is something its tenant may write, or
// configuration lbsg cannot find; so a Holder holds only a stack that may be its own:
// its own implicit group, or an explicit group whose target groups were made for an
// Ingress of its namespace (ingress.k8s.aws/resource "<namespace>/<ingress>-...", which
// lbsg alone writes). Absence of configuration keeps a stack for its own Ingresses, never
// for another namespace's.
type Holder struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Why says how it asks for the stack.
	Why string `json:"why"`
}

// Claims are what the cluster's Kubernetes objects say of every stack they name. A stack
// they do not name has no object left: it is an orphan.
type Claims struct {
	// Services by "<namespace>/<name>": every Service that exists.
	Services map[string]Claim `json:"services,omitempty"`
	// Groups by stack ID: every Ingress group that some Ingress is a member of, asks for,
	// holds the finalizer of, or may belong to.
	Groups map[string]Claim `json:"groups,omitempty"`
	// AnyExplicitGroup are Ingresses of lbsg's class whose IngressClassParams are
	// missing: those parameters may name any explicit group, so each may hold every
	// explicit group (as a Holder).
	AnyExplicitGroup []Holder `json:"anyExplicitGroup,omitempty"`
	// DNSNames are load balancer DNS names that an Ingress lbsg cannot resolve or whose
	// class refuses it shows in its status: it may have been a member of that load
	// balancer's group, and may hold it (as a Holder). Only lbsg writes the status of its
	// Ingresses, but a tenant allowed to write ingresses/status could write anything there.
	DNSNames map[string][]Holder `json:"dnsNames,omitempty"`
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
	// TargetGroupsUnread: TargetGroups were not read. A stack that only Holders hold
	// cannot be decided without them: it is returned as a Suspected orphan.
	TargetGroupsUnread bool   `json:"targetGroupsUnread,omitempty"`
	Claims             Claims `json:"claims"`
}

// Orphan is a stack whose object no longer exists, or explicitly no longer wants it, with
// what is left of it in AWS. Its plan is the one for a deleted owner: Stack with Desired
// nil.
type Orphan struct {
	Stack    StackRef   `json:"stack"`
	Owner    spec.Owner `json:"owner"`
	Reason   string     `json:"reason"`
	Observed Observed   `json:"observed"`
	// Suspected: the stack is held by Holders only and the target groups, its evidence,
	// were not read (OrphanInput.TargetGroupsUnread). Read them and decide again; a
	// suspected orphan is never collected.
	Suspected bool `json:"suspected,omitempty"`
}

// Orphans finds the stacks of this cluster that no Kubernetes object holds. A stack is
// named by any load balancer, target group or managed SG that carries the cluster tag and
// exactly one stack tag; what it has is what carries its full identity (Identity), so a
// resource with a copied tag is never taken for a stack's. Stacks whose load balancers or
// managed SGs are ambiguous are left alone (returned in skipped, with why), as the
// reconcilers leave them. Absence of configuration never makes an orphan of a stack that
// may be its object's own (Holder): only a missing object, or one that explicitly moved
// away.
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
		ev := evidence{read: !in.TargetGroupsUnread}
		for _, tg := range RecogniseTargetGroups(id, in.TargetGroups) {
			if !inVPC(tg.VPCID) {
				continue
			}
			// A bound target group is not collected, but lbsg made it for the stack: it
			// says whom the stack serves.
			ev.targetGroups = append(ev.targetGroups, tg.Tags[id.ResourceTag])
			if !in.Claims.BoundTargetGroups[tg.ARN] {
				o.Observed.TargetGroups = append(o.Observed.TargetGroups, tg)
			}
		}
		if len(o.Observed.LoadBalancers)+len(o.Observed.TargetGroups)+len(o.Observed.ManagedSGs) == 0 {
			continue
		}
		if v := in.Claims.decide(ref, owner, o.Observed.LoadBalancers, ev); v.orphan {
			o.Reason, o.Suspected = v.reason, v.suspected
			orphans = append(orphans, o)
		}
	}
	return orphans, skipped
}

// evidence is what AWS says of whom a stack serves: the resource IDs of its target
// groups (ingress.k8s.aws/resource), which lbsg alone writes.
type evidence struct {
	read         bool // the target groups were read
	targetGroups []string
}

// namespaces are the namespaces the stack's target groups were made for, sorted.
func (e evidence) namespaces() []string {
	var out []string
	for _, id := range e.targetGroups {
		if ns, _, ok := strings.Cut(id, "/"); ok && ns != "" && !slices.Contains(out, ns) {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out
}

// verdict is the decision on one stack.
type verdict struct {
	orphan, suspected bool
	reason            string
}

// decide says whether the stack is an orphan, and why.
func (c Claims) decide(ref StackRef, owner spec.Owner, lbs []state.LoadBalancer, ev evidence) verdict {
	if ref.Tag == naming.ServiceStackTag {
		claim, exists := c.Services[ref.ID]
		switch {
		case exists && claim.Held:
			return verdict{}
		case exists:
			return verdict{orphan: true, reason: claim.Why}
		}
		return verdict{orphan: true, reason: fmt.Sprintf("Service %s/%s no longer exists", owner.Namespace, owner.Name)}
	}
	claim, exists := c.Groups[ref.ID]
	if exists && claim.Held {
		return verdict{}
	}
	holders := slices.Clone(claim.Holders)
	if owner.Kind == "IngressGroup" {
		holders = append(holders, c.AnyExplicitGroup...)
	}
	for _, lb := range lbs {
		if lb.DNSName != "" {
			holders = append(holders, c.DNSNames[lb.DNSName]...)
		}
	}
	reason := fmt.Sprintf("Ingress %s/%s no longer exists", owner.Namespace, owner.Name)
	switch {
	case exists && claim.Why != "":
		reason = claim.Why
	case owner.Kind == "IngressGroup":
		reason = fmt.Sprintf("no Ingress is a member of Ingress group %s or holds its finalizer %s", owner.Name, naming.IngressGroupFinalizer(owner.Name))
	}
	if len(holders) == 0 {
		return verdict{orphan: true, reason: reason}
	}
	if owner.Kind == "Ingress" {
		// An implicit group is its one Ingress's.
		for _, h := range holders {
			if h.Namespace == owner.Namespace && h.Name == owner.Name {
				return verdict{}
			}
		}
		return verdict{orphan: true, reason: reason + refusedHolders(holders, fmt.Sprintf("the load balancer is Ingress %s/%s's", owner.Namespace, owner.Name))}
	}
	if !ev.read {
		return verdict{orphan: true, suspected: true, reason: reason + "; its target groups decide whether " + holderNames(holders) + " may hold it"}
	}
	served := ev.namespaces()
	if len(ev.targetGroups) == 0 {
		// Fixed responses and redirects only: no target group says whom the load balancer
		// serves, and it sends traffic to no backend. Those that ask for the group hold it,
		// as they do for its reconciler (spec.GroupHolders), which is never undone here.
		return verdict{}
	}
	for _, h := range holders {
		if slices.Contains(served, h.Namespace) {
			return verdict{}
		}
	}
	return verdict{orphan: true, reason: reason + refusedHolders(holders, "its target groups were made for Ingresses of namespace "+strings.Join(served, ", ")+" only")}
}

// refusedHolders says why holders that ask for a stack do not hold it.
func refusedHolders(holders []Holder, because string) string {
	names := holderNames(holders)
	verbs := "asks for it but does"
	if strings.Contains(names, ", ") {
		verbs = "ask for it but do"
	}
	return fmt.Sprintf("; %s %s not hold it (%s): %s", names, verbs, because, holders[0].Why)
}

// holderNames names the holders, each once.
func holderNames(holders []Holder) string {
	var names []string
	for _, h := range holders {
		if n := "Ingress " + h.Namespace + "/" + h.Name; !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) > 3 {
		names = append(names[:3], fmt.Sprintf("and %d more", len(names)-3))
	}
	return strings.Join(names, ", ")
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
