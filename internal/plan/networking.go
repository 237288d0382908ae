package plan

import (
	"fmt"
	"sort"

	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

// NetworkingInput is the cluster-wide view of the rules lbsg keeps on target (node and pod)
// security groups.
type NetworkingInput struct {
	Cluster string
	// Budget is the number of rules per (protocol, source SG) on each target SG.
	Budget int
	// Needs: target SG → source SG → ports to admit. Sources are the shared backend SG, or
	// each managed frontend SG when the backend SG is disabled.
	Needs map[string]map[string][]sgrules.Need
	// CIDRRules: target SG → CIDR-sourced rules of NLBs without security groups.
	CIDRRules map[string][]sgrules.Rule
	// Observed holds every target SG that has or may have lbsg rules, read fresh.
	Observed map[string]state.SecurityGroup
	// OurSources are this cluster's backend and managed SG IDs: upstream-era rules whose
	// peer is one of them are adopted.
	OurSources map[string]bool
	// AuthorizeOnly is set while the desired state is incomplete (a stack failed to
	// build): then nothing is revoked, so no rule a load balancer needs is lost.
	AuthorizeOnly bool
	// DeleteSGs are SGs to delete after every reference is revoked (the backend SG when no
	// load balancer needs it any more).
	DeleteSGs []state.SecurityGroup
}

// Networking plans authorize and revoke calls per target SG (one call of each at most per
// SG), authorizing before revoking so that a changed port range never leaves a gap.
func Networking(in NetworkingInput) Plan {
	b := &builder{owner: "cluster/" + in.Cluster}
	desc := sgrules.OwnerDescription(in.Cluster)
	owned := sgrules.OwnedBy(in.Cluster, in.OurSources)
	ids := map[string]bool{}
	for id := range in.Needs {
		ids[id] = true
	}
	for id := range in.CIDRRules {
		ids[id] = true
	}
	for id := range in.Observed {
		ids[id] = true
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	for _, id := range sorted {
		cur, ok := in.Observed[id]
		if !ok {
			continue // not found in AWS: nothing to change there
		}
		want := sgrules.TargetRules(in.Needs[id], in.Budget, desc)
		for _, r := range in.CIDRRules[id] {
			r.Description = desc
			want = append(want, r)
		}
		want = sgrules.Dedup(want)
		grant, revoke := sgrules.Diff(want, cur.Ingress, owned)
		if in.AuthorizeOnly {
			// The stacks that could not be computed still use what exists; adding a
			// narrower rule inside an existing range would only grow the rule count.
			grant = sgrules.Uncovered(grant, cur.Ingress)
		}
		ref := Ref{Kind: KindSG, ID: id}
		if len(grant) > 0 {
			b.add(Change{Op: OpAuthorize, Target: ref, Rules: grant, RuleTags: map[string]string{sgrules.LabelCluster: in.Cluster},
				Reason: fmt.Sprintf("admit load-balancer traffic to targets in %s", id)})
		}
		if len(revoke) > 0 && !in.AuthorizeOnly {
			b.add(Change{Op: OpRevoke, Target: ref, Rules: revoke,
				Reason: fmt.Sprintf("remove lbsg rules from %s that no load balancer needs", id)})
		}
	}
	for _, sg := range in.DeleteSGs {
		if in.AuthorizeOnly {
			break
		}
		b.add(Change{Op: OpDeleteSG, Target: Ref{Kind: KindSG, ID: sg.ID},
			Reason: fmt.Sprintf("backend security group %s is used by no load balancer", sg.Name)})
	}
	return b.plan()
}
