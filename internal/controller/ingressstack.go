package controller

import (
	"context"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/spec"
)

// IngressGroup is an Ingress group as Kubernetes shows it.
type IngressGroup struct {
	ID spec.IngressGroupID
	// Members are the live Ingresses lbsg owns in the group.
	Members []spec.IngressMember
	// Leaving are Ingresses that carry the group's finalizer but no longer belong to it:
	// deleted, moved to another group or class, or no longer lbsg's. Their finalizer is
	// removed once the group's load balancer no longer serves them.
	Leaving []*networkingv1.Ingress
	// Unresolved are live Ingresses that hold the group's finalizer but whose IngressClass
	// or IngressClassParams lbsg cannot find. They stay in the group, which changes nothing
	// in AWS while it has any: missing configuration never deletes a load balancer.
	Unresolved []UnresolvedIngress
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

// ingressParamsGroup is the API group of IngressClassParams.
const ingressParamsGroup = "elbv2.k8s.aws"

// classParams converts an IngressClassParams into the fields lbsg applies.
func classParams(p *elbv2api.IngressClassParams) *spec.ClassParams {
	cp := &spec.ClassParams{Name: p.Name, InboundCIDRs: p.Spec.InboundCIDRs, PrefixLists: p.Spec.PrefixLists(),
		CertificateARNs: p.Spec.CertificateArn, SSLPolicy: p.Spec.SSLPolicy}
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
// classOurs with MissingParams), the problem says why.
func ingressMember(ing *networkingv1.Ingress, objs ClusterObjects) (spec.IngressMember, classStatus, *spec.Problem) {
	m := spec.IngressMember{Ingress: ing}
	class, ours := spec.IngressClassOf(ing, objs.Classes)
	if !ours {
		if p := unresolvedClass(ing, class); p != nil {
			return m, classUnresolved, p
		}
		return m, classForeign, nil
	}
	if class == nil {
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
		if p.Spec.NamespaceSelector != nil {
			m.NamespaceNotSelected = !namespaceSelected(p.Spec.NamespaceSelector, ing.Namespace, objs.Namespaces)
		}
	}
	if m.MissingParams != "" {
		return m, classOurs, missingParams(m)
	}
	return m, classOurs, nil
}

// namespaceSelected reports whether the namespace's labels match an IngressClassParams
// namespaceSelector; an invalid selector selects nothing.
func namespaceSelected(sel *metav1.LabelSelector, namespace string, namespaces []corev1.Namespace) bool {
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

// IngressGroups sorts every Ingress into the groups lbsg serves: live members by their
// current group, Ingresses still holding a group's finalizer as leaving that group, and
// live Ingresses holding a group's finalizer whose class lbsg cannot resolve as unresolved
// in that group (without the IngressClassParams, even the group they belong to now is
// unknown, so they stay where their finalizers say).
func IngressGroups(objs ClusterObjects) map[spec.IngressGroupID]*IngressGroup {
	groups := map[spec.IngressGroupID]*IngressGroup{}
	get := func(id spec.IngressGroupID) *IngressGroup {
		g := groups[id]
		if g == nil {
			g = &IngressGroup{ID: id}
			groups[id] = g
		}
		return g
	}
	for i := range objs.Ingresses {
		ing := &objs.Ingresses[i]
		m, status, problem := ingressMember(ing, objs)
		held := groupsOfFinalizers(ing)
		if ing.DeletionTimestamp == nil && len(held) > 0 && problem != nil {
			for _, id := range held {
				g := get(id)
				g.Unresolved = append(g.Unresolved, UnresolvedIngress{Ingress: ing, Problem: problem})
			}
			continue
		}
		var current spec.IngressGroupID
		live := status == classOurs && ing.DeletionTimestamp == nil
		if live {
			current = spec.IngressGroupOf(ing, m.Params)
			g := get(current)
			g.Members = append(g.Members, m)
		}
		for _, id := range held {
			if !live || id != current {
				g := get(id)
				g.Leaving = append(g.Leaving, ing)
			}
		}
	}
	for _, g := range groups {
		spec.SortMembers(g.Members)
		sort.Slice(g.Leaving, func(i, j int) bool {
			return g.Leaving[i].Namespace+"/"+g.Leaving[i].Name < g.Leaving[j].Namespace+"/"+g.Leaving[j].Name
		})
		sort.Slice(g.Unresolved, func(i, j int) bool {
			a, b := g.Unresolved[i].Ingress, g.Unresolved[j].Ingress
			return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
		})
	}
	return groups
}

// GroupsOfIngress returns the groups whose reconcile an event on the Ingress concerns: its
// current group and every group it still holds a finalizer of.
func GroupsOfIngress(ing *networkingv1.Ingress, objs ClusterObjects) []spec.IngressGroupID {
	var out []spec.IngressGroupID
	held := groupsOfFinalizers(ing)
	// An unresolved Ingress holding finalizers concerns only the groups they name; a new
	// one whose IngressClassParams are missing joins a group, which reports it.
	if m, status, problem := ingressMember(ing, objs); status == classOurs && (problem == nil || len(held) == 0) {
		out = append(out, spec.IngressGroupOf(ing, m.Params))
	}
	for _, id := range held {
		if len(out) == 0 || out[0] != id {
			out = append(out, id)
		}
	}
	return out
}

// PlanIngressGroup plans one Ingress group: what the Ingress-group reconciler applies and
// `lbsg plan` prints. It writes nothing (see PlanService).
func (e *Engine) PlanIngressGroup(ctx context.Context, g *IngressGroup, objs ClusterObjects) (*StackPlan, error) {
	// Listeners and targets are read only for a group that keeps its load balancer.
	children := len(g.Members) > 0 || len(g.Unresolved) > 0
	return e.planObserved(ctx, e.ingressIdentity(g.ID), children, func(obs plan.Observed, sgs []cloud.SecurityGroup) (*StackPlan, error) {
		return e.planIngressGroup(ctx, g, objs, obs, sgs)
	})
}

func (e *Engine) planIngressGroup(ctx context.Context, g *IngressGroup, objs ClusterObjects, obs plan.Observed, sgs []cloud.SecurityGroup) (*StackPlan, error) {
	sp := &StackPlan{Owner: g.ID.Owner(), Observed: obs}
	sp.Subject = subjectOf(sp.Owner, memberNamespaces(g))
	if len(g.Unresolved) > 0 {
		// The group's load balancer is kept exactly as it is: without the class, lbsg
		// does not know what the group should be, and a guess could delete it.
		for _, u := range g.Unresolved {
			sp.Problems = append(sp.Problems, u.Problem)
		}
		return sp, nil
	}
	if len(g.Members) == 0 {
		sp.Plan = plan.Stack(plan.StackInput{Observed: obs, KeepTag: e.keepTag}, sp.Owner.String())
		return sp, nil
	}
	facts := spec.IngressFacts{Services: map[string]*corev1.Service{}, EndpointPorts: map[string]map[string]int32{}}
	if len(obs.LoadBalancers) > 0 {
		facts.LBExists, facts.LBScheme = true, obs.LoadBalancers[0].Scheme
	}
	backends := map[string]bool{}
	for _, m := range g.Members {
		for _, name := range backendServices(m.Ingress) {
			backends[m.Ingress.Namespace+"/"+name] = true
		}
	}
	for i := range objs.Services {
		svc := &objs.Services[i]
		if key := svc.Namespace + "/" + svc.Name; backends[key] {
			facts.Services[key] = svc
			facts.EndpointPorts[key] = endpointPorts(svc, objs.Slices)
		}
	}
	certs, err := e.findCertificates(ctx, g.Members)
	if err != nil {
		return nil, err
	}
	facts.CertificatesByHost = certs
	facts.Policy = e.Policy
	if facts.ForwardTargetGroups, sp.forwardTGTags, err = e.forwardTargetGroups(ctx, g, obs); err != nil {
		return nil, err
	}
	stack, problems := spec.BuildIngressGroup(g.ID, g.Members, e.Settings, facts)
	if len(problems) > 0 {
		sp.Problems = problems
		return sp, nil
	}
	sp.Stack = stack
	return sp, e.planStack(ctx, sp, objs, sgs)
}

// memberNamespaces are the namespaces of a group's members.
func memberNamespaces(g *IngressGroup) []string {
	var out []string
	for _, m := range g.Members {
		out = appendOnce(out, m.Ingress.Namespace)
	}
	slices.Sort(out)
	return out
}

// backendServices returns the names of the Services an Ingress routes to, in its namespace:
// its backends and the Services its actions.* annotations forward to.
func backendServices(ing *networkingv1.Ingress) []string {
	out := annotations.ActionServiceNames(ing.Annotations)
	if b := ing.Spec.DefaultBackend; b != nil && b.Service != nil {
		out = append(out, b.Service.Name)
	}
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			if p.Backend.Service != nil {
				out = append(out, p.Backend.Service.Name)
			}
		}
	}
	return out
}

// groupIDOf is the group an Ingress stack's owner names.
func groupIDOf(o spec.Owner) spec.IngressGroupID {
	if o.Kind == "IngressGroup" {
		return spec.IngressGroupID{Name: o.Name}
	}
	return spec.IngressGroupID{Namespace: o.Namespace, Name: o.Name}
}

// ingressIdentity is what an Ingress group's resources carry in AWS.
func (e *Engine) ingressIdentity(id spec.IngressGroupID) plan.Identity {
	sgName := naming.IngressSGName(e.Settings.Cluster, id.Namespace, id.Name)
	if id.Explicit() {
		sgName = naming.IngressGroupSGName(e.Settings.Cluster, id.Name)
	}
	return plan.Identity{
		Cluster:       e.Settings.Cluster,
		StackTag:      naming.IngressStackTag,
		StackID:       id.String(),
		ResourceTag:   naming.IngressResourceTag,
		ManagedSGName: sgName,
		LBType:        spec.TypeApplication,
	}
}
