package controller

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/spec"
)

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
	exists := len(obs.LoadBalancers)+len(obs.TargetGroups)+len(obs.ManagedSGs) > 0
	served := servedTargetGroups(obs)
	if ns := servingNamespaces(served); g.ID.Explicit() && !g.OwnedBySelection && g.Owner != "" && len(ns) > 0 && !slices.Contains(ns, g.Owner) {
		// The load balancer serves namespaces that no longer ask for the group, which now
		// belongs to another: it is not handed over (its DNS name would then send the old
		// owner's clients to the new one). It is deleted; the new owner's Ingresses get a
		// load balancer of their own at the next reconcile.
		sp.Handover = ns
		sp.Plan = plan.Stack(plan.StackInput{Observed: obs, KeepTag: e.keepTag}, sp.Owner.String())
		return sp, nil
	}
	if len(g.Unresolved) > 0 {
		// The group's load balancer is kept exactly as it is while an Ingress it serves
		// has no class: without it, lbsg does not know what the group should be, and a
		// guess could delete it. One it does not serve is reported on itself only.
		holders := spec.GroupHolders(g.ID, unresolvedIngresses(g), exists, served)
		for _, u := range g.Unresolved {
			if slices.Contains(holders, u.Ingress) {
				sp.Problems = append(sp.Problems, u.Problem)
			} else {
				sp.Excluded = append(sp.Excluded, ExcludedIngress{Ingress: u.Ingress, Problem: u.Problem, Reason: EventFailedBuildModel})
			}
		}
		if len(sp.Problems) > 0 {
			return sp, nil
		}
	}
	if len(g.Members) == 0 {
		if sp.Held = spec.GroupHolders(g.ID, refusedIngresses(g.Excluded), exists, served); len(sp.Held) > 0 {
			return sp, nil
		}
		sp.Plan = plan.Stack(plan.StackInput{Observed: obs, KeepTag: e.keepTag}, sp.Owner.String())
		return sp, nil
	}
	facts := spec.IngressFacts{Services: map[string]*corev1.Service{}, EndpointPorts: map[string]map[string]int32{}}
	if len(obs.LoadBalancers) > 0 {
		facts.LBExists, facts.LBScheme = true, obs.LoadBalancers[0].Scheme
	}
	backends := map[string]bool{}
	for _, m := range g.Members {
		for _, name := range spec.BackendServices(m.Ingress) {
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
	b := spec.BuildIngressGroupMembers(g.ID, g.Members, e.Settings, facts)
	var candidates []*networkingv1.Ingress
	for _, x := range b.Excluded {
		sp.Excluded = append(sp.Excluded, ExcludedIngress{Ingress: x.Ingress, Problem: joinProblems(x.Problems), Reason: EventFailedBuildModel})
		candidates = append(candidates, x.Ingress)
	}
	if len(b.Problems) > 0 {
		sp.Problems = b.Problems
		return sp, nil
	}
	if b.Stack == nil {
		// Every member is excluded: the group is held as it is rather than deleted for
		// want of members (absence of configuration never deletes).
		candidates = append(candidates, refusedIngresses(g.Excluded)...)
		if sp.Held = spec.GroupHolders(g.ID, candidates, exists, served); len(sp.Held) > 0 {
			return sp, nil
		}
		sp.Plan = plan.Stack(plan.StackInput{Observed: obs, KeepTag: e.keepTag}, sp.Owner.String())
		return sp, nil
	}
	sp.Stack = b.Stack
	// The stack speaks for the members it serves, not for those it left out.
	sp.Subject = subjectOf(sp.Owner, namespacesOf(servedMembers(g, sp)))
	return sp, e.planStack(ctx, sp, objs, sgs)
}

// ServingNamespaces returns the namespaces whose Ingresses an explicit group's load balancer
// serves now: those its target groups were made for, read from the cached target group
// inventory (lbsg writes these tags; no tenant can).
func (e *Engine) ServingNamespaces(ctx context.Context, id spec.IngressGroupID) ([]string, error) {
	tgs, err := e.ELB.TargetGroups(ctx, false)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, tg := range plan.RecogniseTargetGroups(e.ingressIdentity(id), tgs) {
		if v := tg.Tags[naming.IngressResourceTag]; v != "" {
			ids = append(ids, v)
		}
	}
	return servingNamespaces(ids), nil
}

// servingNamespaces are the namespaces of target groups' resource IDs
// ("<namespace>/<ingress>-<service>:<port>"), sorted.
func servingNamespaces(ids []string) []string {
	var out []string
	for _, id := range ids {
		if ns, _, ok := strings.Cut(id, "/"); ok && ns != "" {
			out = appendOnce(out, ns)
		}
	}
	slices.Sort(out)
	return out
}

// servedTargetGroups are the resource IDs of a stack's observed target groups.
func servedTargetGroups(obs plan.Observed) []string {
	var out []string
	for _, tg := range obs.TargetGroups {
		if id := tg.Tags[naming.IngressResourceTag]; id != "" {
			out = append(out, id)
		}
	}
	return out
}

func unresolvedIngresses(g *IngressGroup) []*networkingv1.Ingress {
	out := make([]*networkingv1.Ingress, len(g.Unresolved))
	for i, u := range g.Unresolved {
		out[i] = u.Ingress
	}
	return out
}

// refusedIngresses are the excluded Ingresses their class refuses; the reference policy's
// denials never hold a group.
func refusedIngresses(excluded []ExcludedIngress) []*networkingv1.Ingress {
	var out []*networkingv1.Ingress
	for _, x := range excluded {
		if !x.Denied {
			out = append(out, x.Ingress)
		}
	}
	return out
}

// joinProblems makes one problem of a member's problems, for its condition.
func joinProblems(ps []*spec.Problem) *spec.Problem {
	if len(ps) == 1 {
		return ps[0]
	}
	first := *ps[0]
	for _, p := range ps[1:] {
		first.Reason += "; and " + p.Error()
	}
	return &first
}

// memberNamespaces are the namespaces of a group's members.
func memberNamespaces(g *IngressGroup) []string {
	ings := make([]*networkingv1.Ingress, len(g.Members))
	for i, m := range g.Members {
		ings[i] = m.Ingress
	}
	return namespacesOf(ings)
}

// namespacesOf are the namespaces of the Ingresses, sorted.
func namespacesOf(ings []*networkingv1.Ingress) []string {
	var out []string
	for _, ing := range ings {
		out = appendOnce(out, ing.Namespace)
	}
	slices.Sort(out)
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
