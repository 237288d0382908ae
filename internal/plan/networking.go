package plan

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

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
	// CIDRRules: target SG → CIDR-sourced rules of NLBs without security groups, when their
	// owner is not known (see CIDROwners).
	CIDRRules map[string][]sgrules.Rule
	// Observed holds every target SG that has or may have lbsg rules, read fresh.
	Observed map[string]state.SecurityGroup
	// OurSources are this cluster's backend and managed SG IDs: upstream-era rules whose
	// peer is one of them are adopted.
	OurSources map[string]bool
	// AuthorizeOnly holds every revoke on every target SG (nothing is revoked anywhere).
	// The controller no longer sets it: a stack that cannot be computed holds only what it
	// may rely on (HoldSGs, HoldSources, HoldCIDR).
	AuthorizeOnly bool
	// DeleteSGs are SGs to delete after every reference is revoked (the backend SG when no
	// load balancer needs it any more).
	DeleteSGs []state.SecurityGroup

	// CIDROwners: target SG → owner → the CIDR rules that owner's NLB without security
	// groups asks for there. Known owners let a quota problem hold back only the rules of
	// the owners that do not fit.
	CIDROwners map[string]map[string][]sgrules.Rule `json:",omitempty"`
	// NeedOwners: target SG → the owners whose SG-sourced rules (Needs) land there; only
	// used to name them in a quota problem.
	NeedOwners map[string][]string `json:",omitempty"`
	// HoldSGs: target SG → owners whose contribution could not be computed and whose
	// registered targets sit behind the SG: no lbsg rule is revoked there.
	HoldSGs map[string][]string `json:",omitempty"`
	// HoldSources: source SG → owners that could not be computed: lbsg rules from that
	// source are revoked on no target SG.
	HoldSources map[string][]string `json:",omitempty"`
	// HoldCIDR: owners that could not be computed and whose targets are unknown: no lbsg
	// CIDR rule is revoked on any target SG.
	HoldCIDR []string `json:",omitempty"`
	// RuleQuota is the inbound rules a target SG may hold per address family; 0 means
	// sgrules.DefaultRulesPerSG.
	RuleQuota int `json:",omitempty"`
	// BackendSG is the shared backend SG lbsg manages, read fresh, when it is no target
	// SG: it is attached to every load balancer of the cluster, so an inbound rule on it
	// admits its source to all of them. lbsg keeps it without inbound rules. Nil when the
	// user names the backend SG (--backend-security-group), which lbsg never changes.
	BackendSG *state.SecurityGroup `json:",omitempty"`
}

// OverQuota is a target SG whose rules would not fit its inbound-rule quota: the rules of
// Owners are not added (those that exist are kept) until they fit.
type OverQuota struct {
	SG string `json:"sg"`
	// Count is the SG's inbound rules of Family had every owner's rules been added.
	Count  int    `json:"count"`
	Limit  int    `json:"limit"`
	Family string `json:"family"`
	// Owners are the owners whose new rules are held back: all contributors of the SG when
	// even its SG-sourced rules do not fit, else the CIDR owners that did not fit.
	Owners []string `json:"owners"`
	// SGSourced is set when even the rules from lbsg's source SGs (backend or frontend)
	// do not fit: then no new rule is added to the SG.
	SGSourced bool `json:"sgSourced,omitempty"`
}

func (q OverQuota) String() string {
	return fmt.Sprintf("security group %s would have %d inbound %s rules, over the quota of %d rules per security group: new rules are not added",
		q.SG, q.Count, q.Family, q.Limit)
}

// NetworkingResult is the networking plan and what it holds back.
type NetworkingResult struct {
	Plan Plan
	// OverQuota lists the target SGs whose rules would exceed the quota, sorted by SG.
	OverQuota []OverQuota
	// Held maps each target SG where lbsg rules are kept that nothing asks for (revokes
	// held back because a stack could not be computed) to the owners that hold them.
	Held map[string][]string
}

// Networking plans authorize and revoke calls per target SG (one call of each at most per
// SG), authorizing before revoking so that a changed port range never leaves a gap.
func Networking(in NetworkingInput) Plan { return PlanNetworking(in).Plan }

// PlanNetworking plans every target SG on its own: what one SG holds back (a quota, a
// stack that could not be computed) changes nothing on another.
func PlanNetworking(in NetworkingInput) NetworkingResult {
	res := NetworkingResult{Held: map[string][]string{}}
	b := &builder{owner: "cluster/" + in.Cluster}
	ids := map[string]bool{}
	for id := range in.Needs {
		ids[id] = true
	}
	for id := range in.CIDRRules {
		ids[id] = true
	}
	for id := range in.CIDROwners {
		ids[id] = true
	}
	backend := in.backendSGToEmpty(ids)
	for id := range in.Observed {
		ids[id] = true
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		cur, ok := in.Observed[id]
		if !ok || id == backend {
			continue // not found in AWS (nothing to change there), or emptied below
		}
		t := in.target(id, cur)
		grant, revoke, held := t.fit(&res)
		if holders := t.holders(held); len(holders) > 0 {
			res.Held[id] = holders
		}
		ref := Ref{Kind: KindSG, ID: id}
		if len(grant) > 0 {
			b.add(Change{Op: OpAuthorize, Target: ref, Rules: grant, RuleTags: map[string]string{sgrules.LabelCluster: in.Cluster},
				Reason: fmt.Sprintf("admit load-balancer traffic to targets in %s", id)})
		}
		if len(revoke) > 0 {
			b.add(Change{Op: OpRevoke, Target: ref, Rules: revoke,
				Reason: fmt.Sprintf("remove lbsg rules from %s that no load balancer needs", id)})
		}
	}
	if backend != "" {
		b.add(Change{Op: OpRevoke, Target: Ref{Kind: KindSG, ID: backend}, Rules: slices.Clone(in.BackendSG.Ingress),
			Reason: fmt.Sprintf("the shared backend security group %s admits no clients: it is attached to every load balancer of the cluster", backend)})
	}
	// A held rule may come from the SG to delete, and a stack that could not be computed
	// may still need it: delete nothing until every hold is gone.
	if !in.AuthorizeOnly && len(res.Held) == 0 && len(in.HoldSGs) == 0 && len(in.HoldSources) == 0 && len(in.HoldCIDR) == 0 {
		for _, sg := range in.DeleteSGs {
			b.add(Change{Op: OpDeleteSG, Target: Ref{Kind: KindSG, ID: sg.ID},
				Reason: fmt.Sprintf("backend security group %s is used by no load balancer", sg.Name)})
		}
	}
	res.Plan = b.plan()
	return res
}

// backendSGToEmpty returns the backend SG's ID when every inbound rule on it is to be
// revoked: lbsg never writes one there, so each was added behind its back, and it admits
// its source to every load balancer of the cluster. An SG that some load balancer's
// targets use (attached to nodes by hand) is planned as a target SG instead, where rules
// lbsg did not write are left alone; one about to be deleted needs no revoke.
func (in *NetworkingInput) backendSGToEmpty(targets map[string]bool) string {
	sg := in.BackendSG
	if sg == nil || len(sg.Ingress) == 0 || targets[sg.ID] ||
		slices.ContainsFunc(in.DeleteSGs, func(d state.SecurityGroup) bool { return d.ID == sg.ID }) {
		return ""
	}
	return sg.ID
}

// targetSG is the planning state of one target SG.
type targetSG struct {
	in    *NetworkingInput
	id    string
	cur   state.SecurityGroup
	desc  string
	owned func(sgrules.Rule) bool
	// base are the SG-sourced rules; cidr the CIDR rules by owner ("" when unknown).
	base []sgrules.Rule
	cidr map[string][]sgrules.Rule
}

func (in *NetworkingInput) target(id string, cur state.SecurityGroup) *targetSG {
	t := &targetSG{in: in, id: id, cur: cur, desc: sgrules.OwnerDescription(in.Cluster),
		owned: sgrules.OwnedBy(in.Cluster, in.OurSources), cidr: map[string][]sgrules.Rule{}}
	t.base = sgrules.TargetRules(in.Needs[id], in.Budget, t.desc)
	if rules := in.CIDRRules[id]; len(rules) > 0 {
		t.cidr[""] = rules
	}
	for owner, rules := range in.CIDROwners[id] {
		t.cidr[owner] = append(t.cidr[owner], rules...)
	}
	return t
}

// fit plans the SG with every owner's rules if they fit its quota; otherwise it adds the
// CIDR owners one by one (in name order) while they fit, keeping the existing rules of the
// owners left out, and reports the SG over quota.
func (t *targetSG) fit(res *NetworkingResult) (grant, revoke, held []sgrules.Rule) {
	owners := slices.Sorted(maps.Keys(t.cidr))
	all := slices.Clone(t.base)
	for _, o := range owners {
		all = append(all, t.cidr[o]...)
	}
	grant, revoke, held = t.diff(all, nil)
	err := t.check(grant, revoke)
	if err == nil {
		return grant, revoke, held
	}
	qe := err.(*sgrules.QuotaError)
	q := OverQuota{SG: t.id, Count: qe.Count, Limit: qe.Limit, Family: qe.Family}
	// Test each owner with the undecided ones kept as they are: the last inclusion tested
	// is then exactly what is planned, so the result fits.
	included := slices.Clone(t.base)
	var excluded []string
	keep := func(from int) []sgrules.Rule {
		var out []sgrules.Rule
		for _, o := range excluded {
			out = append(out, t.cidr[o]...)
		}
		for _, o := range owners[from:] {
			out = append(out, t.cidr[o]...)
		}
		return out
	}
	grant, revoke, held = t.diff(included, keep(0))
	if t.check(grant, revoke) != nil {
		// Even the SG-sourced rules do not fit: add nothing, revoke only what no owner
		// asks for, and name every owner.
		grant, revoke, held = t.diff(all, nil)
		q.Owners, q.SGSourced = t.contributors(owners), true
		res.OverQuota = append(res.OverQuota, q)
		return nil, revoke, held
	}
	for i, o := range owners {
		try := append(slices.Clone(included), t.cidr[o]...)
		g, r, h := t.diff(try, keep(i+1))
		if t.check(g, r) == nil {
			included = try
			grant, revoke, held = g, r, h
			continue
		}
		excluded = append(excluded, o)
		grant, revoke, held = t.diff(included, keep(i+1))
	}
	q.Owners = excluded
	if len(excluded) == 1 && excluded[0] == "" {
		q.Owners = t.contributors(owners)
	}
	res.OverQuota = append(res.OverQuota, q)
	return grant, revoke, held
}

// contributors names every owner with rules on the SG.
func (t *targetSG) contributors(cidrOwners []string) []string {
	set := map[string]bool{}
	for _, o := range t.in.NeedOwners[t.id] {
		set[o] = true
	}
	for _, o := range cidrOwners {
		if o != "" {
			set[o] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// diff compares want with the SG's rules. Revokes of rules in keep, or held by a stack that
// could not be computed, are returned as held instead. While something is held, a grant
// already admitted by a rule that stays is left out: it would only grow the rule count.
func (t *targetSG) diff(want, keep []sgrules.Rule) (grant, revoke, held []sgrules.Rule) {
	w := make([]sgrules.Rule, 0, len(want))
	for _, r := range want {
		r.Description = t.desc
		w = append(w, r)
	}
	grant, all := sgrules.Diff(sgrules.Dedup(w), t.cur.Ingress, t.owned)
	kept := map[sgrules.Key]bool{}
	for _, r := range keep {
		kept[r.Key.Canonical()] = true
	}
	for _, r := range all {
		if kept[r.Key] || t.held(r) {
			held = append(held, r)
		} else {
			revoke = append(revoke, r)
		}
	}
	if len(held) > 0 {
		grant = sgrules.Uncovered(grant, t.after(nil, revoke))
	}
	return grant, revoke, held
}

// held reports whether a stack that could not be computed may rely on the rule.
func (t *targetSG) held(r sgrules.Rule) bool {
	in := t.in
	switch {
	case in.AuthorizeOnly, len(in.HoldSGs[t.id]) > 0:
		return true
	case r.PeerKind == sgrules.PeerSG:
		return len(in.HoldSources[r.Peer]) > 0
	case r.PeerKind == sgrules.PeerCIDR, r.PeerKind == sgrules.PeerCIDRv6:
		return len(in.HoldCIDR) > 0
	}
	return false
}

// holders names why the held rules are kept.
func (t *targetSG) holders(held []sgrules.Rule) []string {
	in := t.in
	set := map[string]bool{}
	if in.AuthorizeOnly {
		set["cluster/"+in.Cluster] = true
	}
	for _, o := range in.HoldSGs[t.id] {
		set[o] = true
	}
	for _, r := range held {
		if r.PeerKind == sgrules.PeerSG {
			for _, o := range in.HoldSources[r.Peer] {
				set[o] = true
			}
		}
		if r.PeerKind == sgrules.PeerCIDR || r.PeerKind == sgrules.PeerCIDRv6 {
			for _, o := range in.HoldCIDR {
				set[o] = true
			}
		}
	}
	if len(set) == 0 {
		// Held by a quota problem only: the owners left out are reported there.
		return nil
	}
	return slices.Sorted(maps.Keys(set))
}

// after is the SG's rules once grant and revoke are applied.
func (t *targetSG) after(grant, revoke []sgrules.Rule) []sgrules.Rule {
	gone := map[sgrules.Key]bool{}
	for _, r := range revoke {
		gone[r.Key.Canonical()] = true
	}
	out := slices.DeleteFunc(slices.Clone(t.cur.Ingress), func(r sgrules.Rule) bool { return gone[r.Key.Canonical()] })
	return append(out, grant...)
}

// check returns a *sgrules.QuotaError when the grant would take the SG over its quota.
// Without a grant nothing is sent, so an SG already over (a raised quota) is left alone.
func (t *targetSG) check(grant, revoke []sgrules.Rule) error {
	if len(grant) == 0 {
		return nil
	}
	return sgrules.CheckRuleQuota(t.after(grant, revoke), nil, t.in.RuleQuota)
}

// BySG splits a networking plan into one plan per target SG, each in the plan's order
// (authorize before revoke), and the plan that may run only once all of them succeeded
// (SG deletions: a deleted SG must no longer be referenced anywhere).
func BySG(p Plan) (perSG []Plan, last Plan) {
	index := map[string]int{}
	for _, c := range p.Changes {
		if c.Op == OpDeleteSG {
			last.Changes = append(last.Changes, c)
			continue
		}
		id := c.Target.String()
		i, ok := index[id]
		if !ok {
			i = len(perSG)
			index[id] = i
			perSG = append(perSG, Plan{})
		}
		perSG[i].Changes = append(perSG[i].Changes, c)
	}
	sort.SliceStable(perSG, func(i, j int) bool {
		return strings.Compare(perSG[i].Changes[0].Target.String(), perSG[j].Changes[0].Target.String()) < 0
	})
	return perSG, last
}
