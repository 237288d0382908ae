package controller

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
	"github.com/lbsg/lbsg/internal/targets"
)

// StackPlan is the outcome of planning one stack (a Service's NLB or an Ingress group's
// ALB): either problems (bad input, nothing is changed) or a stack and the plan that
// realises it.
type StackPlan struct {
	Owner spec.Owner
	// Subject is the owner as the reference authorizer sees it.
	Subject  authz.Subject
	Stack    *spec.Stack
	Problems []*spec.Problem
	Plan     plan.Plan
	// Observed is what exists in AWS for the stack; LB is its current load balancer.
	Observed plan.Observed
	LB       *state.LoadBalancer
	// NeedsBackendSG reports that the plan refers to the backend SG.
	NeedsBackendSG bool
	// forwardTGTags are the tags of the target groups the stack's forward actions name by
	// ARN, as they were judged (see Engine.forwardTargetGroups).
	forwardTGTags map[string]map[string]string
	// Excluded are the Ingresses of a group left out of its plan for their own input, each
	// reported on itself (the group's own exclusions are in IngressGroup.Excluded).
	Excluded []ExcludedIngress
	// Held are the excluded Ingresses that hold a group none of whose Ingresses can be
	// served: nothing of it changes in AWS (spec.GroupHolders).
	Held []*networkingv1.Ingress
	// Handover names the namespaces a group's load balancer served before the group changed
	// owner: the plan deletes it, and the members wait for a new one.
	Handover []string
}

// ClusterObjects are the Kubernetes objects desired states depend on.
type ClusterObjects struct {
	Nodes  []corev1.Node
	Slices []discoveryv1.EndpointSlice
	// Pods confirm EndpointSlice addresses: only a selected Pod's IP is an ip target.
	Pods []corev1.Pod
	// IPHolders are, for each address of Slices, every Pod of the cluster that reports it,
	// whatever its namespace: an address is a target only when no other live Pod holds it.
	// An address without an entry is never a target.
	IPHolders map[string][]*corev1.Pod
	// Services are every Service (Ingress backends); Ingresses, Classes and Params are
	// what Ingress groups are made of.
	Services  []corev1.Service
	Ingresses []networkingv1.Ingress
	Classes   []networkingv1.IngressClass
	Params    []elbv2api.IngressClassParams
	// Namespaces are read for IngressClassParams namespaceSelectors.
	Namespaces []corev1.Namespace
	// Bindings are the TargetGroupBindings (read by the target-SG pass only).
	Bindings []elbv2api.TargetGroupBinding
	// Grants are the ReferenceGrants, by which a namespace lets other namespaces'
	// Ingresses join its Ingress groups.
	Grants []authz.Grant
}

// observeStack finds what exists in AWS for a stack: the resources that carry its full
// identity (plan.Identity), from the caches (the load balancer and target group
// inventories, listeners, targets) and from sgs, the cluster's SGs. Two load balancers or
// two managed SGs that both do are an Ambiguity: the stack is then neither planned nor
// applied.
func (e *Engine) observeStack(ctx context.Context, id plan.Identity, sgs []cloud.SecurityGroup, children bool) (plan.Observed, error) {
	var o plan.Observed
	lbs, err := e.ELB.LoadBalancers(ctx, false)
	if err != nil {
		return o, err
	}
	if o.LoadBalancers, err = plan.RecogniseLoadBalancers(id, lbs); err != nil {
		return o, err
	}
	o.Listeners = map[string][]state.Listener{}
	o.Targets = map[string][]state.Target{}
	tgs, err := e.ELB.TargetGroups(ctx, false)
	if err != nil {
		return o, err
	}
	o.TargetGroups = plan.RecogniseTargetGroups(id, tgs)
	if o.ManagedSGs, err = managedSGs(id, sgs); err != nil {
		return o, err
	}
	if !children {
		// A stack that is only deleted needs no listeners or targets: deleting the load
		// balancer and the target groups takes them along.
		return o, nil
	}
	for _, lb := range o.LoadBalancers {
		ls, err := e.ELB.Listeners(ctx, lb.ARN)
		if err != nil {
			return o, err
		}
		o.Listeners[lb.ARN] = ls
	}
	for _, tg := range o.TargetGroups {
		ts, err := e.ELB.Targets(ctx, tg.ARN)
		if err != nil {
			return o, err
		}
		o.Targets[tg.ARN] = ts
	}
	return o, nil
}

// managedSGs picks a stack's managed SGs out of the cluster's SGs.
func managedSGs(id plan.Identity, sgs []cloud.SecurityGroup) ([]state.SecurityGroup, error) {
	var states []state.SecurityGroup
	for _, sg := range sgs {
		if sg.Tags[id.StackTag] == id.StackID && sg.Tags[id.ResourceTag] == naming.ManagedSGResourceID {
			states = append(states, toState(sg))
		}
	}
	return plan.RecogniseManagedSGs(id, states)
}

// planFunc plans a stack from what was observed of it and of the cluster's SGs.
type planFunc func(obs plan.Observed, sgs []cloud.SecurityGroup) (*StackPlan, error)

// planObserved observes a stack from the caches and plans it. When the plan would revoke
// rules of one of the stack's SGs, those SGs alone are read again, fresh, and the stack is
// planned again from them (planning is pure and cheap): a revoke is never decided on a
// cached view, and nothing else is read twice. The rules elsewhere that refer to an SG the
// plan deletes are found fresh and revoked first; the deletion itself is checked against
// a fresh view of what still uses the SG by the executor, right before it is made.
func (e *Engine) planObserved(ctx context.Context, id plan.Identity, children bool, build planFunc) (*StackPlan, error) {
	readStart := time.Now()
	sgs, err := e.clusterSGs(ctx, false)
	if err != nil {
		return nil, err
	}
	obs, err := e.observeStack(ctx, id, sgs, children)
	if err != nil {
		return nil, err
	}
	sp, err := build(obs, sgs)
	if err != nil {
		return nil, err
	}
	if read, err := e.readAttributes(ctx, sp, &obs); err != nil {
		return nil, err
	} else if read {
		if sp, err = build(obs, sgs); err != nil {
			return nil, err
		}
	}
	// SGs the cluster search had to ask AWS for just now are as fresh as a re-read.
	if recheck := e.EC2.NotReadSince(narrowedSGs(sp.Plan), readStart); len(recheck) > 0 {
		fresh, err := e.EC2.SecurityGroups(ctx, recheck, true)
		if err != nil {
			return nil, fmt.Errorf("read security groups %v before narrowing them: %w", recheck, err)
		}
		sgs = withFresh(sgs, recheck, fresh)
		if obs.ManagedSGs, err = managedSGs(id, sgs); err != nil {
			return nil, err
		}
		if sp, err = build(obs, sgs); err != nil {
			return nil, err
		}
	}
	return sp, e.revokeReferences(ctx, sp)
}

// narrowedSGs are the existing SGs a plan revokes rules of.
func narrowedSGs(p plan.Plan) []string { return sgsChangedBy(p, plan.OpRevoke) }

// sgsChangedBy are the existing SGs the plan's changes of the operations ops act on.
func sgsChangedBy(p plan.Plan, ops ...plan.Op) []string {
	var ids []string
	for _, c := range p.Changes {
		if slices.Contains(ops, c.Op) && c.Target.ID != "" && !slices.Contains(ids, c.Target.ID) {
			ids = append(ids, c.Target.ID)
		}
	}
	return ids
}

// withFresh returns sgs with the SGs of ids replaced by their fresh reading, or dropped
// when they no longer exist.
func withFresh(sgs []cloud.SecurityGroup, ids []string, fresh map[string]cloud.SecurityGroup) []cloud.SecurityGroup {
	out := make([]cloud.SecurityGroup, 0, len(sgs))
	for _, sg := range sgs {
		if !slices.Contains(ids, sg.ID) {
			out = append(out, sg)
		} else if f, ok := fresh[sg.ID]; ok {
			out = append(out, f)
		}
	}
	return out
}

// serviceIdentity is what a Service's resources carry in AWS.
func (e *Engine) serviceIdentity(svc *corev1.Service) plan.Identity {
	return plan.Identity{
		Cluster:       e.Settings.Cluster,
		StackTag:      naming.ServiceStackTag,
		StackID:       naming.ServiceStackID(svc.Namespace, svc.Name),
		ResourceTag:   naming.ServiceResourceTag,
		ManagedSGName: naming.ServiceSGName(e.Settings.Cluster, svc.Namespace, svc.Name, string(svc.UID)),
		LBType:        spec.TypeNetwork,
	}
}

// PlanService plans one Service: what the Service reconciler applies and `lbsg plan`
// prints. It writes nothing: what the stack needs that does not exist yet, the shared
// backend SG included, is a change of the plan.
func (e *Engine) PlanService(ctx context.Context, svc *corev1.Service, objs ClusterObjects) (*StackPlan, error) {
	// Listeners and targets are read only for a stack lbsg keeps.
	children := spec.OwnsService(svc, e.Settings) && svc.DeletionTimestamp == nil
	return e.planObserved(ctx, e.serviceIdentity(svc), children, func(obs plan.Observed, sgs []cloud.SecurityGroup) (*StackPlan, error) {
		return e.planService(ctx, svc, objs, obs, sgs)
	})
}

func (e *Engine) planService(ctx context.Context, svc *corev1.Service, objs ClusterObjects, obs plan.Observed, sgs []cloud.SecurityGroup) (*StackPlan, error) {
	sp := &StackPlan{Owner: spec.ServiceOwner(svc), Observed: obs}
	sp.Subject = subjectOf(sp.Owner, nil)
	if !spec.OwnsService(svc, e.Settings) || svc.DeletionTimestamp != nil {
		if p := serviceReleaseProblem(svc); p != nil && hasFinalizer(svc, naming.ServiceFinalizer) {
			sp.Problems = []*spec.Problem{p}
			return sp, nil
		}
		sp.Plan = plan.Stack(plan.StackInput{Observed: obs, KeepTag: e.keepTag}, sp.Owner.String())
		return sp, nil
	}
	facts := spec.ServiceFacts{EndpointPorts: endpointPorts(svc, objs.Slices)}
	if len(obs.LoadBalancers) > 0 {
		lb := obs.LoadBalancers[0]
		facts.LBExists, facts.LBHasSGs, facts.LBScheme = true, len(lb.SecurityGroups) > 0, lb.Scheme
	}
	stack, problems := spec.BuildService(svc, e.Settings, facts)
	if len(problems) > 0 {
		sp.Problems = problems
		return sp, nil
	}
	sp.Stack = stack
	return sp, e.planStack(ctx, sp, objs, sgs)
}

// planStack resolves a built stack's references and plans the changes that realise it,
// the creation (or re-tagging) of the shared backend SG included.
func (e *Engine) planStack(ctx context.Context, sp *StackPlan, objs ClusterObjects, sgs []cloud.SecurityGroup) error {
	stack := sp.Stack
	resolved, sgTags, problems, err := e.resolve(ctx, sp)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		sp.Problems = problems
		return nil
	}
	var backend *plan.BackendSGInput
	backendSGID := ""
	if stack.LoadBalancer.UseBackendSG {
		sp.NeedsBackendSG = true
		resolved.BackendSGID = e.BackendSGID
		if backend, err = e.backendSGInput(sgs); err != nil {
			return err
		}
		backendSGID = e.BackendSGID
		if backend != nil && backend.Have != nil {
			backendSGID = backend.Have.ID
		}
	}
	want, skipped := desiredTargets(stack, objs)
	stack.Notices = append(stack.Notices, skippedNotices(skipped)...)
	sp.Plan = plan.Stack(plan.StackInput{
		Desired:   stack,
		Resolved:  resolved,
		Targets:   want,
		Observed:  sp.Observed,
		KeepTag:   e.keepTag,
		BackendSG: backend,
	}, sp.Owner.String())
	return e.checkReferences(ctx, sp, objs, sgs, sgTags, backendSGID)
}

// revokeReferences adds, before each SG deletion in the plan, the revocation of every
// lbsg rule elsewhere whose source is that SG: AWS refuses to delete a referenced SG. The
// rules it leaves (not lbsg's) are named on the deletion (plan.MarkHeldDeletes).
func (e *Engine) revokeReferences(ctx context.Context, sp *StackPlan) error {
	doomed := plan.Deleted(sp.Plan)
	if len(doomed) == 0 {
		return nil
	}
	refs, err := e.EC2.SecurityGroupsReferencing(ctx, doomed, true)
	if err != nil {
		return fmt.Errorf("find rules that refer to %v: %w", doomed, err)
	}
	defer func() { plan.MarkHeldDeletes(&sp.Plan, statesOf(refs)) }()
	isDoomed := map[string]bool{}
	for _, id := range doomed {
		isDoomed[id] = true
	}
	owned := sgrules.OwnedBy(e.Settings.Cluster, isDoomed)
	var revokes []plan.Change
	for _, g := range refs {
		var rules []sgrules.Rule
		for _, r := range g.Ingress {
			if r.PeerKind == sgrules.PeerSG && isDoomed[r.Peer] && owned(r) {
				rules = append(rules, r)
			}
		}
		if len(rules) > 0 {
			revokes = append(revokes, plan.Change{Op: plan.OpRevoke, Phase: plan.PhaseRevoke, Owner: sp.Owner.String(),
				Target: plan.Ref{Kind: plan.KindSG, ID: g.ID}, Rules: rules,
				Reason: fmt.Sprintf("remove lbsg rules in %s that refer to a security group about to be deleted", g.ID)})
		}
	}
	if len(revokes) == 0 {
		return nil
	}
	changes := make([]plan.Change, 0, len(sp.Plan.Changes)+len(revokes))
	inserted := false
	for _, c := range sp.Plan.Changes {
		if !inserted && c.Phase >= plan.PhaseRevoke {
			changes = append(changes, revokes...)
			inserted = true
		}
		changes = append(changes, c)
	}
	sp.Plan.Changes = changes
	return nil
}

// resolve turns the stack's references (custom SGs, subnets) into AWS IDs, with the tags
// of the SGs they name. Unknown references, and references the policy refuses, are
// problems (bad input), not errors; SGs left out of a name (plan.ResolveSGRefs) are
// notices.
func (e *Engine) resolve(ctx context.Context, sp *StackPlan) (r plan.Resolved, sgTags map[string]map[string]string, problems []*spec.Problem, err error) {
	st := sp.Stack
	lb := st.LoadBalancer
	sgKey, subnetKey := annotations.SvcSecurityGroups, annotations.SvcSubnets
	if lb.Type == spec.TypeApplication {
		sgKey, subnetKey = annotations.IngSecurityGroups, annotations.IngSubnets
	}
	// User SGs replace the managed SG (custom), or are attached next to it (managed, with
	// the manage-frontend-security-group opt-in).
	if len(lb.CustomSGRefs) > 0 && (lb.Frontend == spec.FrontendCustom || lb.Frontend == spec.FrontendManaged) {
		in := plan.SGRefsInput{From: sp.Subject, Key: sgKey, Refs: lb.CustomSGRefs, VPCID: e.EC2.VPCID(),
			Policy: e.Policy, Classifier: e.classifier(st.StackTag, st.StackID), BackendSGID: e.BackendSGID}
		if err := e.lookUpSGs(ctx, &in); err != nil {
			return r, nil, nil, err
		}
		res := plan.ResolveSGRefs(in)
		sgTags = res.Tags
		for _, d := range res.Denied {
			problems = append(problems, denialProblem(d))
		}
		for _, d := range res.LeftOut {
			st.Notices = append(st.Notices, leftOutNotice(d))
		}
		for _, f := range res.Foreign {
			problems = append(problems, &spec.Problem{Key: sgKey, Value: strings.Join(lb.CustomSGRefs, ","),
				Reason: fmt.Sprintf("security group %s is in VPC %s, not in the cluster's VPC %s", f.ID, f.VPCID, e.EC2.VPCID()),
				Fix:    "name security groups of the cluster's VPC; a load balancer can only use security groups of its own VPC"})
		}
		if len(res.Missing) > 0 {
			problems = append(problems, &spec.Problem{Key: sgKey, Value: strings.Join(lb.CustomSGRefs, ","),
				Reason: fmt.Sprintf("couldn't find all security groups: %s not found in VPC %s", strings.Join(res.Missing, ", "), e.EC2.VPCID()),
				Fix:    "name security groups that exist in the cluster's VPC, by ID (sg-...) or by their Name tag"})
		}
		r.CustomSGIDs = res.IDs
		total := len(res.IDs)
		if lb.UseBackendSG {
			total++
		}
		if lb.Frontend == spec.FrontendManaged {
			total++
		}
		if total > sgrules.DefaultSGsPerLB {
			problems = append(problems, &spec.Problem{Key: sgKey, Value: strings.Join(lb.CustomSGRefs, ","),
				Reason: fmt.Sprintf("%d security groups (%d named, plus the backend SG: %t) exceed the limit of %d per load balancer", total, len(res.IDs), lb.UseBackendSG, sgrules.DefaultSGsPerLB),
				Fix:    fmt.Sprintf("name at most %d security groups (one fewer when lbsg also attaches the backend SG)", sgrules.DefaultSGsPerLB)})
		}
	}
	if len(lb.SubnetRefs) > 0 {
		subnets, err := e.EC2.Subnets(ctx, lb.SubnetRefs)
		if err != nil {
			return r, nil, nil, err
		}
		if len(subnets) < len(lb.SubnetRefs) {
			problems = append(problems, &spec.Problem{Key: subnetKey, Value: strings.Join(lb.SubnetRefs, ","),
				Reason: fmt.Sprintf("found %d of %d subnets in VPC %s", len(subnets), len(lb.SubnetRefs), e.EC2.VPCID()),
				Fix:    "name subnets of the cluster's VPC, by ID (subnet-...) or by their Name tag"})
		}
		for _, s := range subnets {
			r.SubnetIDs = append(r.SubnetIDs, s.ID)
		}
	} else {
		subnets, err := e.EC2.DiscoverSubnets(ctx, e.Settings.Cluster, lb.Scheme == spec.SchemeInternal)
		if err != nil {
			return r, nil, nil, err
		}
		if len(subnets) == 0 {
			role := "kubernetes.io/role/elb"
			if lb.Scheme == spec.SchemeInternal {
				role = "kubernetes.io/role/internal-elb"
			}
			problems = append(problems, &spec.Problem{Key: subnetKey, Value: "",
				Reason: fmt.Sprintf("no subnet in VPC %s is tagged %s=1 for %s load balancers", e.EC2.VPCID(), role, lb.Scheme),
				Fix:    fmt.Sprintf("tag the subnets with %s=1, or name them with the annotation", role)})
		}
		for _, s := range subnets {
			r.SubnetIDs = append(r.SubnetIDs, s.ID)
		}
	}
	sort.Strings(r.SubnetIDs)
	return r, sgTags, problems, nil
}

// lookUpSGs reads what the references of in name: the SGs of the IDs (from the cache,
// any VPC, so that one of another VPC is named as such) and the SGs of the cluster's VPC
// whose Name tag is one of the names.
func (e *Engine) lookUpSGs(ctx context.Context, in *plan.SGRefsInput) error {
	var byID, byName []string
	for _, r := range in.Refs {
		if strings.HasPrefix(r, "sg-") {
			byID = append(byID, r)
		} else {
			byName = append(byName, r)
		}
	}
	if len(byID) > 0 {
		sgs, err := e.EC2.SecurityGroups(ctx, byID, false)
		if err != nil {
			return fmt.Errorf("resolve security groups %v: %w", byID, err)
		}
		in.ByID = map[string]plan.SGCandidate{}
		for id, sg := range sgs {
			in.ByID[id] = plan.SGCandidate{ID: sg.ID, VPCID: sg.VPCID, Tags: sg.Tags}
		}
	}
	if len(byName) > 0 {
		sgs, err := e.EC2.SecurityGroupsByNameTag(ctx, byName)
		if err != nil {
			return fmt.Errorf("resolve security groups %v: %w", byName, err)
		}
		for _, sg := range sgs {
			in.Named = append(in.Named, plan.SGCandidate{ID: sg.ID, VPCID: sg.VPCID, Tags: sg.Tags})
		}
	}
	return nil
}

// endpointPorts maps each Service port name to the port its ready endpoints report.
func endpointPorts(svc *corev1.Service, slices []discoveryv1.EndpointSlice) map[string]int32 {
	out := map[string]int32{}
	for _, s := range slicesOf(svc.Namespace, svc.Name, slices) {
		for _, p := range s.Ports {
			if p.Port != nil {
				name := ""
				if p.Name != nil {
					name = *p.Name
				}
				out[name] = *p.Port
			}
		}
	}
	return out
}

func slicesOf(namespace, service string, slices []discoveryv1.EndpointSlice) []discoveryv1.EndpointSlice {
	var out []discoveryv1.EndpointSlice
	for _, s := range slices {
		if s.Namespace == namespace && s.Labels[discoveryv1.LabelServiceName] == service {
			out = append(out, s)
		}
	}
	return out
}

// eligibleNodes are the nodes that receive instance targets (reference §5.2).
func eligibleNodes(nodes []corev1.Node, selector map[string]string) []corev1.Node {
	var out []corev1.Node
	for _, n := range nodes {
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		taints := make([]targets.Taint, len(n.Spec.Taints))
		for i, t := range n.Spec.Taints {
			taints[i] = targets.Taint{Key: t.Key, Effect: string(t.Effect)}
		}
		if n.DeletionTimestamp == nil && targets.NodeEligible(n.Labels, ready, taints, selector) {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// desiredTargets are the targets of each target group: every eligible node on the
// NodePort (instance) or every ready endpoint of a selected Pod (ip); and, by Service,
// the endpoint addresses skipped.
func desiredTargets(st *spec.Stack, objs ClusterObjects) (map[string][]state.Target, map[string][]targets.Skipped) {
	out := map[string][]state.Target{}
	skipped := map[string][]targets.Skipped{}
	for _, tg := range st.TargetGroups {
		if tg.TargetType == spec.TargetIP {
			var sk []targets.Skipped
			out[tg.ResourceID], sk = podTargets(tg, objs)
			if len(sk) > 0 {
				key := tg.ServiceNamespace + "/" + tg.ServiceName
				skipped[key] = append(skipped[key], sk...)
			}
			continue
		}
		for _, n := range eligibleNodes(objs.Nodes, tg.NodeSelector) {
			id, err := targets.InstanceIDFromProviderID(n.Spec.ProviderID)
			if err != nil {
				continue
			}
			out[tg.ResourceID] = append(out[tg.ResourceID], state.Target{ID: id, Port: tg.TrafficPort})
		}
	}
	return out, skipped
}
