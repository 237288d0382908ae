package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

// A stack whose object no longer exists has no reconciler left to delete it: a finalizer
// removed by hand, or a Service switched to ClusterIP without it, leaves its load balancer
// serving. Such stacks are orphans (plan.Orphans): this file says what Kubernetes holds
// (orphanClaims, pure) and plans their deletion as for a deleted owner. The target-SG
// pass collects them at its drift checks (orphancollector.go); `lbsg plan` lists them.

// orphanClaims reads what the cluster's objects say of the stacks they may name. Only an
// object that is gone, or that explicitly moved away from lbsg, lets its stack go: an
// object whose configuration lbsg cannot resolve holds every stack it may belong to. What
// a tenant writes (a finalizer, a group name, a class that refuses it, its status) holds a
// stack only as a plan.Holder, which AWS's evidence decides: it never keeps another
// namespace's load balancer.
func orphanClaims(objs ClusterObjects, s spec.Settings, rules GroupRules) plan.Claims {
	c := plan.Claims{Services: map[string]plan.Claim{}, Groups: map[string]plan.Claim{}, DNSNames: map[string][]plan.Holder{},
		BoundTargetGroups: map[string]bool{}}
	for i := range objs.Services {
		svc := &objs.Services[i]
		c.Services[naming.ServiceStackID(svc.Namespace, svc.Name)] = serviceClaim(svc, s)
	}
	hold := func(id spec.IngressGroupID, h plan.Holder) {
		claim := c.Groups[id.String()]
		claim.Holders = append(claim.Holders, h)
		c.Groups[id.String()] = claim
	}
	for id, g := range IngressGroups(objs, rules) {
		if len(g.Members) > 0 {
			// Its reconciler decides: it hands the load balancer of a group that changed
			// owner over by deleting it.
			c.Groups[id.String()] = plan.Claim{Held: true, Why: fmt.Sprintf("Ingress %s/%s is a member", g.Members[0].Ingress.Namespace, g.Members[0].Ingress.Name)}
		}
		for _, u := range g.Unresolved {
			hold(id, holder(u.Ingress, u.Problem.Error()))
		}
		for _, ing := range g.Leaving {
			hold(id, holder(ing, fmt.Sprintf("Ingress %s/%s holds its finalizer %s", ing.Namespace, ing.Name, id.Finalizer())))
		}
		// An Ingress its class or the platform's flags refuse is configuration the group
		// reconciler holds the group for (spec.GroupHolders). One the reference policy
		// denies holds it only where the evidence makes it the group's owner: the owner is
		// decided here without the namespaces the load balancer serves (only the evidence
		// knows them), so an older claim of another namespace may have been preferred.
		for _, x := range g.Excluded {
			hold(id, holder(x.Ingress, x.Problem.Error()))
		}
	}
	// An Ingress whose class (or its IngressClassParams) lbsg cannot find, and that holds no
	// lbsg finalizer, is in no group; it may still belong to its own group, to the one it
	// names, or to one whose load balancer its status shows.
	var released []*networkingv1.Ingress
	for i := range objs.Ingresses {
		ing := &objs.Ingresses[i]
		if ing.DeletionTimestamp != nil {
			released = append(released, ing)
			continue
		}
		_, status, problem := ingressMember(ing, objs, rules.Classes)
		if problem == nil {
			if status == classForeign {
				released = append(released, ing)
			}
			continue
		}
		h := holder(ing, fmt.Sprintf("Ingress %s/%s may belong to it: %s", ing.Namespace, ing.Name, problem.Error()))
		hold(spec.IngressGroupID{Namespace: ing.Namespace, Name: ing.Name}, h)
		if name := ing.Annotations[annotations.IngGroupName]; name != "" {
			hold(spec.IngressGroupID{Name: name}, h)
		}
		if status == classOurs {
			// Its class is lbsg's but the IngressClassParams are missing: they may name
			// any group.
			c.AnyExplicitGroup = append(c.AnyExplicitGroup, h)
		}
		for _, lb := range ing.Status.LoadBalancer.Ingress {
			if lb.Hostname != "" {
				c.DNSNames[lb.Hostname] = append(c.DNSNames[lb.Hostname], h)
			}
		}
	}
	// An Ingress that explicitly left lbsg (another controller's class, or deleted) lets
	// its own group go, unless something above holds it.
	for _, ing := range released {
		id := spec.IngressGroupID{Namespace: ing.Namespace, Name: ing.Name}.String()
		if _, ok := c.Groups[id]; ok {
			continue
		}
		why := fmt.Sprintf("Ingress %s/%s is being deleted", ing.Namespace, ing.Name)
		if ing.DeletionTimestamp == nil {
			why = fmt.Sprintf("Ingress %s/%s names the IngressClass of another controller", ing.Namespace, ing.Name)
		}
		c.Groups[id] = plan.Claim{Why: why}
	}
	for _, b := range objs.Bindings {
		if b.Spec.TargetGroupARN != "" {
			c.BoundTargetGroups[b.Spec.TargetGroupARN] = true
		}
	}
	return c
}

// holder is an Ingress that holds a stack on the stack's evidence only (plan.Holder).
func holder(ing *networkingv1.Ingress, why string) plan.Holder {
	return plan.Holder{Namespace: ing.Namespace, Name: ing.Name, Why: why}
}

// serviceClaim is what a Service that exists says of its stack: held while it is lbsg's,
// holds the finalizer (its reconciler deletes the stack) or cannot tell (an invalid type
// value); released when it explicitly moved away.
func serviceClaim(svc *corev1.Service, s spec.Settings) plan.Claim {
	key := svc.Namespace + "/" + svc.Name
	switch {
	case spec.OwnsService(svc, s) && svc.DeletionTimestamp == nil:
		return plan.Claim{Held: true, Why: fmt.Sprintf("Service %s is lbsg's", key)}
	case hasFinalizer(svc, naming.ServiceFinalizer):
		return plan.Claim{Held: true, Why: fmt.Sprintf("Service %s holds the finalizer %s", key, naming.ServiceFinalizer)}
	}
	if p := serviceReleaseProblem(svc); p != nil {
		return plan.Claim{Held: true, Why: p.Error()}
	}
	return plan.Claim{Why: serviceReleased(svc)}
}

// serviceReleased says how a Service explicitly moved away from lbsg.
func serviceReleased(svc *corev1.Service) string {
	key := svc.Namespace + "/" + svc.Name
	switch {
	case svc.DeletionTimestamp != nil:
		return fmt.Sprintf("Service %s is being deleted", key)
	case svc.Spec.Type != corev1.ServiceTypeLoadBalancer:
		return fmt.Sprintf("Service %s is of type %s", key, svc.Spec.Type)
	case svc.Spec.LoadBalancerClass != nil:
		return fmt.Sprintf("Service %s has loadBalancerClass %s", key, *svc.Spec.LoadBalancerClass)
	}
	return fmt.Sprintf("Service %s is left to the in-tree cloud provider (no %s annotation lbsg serves)", key, annotations.SvcLoadBalancerType)
}

// orphanInventory is what the orphan decision reads from AWS: every load balancer, the
// target groups, and the cluster's SGs.
type orphanInventory struct {
	lbs []state.LoadBalancer
	tgs []state.TargetGroup
	sgs []cloud.SecurityGroup
	// tgsUnread: the target groups were not read (a drift check reads them only while a
	// stack is suspected).
	tgsUnread bool
}

// orphans decides which stacks are orphans (plan.Orphans) from the inventory and what the
// objects say.
func (e *Engine) orphans(objs ClusterObjects, inv orphanInventory) ([]plan.Orphan, []string) {
	return plan.Orphans(plan.OrphanInput{Cluster: e.Settings.Cluster, VPCID: e.EC2.VPCID(), Namespace: e.WatchNamespace, LoadBalancers: inv.lbs,
		TargetGroups: inv.tgs, TargetGroupsUnread: inv.tgsUnread, SecurityGroups: statesOf(inv.sgs), Claims: orphanClaims(objs, e.Settings, e.GroupRules())})
}

// PlanOrphan plans the deletion of an orphaned stack: the plan of a deleted owner, with
// the revocation of lbsg's rules elsewhere that refer to its managed SG (read fresh).
func (e *Engine) PlanOrphan(ctx context.Context, o plan.Orphan) (*StackPlan, error) {
	sp := &StackPlan{Owner: o.Owner, Observed: o.Observed}
	sp.Plan = plan.Stack(plan.StackInput{Observed: o.Observed, KeepTag: e.keepTag}, o.Owner.String())
	return sp, e.revokeReferences(ctx, sp)
}

// OrphanPlan is one orphaned stack and the plan that deletes it.
type OrphanPlan struct {
	Orphan plan.Orphan
	Stack  *StackPlan
}

// PlanOrphans finds the orphaned stacks from objs (read without a cache) and AWS, and
// plans their deletion: what `lbsg plan` prints. The controller deletes them only after
// its grace period (--orphan-grace-period).
func (e *Engine) PlanOrphans(ctx context.Context, objs ClusterObjects) ([]OrphanPlan, error) {
	var inv orphanInventory
	var err error
	if inv.lbs, err = e.ELB.LoadBalancers(ctx, false); err != nil {
		return nil, fmt.Errorf("read load balancers: %w", err)
	}
	if inv.tgs, err = e.ELB.TargetGroups(ctx, false); err != nil {
		return nil, fmt.Errorf("read target groups: %w", err)
	}
	if inv.sgs, err = e.clusterSGs(ctx, false); err != nil {
		return nil, err
	}
	found, _ := e.orphans(objs, inv)
	out := make([]OrphanPlan, 0, len(found))
	for _, o := range found {
		sp, err := e.PlanOrphan(ctx, o)
		if err != nil {
			return nil, fmt.Errorf("plan the deletion of orphaned stack %s: %w", o.Stack, err)
		}
		out = append(out, OrphanPlan{Orphan: o, Stack: sp})
	}
	return out, nil
}
