package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/naming"
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
	// Contributors maps each target SG to the owners whose rules land there.
	Contributors map[string][]spec.Owner

	owners map[string]spec.Owner // by String(), to map the planner's names back
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
}

// PlanNetworking computes the rules every target SG needs from every Service and Ingress
// group lbsg serves (objs.Services and objs.Ingresses), and the plan that makes AWS match.
func (e *Engine) PlanNetworking(ctx context.Context, objs ClusterObjects) (*NetworkingPlan, error) {
	np := &NetworkingPlan{Failures: map[spec.Owner]error{}, Contributors: map[string][]spec.Owner{}, owners: map[string]spec.Owner{}}
	// failing are the owners whose contribution could not be computed, with what is known
	// of their stack (nil when it could not be observed).
	failing := map[spec.Owner]*StackPlan{}
	backendID, err := e.BackendSG(ctx)
	var backendAmbiguous *plan.Ambiguity
	if errors.As(err, &backendAmbiguous) {
		// Rules from either candidate would be a guess: the stacks that use the backend SG
		// fail (and say why), and nothing is revoked or deleted this pass.
		np.Partial, backendID, err = true, "", nil
	}
	if err != nil {
		return nil, err
	}
	backendNeeded := false
	var contributions []stackNetworking
	plans := map[spec.Owner]*StackPlan{}
	add := func(owner spec.Owner, sp *StackPlan, err error) {
		plans[owner] = sp
		var sn stackNetworking
		if err == nil {
			sn, err = e.stackNetworking(ctx, sp, objs, backendID)
		}
		if err == nil && backendAmbiguous != nil && sn.keepsSGs {
			err = backendAmbiguous
		}
		if err != nil {
			np.Partial = true
			np.Failures[owner] = err
			np.owners[owner.String()] = owner
			failing[owner] = sp
			backendNeeded = true
			return
		}
		if sn.keepsSGs {
			backendNeeded = true
		}
		contributions = append(contributions, sn)
	}
	for i := range objs.Services {
		svc := &objs.Services[i]
		ours := spec.OwnsService(svc, e.Settings) && svc.DeletionTimestamp == nil
		if !ours {
			if p := serviceReleaseProblem(svc); p != nil && hasFinalizer(svc, naming.ServiceFinalizer) {
				// lbsg cannot tell whether it is still its own: it fails like a stack with
				// bad input, so the rules its load balancer relies on are kept.
				sp, err := e.PlanService(ctx, svc, objs)
				add(spec.ServiceOwner(svc), sp, err)
				backendNeeded = true
				continue
			}
			if hasFinalizer(svc, naming.ServiceFinalizer) {
				// Being deleted or switched away: its LB may still use the backend SG
				// until the Service reconciler removed it.
				backendNeeded = true
			}
			continue
		}
		sp, err := e.PlanService(ctx, svc, objs)
		add(spec.ServiceOwner(svc), sp, err)
	}
	groups := IngressGroups(objs)
	ids := make([]spec.IngressGroupID, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	for _, id := range ids {
		g := groups[id]
		if len(g.Leaving) > 0 {
			// Until the group's reconciler removed what they used, keep the backend SG.
			backendNeeded = true
		}
		if len(g.Members) == 0 && len(g.Unresolved) == 0 {
			continue
		}
		sp, err := e.PlanIngressGroup(ctx, g, objs)
		add(id.Owner(), sp, err)
	}
	in := plan.NetworkingInput{
		Cluster:    e.Settings.Cluster,
		Budget:     e.Budget,
		RuleQuota:  e.RuleQuota,
		Needs:      map[string]map[string][]sgrules.Need{},
		OurSources: map[string]bool{},
		CIDROwners: map[string]map[string][]sgrules.Rule{},
		NeedOwners: map[string][]string{},
	}
	// Every ENI's SG, chosen as upstream does.
	sgTags, err := e.eniSGTags(ctx, contributions)
	if err != nil {
		return nil, err
	}
	for _, c := range contributions {
		for _, eni := range c.enis {
			sg, err := targets.SelectSG(eni, sgTags, e.Settings.Cluster, e.ENISGTags)
			if err != nil {
				np.Partial = true
				np.Failures[c.owner] = err
				np.owners[c.owner.String()] = c.owner
				failing[c.owner] = plans[c.owner]
				continue
			}
			contribute(&in, np, sg, c)
		}
	}
	// The universe of target SGs: those that need rules, those tagged for the cluster, and
	// any SG with a rule whose source is one of this cluster's SGs (found also after a
	// restart, so stale rules never leak).
	owned, err := e.EC2.FindSecurityGroups(ctx, map[string][]string{naming.TagCluster: {e.Settings.Cluster}}, false)
	if err != nil {
		return nil, fmt.Errorf("find the cluster's security groups: %w", err)
	}
	var sources []string
	for _, sg := range owned {
		in.OurSources[sg.ID] = true
		sources = append(sources, sg.ID)
	}
	if e.BackendSGID != "" {
		in.OurSources[e.BackendSGID] = true
		sources = append(sources, e.BackendSGID)
	}
	tagged, err := e.EC2.FindSecurityGroups(ctx, map[string][]string{naming.NodeSGClusterTagPrefix + e.Settings.Cluster: nil}, false)
	if err != nil {
		return nil, fmt.Errorf("find the cluster's node security groups: %w", err)
	}
	universe := map[string]bool{}
	for id := range in.Needs {
		universe[id] = true
	}
	for id := range in.CIDROwners {
		universe[id] = true
	}
	for _, sg := range tagged {
		universe[sg.ID] = true
	}
	referencing, err := e.EC2.SecurityGroupsReferencing(ctx, sources, false)
	if err != nil {
		return nil, fmt.Errorf("find rules that refer to the cluster's security groups: %w", err)
	}
	for _, sg := range referencing {
		universe[sg.ID] = true
	}
	if !backendNeeded && e.BackendSGID == "" && backendAmbiguous == nil {
		for _, sg := range owned {
			if plan.IsBackendSG(e.Settings.Cluster, toState(sg)) && !e.attachedToLB(ctx, sg.ID) {
				in.DeleteSGs = append(in.DeleteSGs, toState(sg))
			}
		}
	}
	// Every pass reads the target SGs without the cache, in one batched call: this is the
	// drift check, and it means a revoke never rests on a stale read.
	if in.Observed, err = e.observeTargetSGs(ctx, universe, true); err != nil {
		return nil, err
	}
	e.holdFailing(ctx, &in, failing, owned, backendID)
	res := plan.PlanNetworking(in)
	np.Plan, np.Input, np.OverQuota, np.Held = res.Plan, in, res.OverQuota, res.Held
	return np, nil
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

func (e *Engine) observeTargetSGs(ctx context.Context, ids map[string]bool, fresh bool) (map[string]state.SecurityGroup, error) {
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	sort.Strings(list)
	sgs, err := e.EC2.SecurityGroups(ctx, list, fresh)
	if err != nil {
		return nil, fmt.Errorf("read target security groups: %w", err)
	}
	out := make(map[string]state.SecurityGroup, len(sgs))
	for id, sg := range sgs {
		out[id] = toState(sg)
	}
	return out, nil
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

// stackNetworking computes one stack's contribution to the target SGs.
func (e *Engine) stackNetworking(ctx context.Context, sp *StackPlan, objs ClusterObjects, backendID string) (stackNetworking, error) {
	sn := stackNetworking{owner: sp.Owner}
	if len(sp.Problems) > 0 {
		if len(sp.Observed.LoadBalancers) == 0 {
			// Nothing exists for the stack, so it needs no target rules; its bad input
			// must not keep every other stack's stale rules from being revoked.
			return sn, nil
		}
		return sn, fmt.Errorf("invalid configuration: %s", sp.Problems[0].Error())
	}
	st := sp.Stack
	sn.keepsSGs = st.LoadBalancer.UseBackendSG
	if !st.Networking.Manage || len(sp.Observed.LoadBalancers) == 0 {
		// Rules follow the load balancer: none before it exists.
		return sn, nil
	}
	lb := sp.Observed.LoadBalancers[0]
	var err error
	switch st.Networking.Source {
	case spec.SourceBackend:
		sn.source = backendID
		if e.BackendSGID != "" {
			sn.source = e.BackendSGID
		}
		sn.needs = st.Networking.Needs
	case spec.SourceFrontend:
		if len(sp.Observed.ManagedSGs) > 0 {
			sn.source = sp.Observed.ManagedSGs[0].ID
		}
		sn.needs = st.Networking.Needs
	default:
		sn.cidr, err = e.legacyRules(ctx, st, lb)
		if err != nil {
			return sn, err
		}
	}
	if sn.source == "" && len(sn.cidr) == 0 {
		return sn, nil
	}
	sn.enis, err = e.targetENIs(ctx, st, objs)
	return sn, err
}

// legacyRules resolves the symbolic peers of an NLB without SGs into CIDR rules.
func (e *Engine) legacyRules(ctx context.Context, st *spec.Stack, lb state.LoadBalancer) ([]sgrules.Rule, error) {
	var subnetCIDRs, vpcCIDRs []string
	var out []sgrules.Rule
	for _, ln := range st.Networking.Legacy {
		for _, peer := range ln.Peers {
			var cidrs []string
			switch peer {
			case spec.PeerSubnets:
				if subnetCIDRs == nil {
					subnets, err := e.EC2.Subnets(ctx, lb.Subnets)
					if err != nil {
						return nil, err
					}
					for _, s := range subnets {
						subnetCIDRs = append(subnetCIDRs, s.CIDR)
					}
				}
				cidrs = subnetCIDRs
			case spec.PeerVPC:
				if vpcCIDRs == nil {
					vpc, err := e.EC2.VPC(ctx)
					if err != nil {
						return nil, err
					}
					vpcCIDRs = vpc.CIDRs
				}
				cidrs = vpcCIDRs
			default:
				cidrs = []string{peer}
			}
			for _, c := range cidrs {
				kind := sgrules.PeerCIDR
				if strings.Contains(c, ":") {
					kind = sgrules.PeerCIDRv6
				}
				out = append(out, sgrules.Rule{Key: sgrules.Key{Protocol: ln.Need.Protocol, FromPort: ln.Need.Port, ToPort: ln.Need.Port, PeerKind: kind, Peer: c}})
			}
		}
	}
	return out, nil
}

// targetENIs returns the ENIs that receive the stack's traffic: the primary ENI of every
// target instance, and the ENI holding each pod IP.
func (e *Engine) targetENIs(ctx context.Context, st *spec.Stack, objs ClusterObjects) ([]targets.ENI, error) {
	var ids, ips []string
	seenID := map[string]bool{}
	for _, tg := range st.TargetGroups {
		if tg.TargetType == spec.TargetIP {
			ts, _ := podTargets(tg, objs)
			for _, t := range ts {
				ips = append(ips, t.ID)
			}
			continue
		}
		for _, n := range eligibleNodes(objs.Nodes, tg.NodeSelector) {
			if id, err := targets.InstanceIDFromProviderID(n.Spec.ProviderID); err == nil && !seenID[id] {
				seenID[id] = true
				ids = append(ids, id)
			}
		}
	}
	var out []targets.ENI
	var missing []string
	if len(ids) > 0 {
		insts, err := e.EC2.Instances(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("resolve node ENIs: %w", err)
		}
		for _, id := range ids {
			inst, ok := insts[id]
			if !ok {
				missing = append(missing, id)
				continue
			}
			out = append(out, eniOf(inst.PrimaryENI))
		}
		if len(missing) > 0 {
			return out, fmt.Errorf("cannot resolve node ENI for instances %v", missing)
		}
	}
	if len(ips) == 0 {
		return out, nil
	}
	enis, err := e.EC2.NetworkInterfacesByIP(ctx, ips)
	if err != nil {
		return nil, fmt.Errorf("resolve pod ENIs: %w", err)
	}
	seen := map[string]bool{}
	for _, ip := range ips {
		eni, ok := enis[ip]
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
			out = append(out, eniOf(eni))
		}
	}
	if len(missing) > 0 {
		return out, fmt.Errorf("cannot resolve pod ENI for pod IPs %v", missing)
	}
	return out, nil
}

func eniOf(e cloud.ENI) targets.ENI {
	return targets.ENI{ID: e.ID, SecurityGroups: e.SecurityGroups}
}
