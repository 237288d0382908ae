package controller

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/spec"
)

// IngressGroup is an Ingress group as Kubernetes shows it.
type IngressGroup struct {
	ID spec.IngressGroupID
	// Owner is the namespace that owns an explicit group (authz.GroupOwnerKeeping); "" for
	// an implicit one.
	Owner string
	// OwnedBySelection: the group takes members of any namespace its IngressClassParams
	// select, or of every namespace (--ingress-group-namespaces=any), so its owner decides
	// nothing.
	OwnedBySelection bool
	// Members are the live Ingresses lbsg owns in the group and that may be in it.
	Members []spec.IngressMember
	// Leaving are Ingresses that carry the group's finalizer but no longer belong to it:
	// deleted, moved to another group or class, or no longer lbsg's. Their finalizer is
	// removed once the group's load balancer no longer serves them.
	Leaving []*networkingv1.Ingress
	// Unresolved are live Ingresses that hold the group's finalizer, that the reference
	// policy admits to the group, but whose IngressClass or IngressClassParams lbsg cannot
	// find. While one of them holds the group (spec.GroupHolders), the group changes nothing
	// in AWS: missing configuration never deletes a load balancer.
	Unresolved []UnresolvedIngress
	// Excluded are live Ingresses that ask for the group (or hold its finalizer) but are not
	// members: refused by their class or the platform's flags, or denied by the reference
	// policy. Each is reported on itself only.
	Excluded []ExcludedIngress
}

// ExcludedIngress is an Ingress left out of a group, with why.
type ExcludedIngress struct {
	Ingress *networkingv1.Ingress
	Problem *spec.Problem
	// Reason is the reason of the Warning Event.
	Reason string
	// Denied: the reference policy refused it the group (another namespace's group). It
	// never holds the group, and the group's finalizer is taken off it at once.
	Denied bool
}

// Objects returns every Ingress of the group: members, unresolved, then leaving.
func (g *IngressGroup) Objects() []*networkingv1.Ingress {
	out := g.live()
	return append(out, g.Leaving...)
}

// live returns the Ingresses lbsg still holds in the group: members and unresolved. Each
// carries lbsg's condition.
func (g *IngressGroup) live() []*networkingv1.Ingress {
	out := make([]*networkingv1.Ingress, 0, len(g.Members)+len(g.Unresolved)+len(g.Leaving))
	for _, m := range g.Members {
		out = append(out, m.Ingress)
	}
	for _, u := range g.Unresolved {
		out = append(out, u.Ingress)
	}
	return out
}

// GroupRules are what, besides the objects, sorts Ingresses into groups: the class rules
// of the flags and the reference policy (whose ReferenceGrants come with the objects).
type GroupRules struct {
	Classes spec.ClassRules
	Policy  authz.Policy
	// Serving are, per explicit group, the namespaces whose Ingresses its load balancer
	// serves now (ServingNamespaces): they keep the group while they ask for it
	// (authz.GroupOwnerKeeping). Without it, the oldest claim decides.
	Serving map[spec.IngressGroupID][]string
}

// GroupRules are the engine's.
func (e *Engine) GroupRules() GroupRules { return GroupRules{Classes: e.Classes, Policy: e.Policy} }

// ingressParamsGroup is the API group of IngressClassParams.
const ingressParamsGroup = "elbv2.k8s.aws"

// classParams converts an IngressClassParams into the fields lbsg applies.
func classParams(p *elbv2api.IngressClassParams) *spec.ClassParams {
	cp := &spec.ClassParams{Name: p.Name, InboundCIDRs: p.Spec.InboundCIDRs, PrefixLists: p.Spec.PrefixLists(),
		CertificateARNs: p.Spec.CertificateArn, SSLPolicy: p.Spec.SSLPolicy, SSLRedirectPort: p.Spec.SSLRedirectPort,
		WAFv2ACLArn: p.Spec.WAFv2ACLArn, WAFv2ACLName: p.Spec.WAFv2ACLName}
	if p.Spec.Group != nil {
		cp.Group = p.Spec.Group.Name
	}
	if p.Spec.Scheme != nil {
		cp.Scheme = string(*p.Spec.Scheme)
	}
	if p.Spec.IPAddressType != nil {
		cp.IPAddressType = string(*p.Spec.IPAddressType)
	}
	classParamsAttrs(cp, p)
	if len(p.Spec.Tags) > 0 {
		cp.Tags = map[string]string{}
		for _, t := range p.Spec.Tags {
			cp.Tags[t.Key] = t.Value
		}
	}
	return cp
}

// ingressMember returns how lbsg sees one Ingress: whether it owns it, and the member with
// its class and parameters. When the class cannot be resolved (classUnresolved, or
// classOurs with MissingParams), or refuses the Ingress (classRefused), the problem says
// why.
func ingressMember(ing *networkingv1.Ingress, objs ClusterObjects, rules spec.ClassRules) (spec.IngressMember, classStatus, *spec.Problem) {
	m := spec.IngressMember{Ingress: ing}
	class, ours, refused := spec.IngressClassOf(ing, objs.Classes, rules)
	switch {
	case refused != nil:
		return m, classRefused, refused
	case !ours:
		if p := unresolvedClass(ing, class); p != nil {
			return m, classUnresolved, p
		}
		return m, classForeign, nil
	case class == nil:
		return m, classOurs, nil
	}
	m.ClassName = class.Name
	ref := class.Spec.Parameters
	if ref == nil || ref.APIGroup == nil || *ref.APIGroup != ingressParamsGroup || ref.Kind != "IngressClassParams" {
		return m, classOurs, nil
	}
	m.MissingParams = ref.Name
	for i := range objs.Params {
		p := &objs.Params[i]
		if p.Name != ref.Name {
			continue
		}
		m.Params, m.MissingParams = classParams(p), ""
		if !namespaceSelected(p.Spec.NamespaceSelector, ing.Namespace, objs.Namespaces) {
			return m, classRefused, &spec.Problem{Key: "spec.ingressClassName", Value: class.Name,
				Reason: fmt.Sprintf("namespace %s is not selected by the namespaceSelector of IngressClassParams %s (Ingress %s/%s): the class does not admit the Ingress, which is not served", ing.Namespace, p.Name, ing.Namespace, ing.Name),
				Fix:    "use an IngressClass whose parameters allow this namespace, or ask the platform to label the namespace to match"}
		}
	}
	if m.MissingParams != "" {
		return m, classOurs, missingParams(m)
	}
	return m, classOurs, nil
}

// namespaceSelected reports whether the namespace's labels match an IngressClassParams
// namespaceSelector (nil selects every namespace); an invalid selector selects nothing.
func namespaceSelected(sel *metav1.LabelSelector, namespace string, namespaces []corev1.Namespace) bool {
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	for _, ns := range namespaces {
		if ns.Name == namespace {
			return s.Matches(labels.Set(ns.Labels))
		}
	}
	return false
}

// groupsOfFinalizers returns the groups an Ingress's lbsg finalizers name.
func groupsOfFinalizers(ing *networkingv1.Ingress) []spec.IngressGroupID {
	var out []spec.IngressGroupID
	for _, f := range ing.Finalizers {
		switch {
		case f == naming.IngressFinalizer:
			out = append(out, spec.IngressGroupID{Namespace: ing.Namespace, Name: ing.Name})
		case strings.HasPrefix(f, naming.IngressGroupFinalizer("")):
			out = append(out, spec.IngressGroupID{Name: strings.TrimPrefix(f, naming.IngressGroupFinalizer(""))})
		}
	}
	return out
}

// claim is an Ingress that asks to be in an explicit group: a member-to-be, or an
// unresolved Ingress that holds the group's finalizer.
type claim struct {
	member     spec.IngressMember
	unresolved *spec.Problem
	authz      authz.GroupClaim
}

// IngressGroups sorts every Ingress into the groups lbsg serves: live members by their
// current group, Ingresses still holding a group's finalizer as leaving that group, and
// live Ingresses holding a group's finalizer whose class lbsg cannot resolve as unresolved
// in that group (without the IngressClassParams, even the group they belong to now is
// unknown, so they stay where their finalizers say). An Ingress its class refuses is
// excluded from the group it asks for; an explicit group's claims then pass the reference
// policy (authz.Policy.DecideGroup), and those it denies are excluded too.
func IngressGroups(objs ClusterObjects, r GroupRules) map[spec.IngressGroupID]*IngressGroup {
	groups := map[spec.IngressGroupID]*IngressGroup{}
	get := func(id spec.IngressGroupID) *IngressGroup {
		g := groups[id]
		if g == nil {
			g = &IngressGroup{ID: id}
			groups[id] = g
		}
		return g
	}
	claims := map[spec.IngressGroupID][]claim{}
	for i := range objs.Ingresses {
		ing := &objs.Ingresses[i]
		m, status, problem := ingressMember(ing, objs, r.Classes)
		held := groupsOfFinalizers(ing)
		live := ing.DeletionTimestamp == nil
		if live && len(held) > 0 && problem != nil && status != classRefused {
			for _, id := range held {
				if id.Explicit() {
					claims[id] = append(claims[id], claim{member: m, unresolved: problem,
						authz: groupClaim(ing, id, pinnedFor(id.Name, ing.Namespace, objs), "finalizer "+id.Finalizer())})
				} else {
					get(id).Unresolved = append(get(id).Unresolved, UnresolvedIngress{Ingress: ing, Problem: problem})
				}
			}
			continue
		}
		var current spec.IngressGroupID
		asks := live && (status == classOurs || status == classRefused)
		if asks {
			current = spec.IngressGroupOf(ing, m.Params)
			var refusal *spec.Problem
			if status == classRefused {
				refusal = problem
			} else {
				refusal = spec.GroupNameRefused(ing, m.Params, r.Classes)
			}
			switch {
			case refusal != nil:
				get(current).Excluded = append(get(current).Excluded, ExcludedIngress{Ingress: ing, Problem: refusal, Reason: EventReferenceDenied})
			case current.Explicit():
				pinned := m.Params != nil && m.Params.Group == current.Name
				claims[current] = append(claims[current], claim{member: m, authz: groupClaim(ing, current, pinned, groupKey(m))})
			default:
				get(current).Members = append(get(current).Members, m)
			}
		}
		for _, id := range held {
			if !asks || id != current {
				get(id).Leaving = append(get(id).Leaving, ing)
			}
		}
	}
	policy := r.Policy
	policy.Grants = append(append([]authz.Grant(nil), policy.Grants...), objs.Grants...)
	for id, cs := range claims {
		decideClaims(get(id), cs, policy, pinnedBy(id.Name, objs.Params), r.Serving[id])
	}
	for _, g := range groups {
		sortGroup(g)
	}
	return groups
}

// decideClaims asks the reference policy about every claim on an explicit group.
func decideClaims(g *IngressGroup, cs []claim, policy authz.Policy, pinned, serving []string) {
	ac := make([]authz.GroupClaim, len(cs))
	for i, c := range cs {
		ac[i] = c.authz
	}
	g.Owner = authz.GroupOwnerKeeping(ac, serving)
	g.OwnedBySelection = len(pinned) > 0 || policy.Groups == authz.GroupAnyNamespace
	for i, d := range policy.DecideGroupOwned(g.ID.Name, g.Owner, pinned, ac) {
		c := cs[i]
		switch {
		case d.Allowed && c.unresolved != nil:
			g.Unresolved = append(g.Unresolved, UnresolvedIngress{Ingress: c.member.Ingress, Problem: c.unresolved})
		case d.Allowed:
			g.Members = append(g.Members, c.member)
		default:
			denial := denialProblem(authz.Denial{Reference: authz.GroupReference(g.ID.Name, g.Owner, c.authz), Decision: d})
			if c.unresolved != nil {
				// Its own problem stays its own: it does not hold the group.
				denial.Reason = c.unresolved.Reason + "; it is not a member of the group, which it does not hold: " + denial.Reason
			}
			g.Excluded = append(g.Excluded, ExcludedIngress{Ingress: c.member.Ingress, Problem: denial, Reason: EventReferenceDenied, Denied: true})
		}
	}
}

// groupClaim is an Ingress's claim on an explicit group, for the reference authorizer.
func groupClaim(ing *networkingv1.Ingress, id spec.IngressGroupID, pinned bool, key string) authz.GroupClaim {
	return authz.GroupClaim{Ingress: authz.Subject{Kind: "Ingress", Namespace: ing.Namespace, Name: ing.Name},
		Created: ing.CreationTimestamp.Time, Key: key, Pinned: pinned}
}

// groupKey is where a member names its group: its IngressClassParams, or the annotation.
func groupKey(m spec.IngressMember) string {
	if m.Params != nil && m.Params.Group != "" {
		return "IngressClassParams " + m.Params.Name + " spec.group.name"
	}
	return annotations.IngGroupName
}

// pinnedBy names the IngressClassParams that set the group, sorted.
func pinnedBy(group string, params []elbv2api.IngressClassParams) []string {
	var out []string
	for _, p := range params {
		if p.Spec.Group != nil && p.Spec.Group.Name == group {
			out = append(out, p.Name)
		}
	}
	sort.Strings(out)
	return out
}

// pinnedFor reports whether IngressClassParams set the group and admit the namespace: an
// unresolved Ingress, whose own class is unknown, is then taken to be one of theirs.
func pinnedFor(group, namespace string, objs ClusterObjects) bool {
	for _, p := range objs.Params {
		if p.Spec.Group != nil && p.Spec.Group.Name == group && namespaceSelected(p.Spec.NamespaceSelector, namespace, objs.Namespaces) {
			return true
		}
	}
	return false
}

func sortGroup(g *IngressGroup) {
	key := func(ing *networkingv1.Ingress) string { return ing.Namespace + "/" + ing.Name }
	spec.SortMembers(g.Members)
	sort.Slice(g.Leaving, func(i, j int) bool { return key(g.Leaving[i]) < key(g.Leaving[j]) })
	sort.Slice(g.Unresolved, func(i, j int) bool { return key(g.Unresolved[i].Ingress) < key(g.Unresolved[j].Ingress) })
	sort.Slice(g.Excluded, func(i, j int) bool { return key(g.Excluded[i].Ingress) < key(g.Excluded[j].Ingress) })
}

// GroupsOfIngress returns the groups whose reconcile an event on the Ingress concerns: the
// group it asks for and every group it still holds a finalizer of.
func GroupsOfIngress(ing *networkingv1.Ingress, objs ClusterObjects, r GroupRules) []spec.IngressGroupID {
	var out []spec.IngressGroupID
	held := groupsOfFinalizers(ing)
	// An unresolved Ingress holding finalizers concerns only the groups they name; a new
	// one whose IngressClassParams are missing joins a group, which reports it; one its
	// class refuses is reported by the group it asks for.
	m, status, problem := ingressMember(ing, objs, r.Classes)
	if status == classRefused || status == classOurs && (problem == nil || len(held) == 0) {
		out = append(out, spec.IngressGroupOf(ing, m.Params))
	}
	for _, id := range held {
		if len(out) == 0 || out[0] != id {
			out = append(out, id)
		}
	}
	return out
}
