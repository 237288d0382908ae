package controller

import (
	"context"
	"maps"
	"slices"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/targets"
)

// stackTagOf returns the tag key and value that mark an owner's AWS resources.
func stackTagOf(o spec.Owner) (key, value string) {
	if o.Kind == "Service" {
		return naming.ServiceStackTag, naming.ServiceStackID(o.Namespace, o.Name)
	}
	return naming.IngressStackTag, groupIDOf(o).String()
}

// holdFailing keeps, for each owner whose contribution could not be computed, the lbsg
// rules it could contribute, and only those: every other stack's authorizes and revokes go
// ahead, on a shared SG too.
//
// lbsg keeps no memory of the rules a stack got last time, and a stack with bad input
// cannot say which it wants, so what it could contribute is read from AWS, where a tenant
// cannot forge it (plan.HoldsOf decides): the ports of its target groups and registered
// targets, from the backend SG when its load balancer carries it or as CIDR rules when it
// has no SGs, on the SGs of its registered targets (the ENI of each instance target, the
// ENI holding each IP target, its SG chosen as for any target); and every rule from its
// managed SGs (found by the stack tag), which serve that stack alone.
//
// When its registered targets' SGs cannot be read, its ports are held on every target SG;
// when not even its target groups can be read, every rule from the backend SG and every
// CIDR rule is. A target that no longer exists (terminated instance, IP on no ENI)
// receives no traffic and holds nothing.
func (e *Engine) holdFailing(ctx context.Context, in *plan.NetworkingInput, failing map[spec.Owner]*StackPlan,
	owned []cloud.SecurityGroup, backendID string) {
	in.Holds = nil
	owners := make([]spec.Owner, 0, len(failing))
	for o := range failing {
		owners = append(owners, o)
	}
	slices.SortFunc(owners, func(a, b spec.Owner) int { return compareStrings(a.String(), b.String()) })
	backends := dedupStrings(slices.DeleteFunc([]string{backendID, e.BackendSGID}, func(id string) bool { return id == "" }))
	for _, o := range owners {
		f := plan.FailingStack{Owner: o.String()}
		key, value := stackTagOf(o)
		for _, sg := range owned {
			if sg.Tags[key] == value {
				f.ManagedSGs = append(f.ManagedSGs, sg.ID)
			}
		}
		if sp := failing[o]; sp != nil {
			f.Observed, f.TargetGroups, f.Targets = true, sp.Observed.TargetGroups, sp.Observed.Targets
			if len(sp.Observed.LoadBalancers) > 0 {
				f.LoadBalancer = &sp.Observed.LoadBalancers[0]
			}
			f.TargetSGs, f.TargetSGsKnown = e.registeredTargetSGs(ctx, sp)
		}
		in.Holds = append(in.Holds, plan.HoldsOf(f, backends)...)
	}
}

// registeredTargetSGs maps each target registered in the stack's target groups to the
// SGs of its ENI that carry target rules; known is false when they could not be read.
func (e *Engine) registeredTargetSGs(ctx context.Context, sp *StackPlan) (sgs map[string][]string, known bool) {
	if sp == nil {
		return nil, false
	}
	var ids, ips []string
	for _, tg := range sp.Observed.TargetGroups {
		for _, t := range sp.Observed.Targets[tg.ARN] {
			if tg.TargetType == string(spec.TargetIP) {
				ips = append(ips, t.ID)
			} else {
				ids = append(ids, t.ID)
			}
		}
	}
	enis := map[string]targets.ENI{}
	if len(ids) > 0 {
		insts, err := e.EC2.Instances(ctx, dedupStrings(ids))
		if err != nil {
			return nil, false
		}
		for id, inst := range insts {
			enis[id] = eniOf(inst.PrimaryENI)
		}
	}
	if len(ips) > 0 {
		byIP, err := e.EC2.NetworkInterfacesByIP(ctx, dedupStrings(ips))
		if err != nil {
			return nil, false
		}
		for ip, eni := range byIP {
			enis[ip] = eniOf(eni)
		}
	}
	sgTags, err := e.eniSGTags(ctx, []stackNetworking{{enis: slices.Collect(maps.Values(enis))}})
	if err != nil {
		return nil, false
	}
	sgs = map[string][]string{}
	for target, eni := range enis {
		chosen, err := e.SelectTargetSGs(eni, sgTags)
		if err != nil {
			// Which of its SGs carries the rules is ambiguous: keep them all.
			chosen = eni.SecurityGroups
		}
		sgs[target] = dedupStrings(chosen)
	}
	return sgs, true
}

// contribute adds one stack's rules on one target SG to the planner's input.
func contribute(in *plan.NetworkingInput, np *NetworkingPlan, sg string, c stackNetworking) {
	name := c.owner.String()
	if c.source != "" && len(c.needs) > 0 {
		if in.Needs[sg] == nil {
			in.Needs[sg] = map[string][]sgrules.Need{}
		}
		in.Needs[sg][c.source] = append(in.Needs[sg][c.source], c.needs...)
		in.NeedOwners[sg] = appendOnce(in.NeedOwners[sg], name)
		if in.NeedsByOwner[sg] == nil {
			in.NeedsByOwner[sg] = map[string]map[string][]sgrules.Need{}
		}
		if in.NeedsByOwner[sg][name] == nil {
			in.NeedsByOwner[sg][name] = map[string][]sgrules.Need{}
		}
		in.NeedsByOwner[sg][name][c.source] = append(in.NeedsByOwner[sg][name][c.source], c.needs...)
	}
	if len(c.cidr) > 0 {
		if in.CIDROwners[sg] == nil {
			in.CIDROwners[sg] = map[string][]sgrules.Rule{}
		}
		in.CIDROwners[sg][name] = append(in.CIDROwners[sg][name], c.cidr...)
		if c.clientCIDR && !slices.Contains(in.ClientCIDROwners, name) {
			in.ClientCIDROwners = append(in.ClientCIDROwners, name)
		}
	}
	if c.restrict != nil {
		in.Restricted[name] = *c.restrict
	}
	if c.owner.Namespace != "" {
		in.OwnerNamespaces[name] = c.owner.Namespace
	}
	if !slices.Contains(np.Contributors[sg], c.owner) {
		np.Contributors[sg] = append(np.Contributors[sg], c.owner)
	}
	np.owners[name] = c.owner
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func dedupStrings(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
