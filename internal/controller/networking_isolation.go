package controller

import (
	"context"
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
// rules its load balancer may still rely on, and only those: every other SG and source is
// planned as usual.
//
// lbsg keeps no memory of the rules a stack got last time, and a stack with bad input
// cannot say which it wants, so what it relies on is read from AWS, where a tenant cannot
// forge it:
//   - the target SGs of the targets registered in its target groups (the ENI of each
//     instance target, the ENI holding each IP target, its SG chosen as for any target):
//     nothing lbsg owns is revoked there (HoldSGs);
//   - its managed SGs (found by the stack tag): rules from them are revoked nowhere
//     (HoldSources), since they serve that stack alone.
//
// When its registered targets cannot be read (its stack could not be observed, or reading
// the targets' ENIs failed), lbsg falls back to keeping, on every target SG, the rules
// from the shared backend SG and the CIDR rules (the rules any stack without a managed SG
// may use), while rules from other stacks' managed SGs are still revoked. A target that no
// longer exists (terminated instance, IP on no ENI) receives no traffic and holds nothing.
func (e *Engine) holdFailing(ctx context.Context, in *plan.NetworkingInput, failing map[spec.Owner]*StackPlan,
	owned []cloud.SecurityGroup, backendID string) {
	in.HoldSGs, in.HoldSources = map[string][]string{}, map[string][]string{}
	owners := make([]spec.Owner, 0, len(failing))
	for o := range failing {
		owners = append(owners, o)
	}
	slices.SortFunc(owners, func(a, b spec.Owner) int { return compareStrings(a.String(), b.String()) })
	for _, o := range owners {
		name := o.String()
		key, value := stackTagOf(o)
		for _, sg := range owned {
			if sg.Tags[key] == value {
				in.HoldSources[sg.ID] = appendOnce(in.HoldSources[sg.ID], name)
			}
		}
		sgs, known := e.registeredTargetSGs(ctx, failing[o])
		for _, id := range sgs {
			in.HoldSGs[id] = appendOnce(in.HoldSGs[id], name)
		}
		if !known {
			for _, id := range []string{backendID, e.BackendSGID} {
				if id != "" {
					in.HoldSources[id] = appendOnce(in.HoldSources[id], name)
				}
			}
			in.HoldCIDR = appendOnce(in.HoldCIDR, name)
		}
	}
}

// registeredTargetSGs returns the target SGs of the targets registered in the stack's
// target groups; known is false when they could not be determined.
func (e *Engine) registeredTargetSGs(ctx context.Context, sp *StackPlan) (sgs []string, known bool) {
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
	var enis []targets.ENI
	if len(ids) > 0 {
		insts, err := e.EC2.Instances(ctx, dedupStrings(ids))
		if err != nil {
			return nil, false
		}
		for _, inst := range insts {
			enis = append(enis, eniOf(inst.PrimaryENI))
		}
	}
	if len(ips) > 0 {
		byIP, err := e.EC2.NetworkInterfacesByIP(ctx, dedupStrings(ips))
		if err != nil {
			return nil, false
		}
		for _, eni := range byIP {
			enis = append(enis, eniOf(eni))
		}
	}
	sgTags, err := e.eniSGTags(ctx, []stackNetworking{{enis: enis}})
	if err != nil {
		return nil, false
	}
	for _, eni := range enis {
		chosen, err := e.SelectTargetSGs(eni, sgTags)
		if err != nil {
			// Which of its SGs carries the rules is ambiguous: keep them all.
			sgs = append(sgs, eni.SecurityGroups...)
			continue
		}
		sgs = append(sgs, chosen...)
	}
	return dedupStrings(sgs), true
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
	}
	if len(c.cidr) > 0 {
		if in.CIDROwners[sg] == nil {
			in.CIDROwners[sg] = map[string][]sgrules.Rule{}
		}
		in.CIDROwners[sg][name] = append(in.CIDROwners[sg][name], c.cidr...)
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
