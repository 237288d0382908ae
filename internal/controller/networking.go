package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
	"github.com/lbsg/lbsg/internal/targets"
)

// NetworkingPlan is the cluster-wide plan for target SG rules.
type NetworkingPlan struct {
	Plan plan.Plan
	// Partial is set when some stack could not be computed: then the rules it may rely on
	// are kept (see holdFailing), everything else is planned as usual.
	Partial bool
	// Failures are per-owner reasons why its target rules could not be computed.
	Failures map[spec.Owner]error
	// Input is what the planner saw (printed by lbsg plan -o json).
	Input plan.NetworkingInput
	// OverQuota are the target SGs whose rules would exceed the rule quota.
	OverQuota []plan.OverQuota
	// Held maps the target SGs where revokes are held back to the owners holding them.
	Held map[string][]string
	// Refused are the client CIDR rules of NLBs without SGs not added because their port
	// is outside the NodePort range.
	Refused []plan.Refused
	// PodENINotices are, per owner, why pod-eni annotations of its Pods were not used.
	PodENINotices map[spec.Owner][]string
	// Contributors maps each target SG to the owners whose rules land there.
	Contributors map[string][]spec.Owner

	// LBOwners maps each stack's load balancer ARN to its owner; LoadBalancers is the
	// inventory the pass read (the drift check compares their SGs between checks).
	LBOwners      map[string]spec.Owner
	LoadBalancers []state.LoadBalancer
	// Unchanged: the inputs are those of the last pass that left every target SG as
	// wanted; nothing was read or planned.
	Unchanged bool
	// ManagedSGDrift are the stacks whose managed SG, read fresh by a drift check, differs
	// from what their spec wants (a client rule added or revoked behind lbsg's back): their
	// own reconciler repairs them. Set by drift checks only.
	ManagedSGDrift []spec.Owner
	// ClusterSGs are the SGs tagged for the cluster (the backend SG and every managed SG)
	// as the pass read them: fresh in a drift check.
	ClusterSGs []cloud.SecurityGroup
	// Rediscovered: the pass ran the snapshot's searches afresh (at start and every
	// --sync-period).
	Rediscovered bool

	owners      map[string]spec.Owner // by String(), to map the planner's names back
	fingerprint [32]byte
}

// Owner returns the owner the planner names name, if it is one.
func (np *NetworkingPlan) Owner(name string) (spec.Owner, bool) {
	o, ok := np.owners[name]
	return o, ok
}

// stackNetworking is what one stack contributes to the target SGs.
type stackNetworking struct {
	owner    spec.Owner
	source   string // SG ID, or "" for CIDR rules
	needs    []sgrules.Need
	cidr     []sgrules.Rule
	enis     []targets.ENI
	keepsSGs bool // the stack still refers to the backend SG (even when deleting)
	// clientCIDR: cidr are the client rules of an NLB without SGs (not a binding's).
	clientCIDR bool
	// restrict limits the rules of an owner a tenant writes rule by rule (a binding's).
	restrict *plan.Restriction
}

// MarshalJSON makes a contribution part of the pass's fingerprint.
func (sn stackNetworking) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Owner, Source string
		Needs         []sgrules.Need
		CIDR          []sgrules.Rule
		ENIs          []targets.ENI
		KeepsSGs      bool
		ClientCIDR    bool              `json:",omitempty"`
		Restrict      *plan.Restriction `json:",omitempty"`
	}{sn.owner.String(), sn.source, sn.needs, sn.cidr, sn.enis, sn.keepsSGs, sn.clientCIDR, sn.restrict})
}

// PlanNetworking computes the rules every target SG needs from every Service and Ingress
// group lbsg serves (objs.Services and objs.Ingresses), and the plan that makes AWS match,
// from a snapshot read now (lbsg plan).
func (e *Engine) PlanNetworking(ctx context.Context, objs ClusterObjects) (*NetworkingPlan, error) {
	return e.planNetworking(ctx, objs, &NetworkingSnapshot{}, passOptions{Drift: true, Now: time.Now()})
}

// planNetworking is one target-SG pass. It never plans a stack: each stack's contribution
// (source SG or CIDRs, needed ports, target ENIs) comes from its spec, the load balancer
// inventory and the snapshot. Its AWS reads do not grow with the number of stacks: the
// inventory (cached, fresh for the drift check), discovery when due, ENIs of targets not
// resolved before, and one DescribeSecurityGroups per 200 SGs it plans; and, for each
// TargetGroupBinding with spec.networking, its target group's cached description.
func (e *Engine) planNetworking(ctx context.Context, objs ClusterObjects, snap *NetworkingSnapshot, o passOptions) (*NetworkingPlan, error) {
	snap.mu.Lock()
	defer snap.mu.Unlock()
	np := &NetworkingPlan{Failures: map[spec.Owner]error{}, Contributors: map[string][]spec.Owner{}, owners: map[string]spec.Owner{},
		LBOwners: map[string]spec.Owner{}}
	lbs, err := e.ELB.LoadBalancers(ctx, o.Drift)
	if err != nil {
		return nil, fmt.Errorf("read load balancers: %w", err)
	}
	np.LoadBalancers = lbs
	stacks, backendNeeded := e.netStacks(objs, lbs)
	if err := e.discover(ctx, snap, stacksKey(stacks), o); err != nil {
		return nil, err
	}
	np.Rediscovered = snap.discovered.Equal(o.Now)
	ownedStates := statesOf(snap.owned)
	backendID := e.BackendSGID
	var backendAmbiguous *plan.Ambiguity
	if backendID == "" {
		found, err := plan.RecogniseBackendSG(e.Settings.Cluster, ownedStates)
		if errors.As(err, &backendAmbiguous) {
			// Rules from either candidate would be a guess: the stacks that use the backend
			// SG fail (and say why), and nothing is revoked or deleted this pass.
			np.Partial, err = true, nil
		}
		if err != nil {
			return nil, err
		}
		if found != nil {
			backendID = found.ID
		}
	}
	// Each stack's contribution, its targets still as IDs.
	type pending struct {
		sn      stackNetworking
		instIDs []string
		ips     []string
		claims  []podENIClaim
	}
	failing := map[spec.Owner]*netStack{}
	fail := func(ns *netStack, err error) {
		np.Partial = true
		np.Failures[ns.owner] = err
		np.owners[ns.owner.String()] = ns.owner
		failing[ns.owner] = ns
		backendNeeded = true
	}
	// A binding whose targets cannot be placed holds only its own traffic ports (its
	// Restriction), not every rule as a stack that could not even be read does.
	bindingHolds := map[spec.Owner][]plan.Hold{}
	failContribution := func(sn stackNetworking, err error) {
		fail(stackOf(stacks, sn.owner), err)
		if sn.restrict != nil {
			source := sn.source
			if len(sn.cidr) > 0 {
				source = plan.HoldCIDR
			}
			bindingHolds[sn.owner] = append(bindingHolds[sn.owner], plan.HoldsOfRestricted(sn.owner.String(), *sn.restrict, source)...)
		}
	}
	var todo []pending
	var allIDs, allIPs []string
	var allClaims []podENIClaim
	podENIs := newPodENIIndex(objs)
	for _, ns := range stacks {
		if ns.lb != nil {
			np.LBOwners[ns.lb.ARN] = ns.owner
		}
		if ns.err != nil {
			fail(ns, ns.err)
			continue
		}
		if ns.stack == nil {
			continue
		}
		st := ns.stack
		sn := stackNetworking{owner: ns.owner, keepsSGs: st.LoadBalancer.UseBackendSG}
		if sn.keepsSGs {
			backendNeeded = true
			if backendAmbiguous != nil {
				fail(ns, backendAmbiguous)
				continue
			}
		}
		if !st.Networking.Manage || ns.lb == nil {
			// Rules follow the load balancer: none before it exists.
			continue
		}
		switch st.Networking.Source {
		case spec.SourceBackend:
			sn.source, sn.needs = backendID, st.Networking.Needs
		case spec.SourceFrontend:
			managed, err := plan.RecogniseManagedSGs(*ns.id, ownedStates)
			if err != nil {
				fail(ns, err)
				continue
			}
			if len(managed) > 0 {
				sn.source = managed[0].ID
			}
			sn.needs = st.Networking.Needs
		default:
			if sn.cidr, err = e.legacyCIDRs(ctx, snap, st, *ns.lb); err != nil {
				fail(ns, err)
				continue
			}
			sn.clientCIDR = true
		}
		if sn.source == "" && len(sn.cidr) == 0 {
			continue
		}
		p := pending{sn: sn}
		p.instIDs, p.ips = targetIDs(st, objs)
		p.claims = podENIs.claims(st, objs)
		allIDs, allIPs, allClaims = append(allIDs, p.instIDs...), append(allIPs, p.ips...), append(allClaims, p.claims...)
		todo = append(todo, p)
	}
	// TargetGroupBindings' spec.networking rules, on the targets of the bindings that own
	// their target groups.
	bcs, err := e.bindingContributions(ctx, objs)
	if err != nil {
		return nil, err
	}
	var bindingSources []string
	for _, bc := range bcs {
		for _, sn := range bc.sns {
			todo = append(todo, pending{sn: sn, instIDs: bc.instIDs, ips: bc.ips})
			if sn.source != "" {
				bindingSources = appendOnce(bindingSources, sn.source)
				// A binding that admits the backend SG keeps it: a deleted SG would
				// fail that rule, and the authorizes of every rule on its SG with it.
				backendNeeded = backendNeeded || sn.source == backendID
			}
		}
		allIDs, allIPs = append(allIDs, bc.instIDs...), append(allIPs, bc.ips...)
	}
	// A pod IP on a branch ENI that EC2 confirms needs no lookup by IP.
	branch, refused := e.resolveBranchENIs(ctx, snap, allClaims)
	byIP := allIPs
	if len(branch) > 0 {
		byIP = slices.DeleteFunc(slices.Clone(allIPs), func(ip string) bool { _, ok := branch[ip]; return ok })
	}
	// A failed lookup fails only the stacks with targets it did not resolve.
	resolveErr := e.resolveENIs(ctx, snap, allIDs, byIP, podIPHints(objs, byIP), o.Now)
	unresolved := func(what string, missing []string) error {
		if resolveErr != nil {
			return fmt.Errorf("cannot resolve %s %v: %w", what, missing, resolveErr)
		}
		return fmt.Errorf("cannot resolve %s %v", what, missing)
	}
	var contributions []stackNetworking
	for _, p := range todo {
		var missing []string
		for _, id := range p.instIDs {
			eni, ok := snap.instENI[id]
			if !ok {
				missing = append(missing, id)
				continue
			}
			p.sn.enis = append(p.sn.enis, eniOf(eni))
		}
		if len(missing) > 0 {
			failContribution(p.sn, unresolved("node ENI for instances", missing))
			continue
		}
		seen := map[string]bool{}
		for _, c := range p.claims {
			if why, ok := refused[c]; ok {
				if np.PodENINotices == nil {
					np.PodENINotices = map[spec.Owner][]string{}
				}
				np.PodENINotices[p.sn.owner] = append(np.PodENINotices[p.sn.owner], podENIMessage(c, why))
			}
		}
		for _, ip := range p.ips {
			eni, ok := branch[ip]
			if !ok {
				eni, ok = snap.ipENI[ip]
			}
			if ok && eni.VPCID != "" && e.EC2.VPCID() != "" && eni.VPCID != e.EC2.VPCID() {
				// Only the cluster VPC's ENIs are targets: never open another VPC's SG.
				ok = false
			}
			if !ok {
				missing = append(missing, ip)
				continue
			}
			if !seen[eni.ID] {
				seen[eni.ID] = true
				p.sn.enis = append(p.sn.enis, eniOf(eni))
			}
		}
		if len(missing) > 0 {
			failContribution(p.sn, unresolved("pod ENI for pod IPs", missing))
			continue
		}
		contributions = append(contributions, p.sn)
	}
	deleteBackend := !backendNeeded && e.BackendSGID == "" && backendAmbiguous == nil
	np.fingerprint = fingerprint(struct {
		Backend                    string
		Contributions              []stackNetworking
		Owned, Tagged, Referencing []string
		DeleteBackend, Partial     bool
		Budget, Quota              int
		PodENINotices              map[string][]string `json:",omitempty"`
	}{backendID, contributions, idsOf(snap.owned), snap.tagged, snap.referencing, deleteBackend, np.Partial, e.Budget, e.RuleQuota,
		noticesByName(np.PodENINotices)})
	if !o.Drift && !np.Partial && np.fingerprint == snap.settled {
		// Nothing Kubernetes or the snapshot says changed since a pass that left every
		// target SG as wanted: the drift check is what finds changes made in AWS.
		np.Unchanged = true
		return np, nil
	}
	// One batched read of every SG the pass may plan or choose between: the target SGs of
	// every ENI, the cluster's SGs, and the SGs discovery found. It is fresh for the drift
	// check; otherwise cached (lbsg's own writes keep the cache current), and a plan that
	// would revoke or delete is made again from a fresh read of those SGs alone: a revoke
	// never rests on a cached read.
	read := slices.Concat(idsOf(snap.owned), snap.tagged, snap.referencing, slices.Collect(maps.Keys(snap.planned)), bindingSources)
	if backendID != "" {
		read = append(read, backendID)
	}
	for _, c := range contributions {
		for _, eni := range c.enis {
			read = append(read, eni.SecurityGroups...)
		}
	}
	readStart := time.Now()
	sgs, err := e.EC2.SecurityGroups(ctx, dedupStrings(read), o.Drift)
	if err != nil {
		return nil, fmt.Errorf("read target security groups: %w", err)
	}
	sgTags := map[string]map[string]string{}
	for id, sg := range sgs {
		sgTags[id] = sg.Tags
	}
	in := plan.NetworkingInput{
		Cluster:                         e.Settings.Cluster,
		Budget:                          e.Budget,
		RuleQuota:                       e.RuleQuota,
		NamespaceShare:                  e.NamespaceShare,
		NodePorts:                       e.NodePorts,
		AllowClientCIDROutsideNodePorts: e.AllowClientCIDROutsideNodePorts,
		Needs:                           map[string]map[string][]sgrules.Need{},
		OurSources:                      map[string]bool{},
		CIDROwners:                      map[string]map[string][]sgrules.Rule{},
		NeedOwners:                      map[string][]string{},
		NeedsByOwner:                    map[string]map[string]map[string][]sgrules.Need{},
		OwnerNamespaces:                 map[string]string{},
		LastFor:                         snap.lastFor,
		Restricted:                      map[string]plan.Restriction{},
		Sources:                         e.classifySources(bindingSources, sgs, objs),
		Policy:                          e.Policy,
	}
	for _, c := range contributions {
		for _, eni := range c.enis {
			chosen, err := e.SelectTargetSGs(eni, sgTags)
			if err != nil {
				failContribution(c, err)
				continue
			}
			for _, sg := range chosen {
				contribute(&in, np, sg, c)
			}
		}
	}
	var owned []cloud.SecurityGroup
	for _, sg := range snap.owned {
		if fresh, ok := sgs[sg.ID]; ok {
			owned = append(owned, fresh)
		}
	}
	for _, sg := range owned {
		in.OurSources[sg.ID] = true
	}
	np.ClusterSGs = owned
	if o.Drift {
		np.ManagedSGDrift = e.managedSGDrift(stacks, owned)
	}
	if sg, ok := sgs[backendID]; ok && e.BackendSGID == "" {
		in.BackendSG = ptrTo(toState(sg))
	}
	if e.BackendSGID != "" {
		in.OurSources[e.BackendSGID] = true
	}
	// The universe of target SGs: those that need rules, those tagged for the cluster, and
	// any SG with a rule whose source is one of this cluster's SGs.
	universe := map[string]bool{}
	for id := range in.Needs {
		universe[id] = true
	}
	for id := range in.CIDROwners {
		universe[id] = true
	}
	for _, id := range slices.Concat(snap.tagged, snap.referencing) {
		universe[id] = true
	}
	if snap.planned == nil {
		snap.planned = map[string]bool{}
	}
	for id := range snap.planned {
		if _, ok := sgs[id]; !ok {
			delete(snap.planned, id) // deleted: nothing left to revoke there
			continue
		}
		universe[id] = true
	}
	for id := range in.Needs {
		snap.planned[id] = true
	}
	for id := range in.CIDROwners {
		snap.planned[id] = true
	}
	if deleteBackend && !np.Partial {
		for _, sg := range owned {
			if plan.IsBackendSG(e.Settings.Cluster, toState(sg)) && !e.attachedToLB(ctx, sg.ID) {
				in.DeleteSGs = append(in.DeleteSGs, toState(sg))
			}
		}
	}
	in.Observed = map[string]state.SecurityGroup{}
	for id := range universe {
		if sg, ok := sgs[id]; ok {
			in.Observed[id] = toState(sg)
		}
	}
	held := map[spec.Owner]*StackPlan{}
	for o, ns := range failing {
		if _, binding := bindingHolds[o]; !binding {
			held[o] = e.heldStack(ctx, ns)
		}
	}
	e.holdFailing(ctx, &in, held, owned, backendID)
	for _, o := range slices.SortedFunc(maps.Keys(bindingHolds), func(a, b spec.Owner) int { return compareStrings(a.String(), b.String()) }) {
		in.Holds = append(in.Holds, bindingHolds[o]...)
	}
	res := plan.PlanNetworking(in)
	// A deletion needs the rules that refer to the doomed SG, read fresh: one search that
	// also reads fresh the target SGs those rules are on, which the plan revokes them from.
	var refs []cloud.SecurityGroup
	doomed := plan.Deleted(res.Plan)
	if len(doomed) > 0 {
		if refs, err = e.EC2.SecurityGroupsReferencing(ctx, doomed, true); err != nil {
			return nil, fmt.Errorf("find rules that refer to %v: %w", doomed, err)
		}
		// They join the universe, as discovery's search would have them: lbsg rules there
		// that no load balancer needs are revoked, and any others name what holds the SG.
		for _, sg := range refs {
			in.Observed[sg.ID] = toState(sg)
		}
	}
	// SGs the reads above had to ask AWS for are as fresh as a re-read. An SG to delete
	// needs no re-read of its own: what it holds does not decide its deletion.
	narrowed := slices.DeleteFunc(e.EC2.NotReadSince(sgsChangedBy(res.Plan, plan.OpRevoke), readStart), func(id string) bool {
		return slices.Contains(doomed, id)
	})
	switch {
	case !o.Drift && len(narrowed) > 0:
		fresh, err := e.EC2.SecurityGroups(ctx, narrowed, true)
		if err != nil {
			return nil, fmt.Errorf("read the security groups a revoke would change: %w", err)
		}
		for _, id := range narrowed {
			if in.BackendSG != nil && id == in.BackendSG.ID {
				in.BackendSG = nil // gone, or read again below
				if sg, ok := fresh[id]; ok {
					in.BackendSG = ptrTo(toState(sg))
				}
			}
			if _, observed := in.Observed[id]; !observed {
				continue
			}
			if sg, ok := fresh[id]; ok {
				in.Observed[id] = toState(sg)
			} else {
				delete(in.Observed, id) // gone: nothing to revoke there
			}
		}
		res = plan.PlanNetworking(in)
	case len(refs) > 0:
		res = plan.PlanNetworking(in)
	}
	plan.MarkHeldDeletes(&res.Plan, statesOf(refs))
	np.Plan, np.Input, np.OverQuota, np.Held, np.Refused = res.Plan, in, res.OverQuota, res.Held, res.Refused
	snap.lastFor = res.For
	return np, nil
}

func stackOf(stacks []*netStack, o spec.Owner) *netStack {
	for _, ns := range stacks {
		if ns.owner == o {
			return ns
		}
	}
	return &netStack{owner: o, unobserved: true}
}

// heldStack reads what a failing stack has registered in its target groups (its holds
// depend on it); nil when that cannot be read. Only failing stacks cost these reads.
func (e *Engine) heldStack(ctx context.Context, ns *netStack) *StackPlan {
	if ns.unobserved || ns.id == nil {
		return nil
	}
	sp := &StackPlan{Owner: ns.owner, Observed: plan.Observed{Targets: map[string][]state.Target{}}}
	if ns.lb != nil {
		sp.Observed.LoadBalancers = []state.LoadBalancer{*ns.lb}
	}
	tgs, err := e.ELB.TargetGroups(ctx, false)
	if err != nil {
		return nil
	}
	for _, tg := range plan.RecogniseTargetGroups(*ns.id, tgs) {
		sp.Observed.TargetGroups = append(sp.Observed.TargetGroups, tg)
		ts, err := e.ELB.Targets(ctx, tg.ARN)
		if err != nil {
			return nil
		}
		sp.Observed.Targets[tg.ARN] = ts
	}
	return sp
}

// targetIDs returns the IDs of the targets whose ENIs get the stack's rules: every
// eligible node's instance and every pod IP, ready or not (see ruleTargets).
func targetIDs(st *spec.Stack, objs ClusterObjects) (instIDs, ips []string) {
	seenID := map[string]bool{}
	for _, tg := range st.TargetGroups {
		if tg.TargetType == spec.TargetIP {
			for _, t := range ruleTargets(tg, objs) {
				ips = append(ips, t.ID)
			}
			continue
		}
		for _, n := range eligibleNodes(objs.Nodes, tg.NodeSelector) {
			if id, err := targets.InstanceIDFromProviderID(n.Spec.ProviderID); err == nil && !seenID[id] {
				seenID[id] = true
				instIDs = append(instIDs, id)
			}
		}
	}
	return instIDs, ips
}

func hasFinalizer(o interface{ GetFinalizers() []string }, f string) bool {
	for _, x := range o.GetFinalizers() {
		if x == f {
			return true
		}
	}
	return false
}

// attachedToLB reports whether any load balancer still lists the SG; such an SG is not
// deleted yet, whatever Kubernetes says. It is a deletion decision, so it reads the list
// fresh: a cached list may predate a load balancer created a moment ago.
func (e *Engine) attachedToLB(ctx context.Context, sgID string) bool {
	lbs, err := e.ELB.LoadBalancers(ctx, true)
	if err != nil {
		return true
	}
	for _, lb := range lbs {
		for _, id := range lb.SecurityGroups {
			if id == sgID {
				return true
			}
		}
	}
	return false
}

// eniSGTags reads the tags of the SGs on ENIs with more than one SG (one batched call).
func (e *Engine) eniSGTags(ctx context.Context, cs []stackNetworking) (map[string]map[string]string, error) {
	var ids []string
	for _, c := range cs {
		for _, eni := range c.enis {
			if len(eni.SecurityGroups) > 1 {
				ids = append(ids, eni.SecurityGroups...)
			}
		}
	}
	out := map[string]map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	sgs, err := e.EC2.SecurityGroups(ctx, ids, false)
	if err != nil {
		return nil, fmt.Errorf("read tags of target ENI security groups: %w", err)
	}
	for id, sg := range sgs {
		out[id] = sg.Tags
	}
	return out, nil
}

// SelectTargetSGs applies --target-sg-selection to one target ENI.
func (e *Engine) SelectTargetSGs(eni targets.ENI, sgTags map[string]map[string]string) ([]string, error) {
	policy := e.SGSelection
	if policy == "" {
		policy = targets.PolicyError
	}
	return targets.SelectSGs(eni, sgTags, e.Settings.Cluster, e.ENISGTags, policy)
}

func eniOf(e cloud.ENI) targets.ENI {
	return targets.ENI{ID: e.ID, SecurityGroups: e.SecurityGroups}
}
