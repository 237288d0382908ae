package plan

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/lbsg/lbsg/internal/authz"
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
	// The controller no longer sets it: a stack that cannot be computed holds only the
	// rules it could contribute (Holds).
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
	// NeedsByOwner: target SG → owner → source SG → the ports that owner asks for there:
	// the owners each authorize or revoke is for, named on its audit line.
	NeedsByOwner map[string]map[string]map[string][]sgrules.Need `json:",omitempty"`
	// Holds are the rules of stacks that could not be computed: no lbsg rule a hold
	// matches is revoked, and every other rule on every SG is planned as usual.
	Holds []Hold `json:",omitempty"`
	// RuleQuota is the inbound rules a target SG may hold per address family; 0 means
	// sgrules.DefaultRulesPerSG.
	RuleQuota int `json:",omitempty"`
	// NamespaceShare is the most inbound rules (per address family) that the owners of one
	// namespace may ask for on one target SG; 0 means no limit. A namespace over its share
	// gets none of its new rules on that SG; its existing ones stay. OwnerNamespaces names
	// each owner's namespace.
	NamespaceShare  int               `json:",omitempty"`
	OwnerNamespaces map[string]string `json:",omitempty"`
	// NodePorts is the cluster's NodePort range (--service-node-port-range); zero when
	// unknown. SG-sourced rules never span ports inside and outside it, and the client CIDR
	// rules of the owners in ClientCIDROwners (NLBs without security groups) outside it
	// are refused unless AllowClientCIDROutsideNodePorts.
	NodePorts                       sgrules.PortRange `json:",omitempty"`
	ClientCIDROwners                []string          `json:",omitempty"`
	AllowClientCIDROutsideNodePorts bool              `json:",omitempty"`
	// Restricted: owner → the limits of its rules (TargetGroupBindings, whose rules a
	// tenant writes one by one). A restricted owner's rules (NeedsByOwner, CIDROwners) land
	// only on its traffic ports, from source SGs Policy allows (as Sources classify them),
	// and its CIDR rules only inside NodePorts unless AllowClientCIDROutsideNodePorts; the
	// rest is Refused. Needs holds its needs as asked: the planner takes out what it refuses.
	Restricted map[string]Restriction `json:",omitempty"`
	// Sources are the source SGs restricted owners name, classified from their observed
	// tags; one that is absent was not found in the cluster's VPC.
	Sources map[string]authz.Owner `json:",omitempty"`
	// Policy is the reference policy restricted owners' source SGs are decided by.
	Policy authz.Policy `json:",omitempty"`
	// LastFor: target SG → rule → the owners that asked for it in the previous pass
	// (NetworkingResult.For): a revoke names them on its audit line. Only a name: no
	// decision depends on it.
	LastFor map[string]map[sgrules.Key][]string `json:"-"`
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
	// Namespace is set when the owners of that namespace ask for more rules on the SG
	// than its share (NamespaceShare, then Limit): Owners are its owners with rules there,
	// Count what they ask for.
	Namespace string `json:"namespace,omitempty"`
}

func (q OverQuota) String() string {
	if q.Namespace != "" {
		return fmt.Sprintf("namespace %s asks for %d inbound %s rules on security group %s, over its share of %d rules per namespace: its new rules there are not added",
			q.Namespace, q.Count, q.Family, q.SG, q.Limit)
	}
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
	// Refused are the rules not added: client CIDR rules outside the NodePort range, and
	// restricted owners' rules refused (see NetworkingInput.Restricted); sorted by SG,
	// owner and rule.
	Refused []Refused
	// For: target SG → each rule the owners ask for there → those owners (the next pass's
	// LastFor).
	For map[string]map[sgrules.Key][]string
}

// Refused is a rule an owner asks for that is not added to a target SG, which every ENI
// that carries it shares (with the VPC CNI, every node): a client CIDR rule of an NLB
// without security groups outside the NodePort range, or a restricted owner's rule on a
// port its targets receive no traffic on, from a source it may not name, or from a CIDR
// outside the NodePort range. Why says which (Refused*).
type Refused struct {
	SG    string      `json:"sg"`
	Owner string      `json:"owner"`
	Rule  sgrules.Key `json:"rule"`
	Why   string      `json:"why"`
	// Denial is the reference authorizer's answer about the rule's source (RefusedSource).
	Denial *authz.Denial `json:"denial,omitempty"`
}

// Networking plans authorize and revoke calls per target SG (one call of each at most per
// SG), authorizing before revoking so that a changed port range never leaves a gap.
func Networking(in NetworkingInput) Plan { return PlanNetworking(in).Plan }

// PlanNetworking plans every target SG on its own: what one SG holds back (a quota, a
// stack that could not be computed) changes nothing on another.
func PlanNetworking(in NetworkingInput) NetworkingResult {
	res := NetworkingResult{Held: map[string][]string{}, For: map[string]map[sgrules.Key][]string{}}
	in, exact, refused := in.restricted()
	res.Refused = refused
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
	for id := range exact {
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
		t := in.target(id, cur, exact[id], &res)
		grant, revoke, held := t.fit(&res)
		if holders := t.holders(held); len(holders) > 0 {
			res.Held[id] = holders
		}
		if f := t.wantedFor(); len(f) > 0 {
			res.For[id] = f
		}
		ref := Ref{Kind: KindSG, ID: id}
		if len(grant) > 0 {
			b.add(Change{Op: OpAuthorize, Target: ref, Rules: grant, RuleTags: map[string]string{sgrules.LabelCluster: in.Cluster},
				Reason: fmt.Sprintf("admit load-balancer traffic to targets in %s", id), For: t.grantFor(grant)})
		}
		if len(revoke) > 0 {
			b.add(Change{Op: OpRevoke, Target: ref, Rules: revoke,
				Reason: fmt.Sprintf("remove lbsg rules from %s that no load balancer needs", id), For: t.revokeFor(revoke)})
		}
	}
	slices.SortFunc(res.Refused, func(a, b Refused) int {
		return strings.Compare(a.SG+"\x00"+a.Owner+"\x00"+a.Rule.String(), b.SG+"\x00"+b.Owner+"\x00"+b.Rule.String())
	})
	if backend != "" {
		b.add(Change{Op: OpRevoke, Target: Ref{Kind: KindSG, ID: backend}, Rules: slices.Clone(in.BackendSG.Ingress),
			Reason: fmt.Sprintf("the shared backend security group %s admits no clients: it is attached to every load balancer of the cluster", backend)})
	}
	// A held rule may come from the SG to delete, and a stack that could not be computed
	// may still need it: delete nothing until every hold is gone.
	if !in.AuthorizeOnly && len(res.Held) == 0 && len(in.Holds) == 0 {
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
	// base are the SG-sourced rules; cidr the CIDR rules by owner ("" when unknown), less
	// those refused and those of namespaces over their share, which are in shareKept.
	base      []sgrules.Rule
	cidr      map[string][]sgrules.Rule
	shareKept []sgrules.Rule
	// holds are the Holds that may match a rule of this SG.
	holds []Hold
	// cidrIndex: each CIDR rule asked for on the SG → its owners (see cidrAskers).
	cidrIndex map[sgrules.Key][]string
}

// target is the planning state of target SG id; exact are the SG-sourced rules of
// restricted owners there, which the rule budget never merges.
func (in *NetworkingInput) target(id string, cur state.SecurityGroup, exact []sgrules.Rule, res *NetworkingResult) *targetSG {
	t := &targetSG{in: in, id: id, cur: cur, desc: sgrules.OwnerDescription(in.Cluster),
		owned: sgrules.OwnedBy(in.Cluster, in.OurSources), cidr: map[string][]sgrules.Rule{}}
	t.base = sgrules.TargetRules(in.Needs[id], in.Budget, in.NodePorts, t.desc)
	for _, r := range sgrules.Uncovered(sgrules.Dedup(exact), t.base) {
		r.Description = t.desc
		t.base = append(t.base, r)
	}
	if rules := in.CIDRRules[id]; len(rules) > 0 {
		t.cidr[""] = rules
	}
	for owner, rules := range in.CIDROwners[id] {
		rules, refused := in.refuseOutsideNodePorts(owner, sgrules.Dedup(rules))
		for _, r := range refused {
			res.Refused = append(res.Refused, Refused{SG: id, Owner: owner, Rule: r.Key, Why: RefusedOutsideNodePorts})
		}
		if len(rules) > 0 {
			t.cidr[owner] = append(t.cidr[owner], rules...)
		}
	}
	for _, h := range in.Holds {
		if h.SG == "" || h.SG == id {
			t.holds = append(t.holds, h)
		}
	}
	return t
}

// refuseOutsideNodePorts splits an owner's CIDR rules into those that may land on a target
// SG and those refused: a client CIDR rule of an NLB without security groups, or a CIDR
// rule of a restricted owner, on a port outside the NodePort range would open that port
// (sshd, the kubelet) on every ENI the shared SG is on, not only on the owner's targets.
func (in *NetworkingInput) refuseOutsideNodePorts(owner string, rules []sgrules.Rule) (ok, refused []sgrules.Rule) {
	np := in.NodePorts
	_, restricted := in.Restricted[owner]
	if np == (sgrules.PortRange{}) || in.AllowClientCIDROutsideNodePorts || (!restricted && !slices.Contains(in.ClientCIDROwners, owner)) {
		return rules, nil
	}
	for _, r := range rules {
		if r.FromPort >= np.From && r.ToPort <= np.To && r.FromPort <= r.ToPort {
			ok = append(ok, r)
		} else {
			refused = append(refused, r)
		}
	}
	return ok, refused
}

// fit plans the SG with every owner's rules if they fit its quota; otherwise it adds the
// CIDR owners one by one (in name order) while they fit, keeping the existing rules of the
// owners left out, and reports the SG over quota. Owners of a namespace over its share are
// left out first (see share).
func (t *targetSG) fit(res *NetworkingResult) (grant, revoke, held []sgrules.Rule) {
	t.share(res)
	owners := slices.Sorted(maps.Keys(t.cidr))
	all := slices.Clone(t.base)
	for _, o := range owners {
		all = append(all, t.cidr[o]...)
	}
	grant, revoke, held = t.diff(all, t.shareKept)
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
		out := slices.Clone(t.shareKept)
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
		grant, revoke, held = t.diff(all, t.shareKept)
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
	if t.in.AuthorizeOnly {
		return true
	}
	for _, h := range t.holds {
		if h.Matches(t.id, r.Key) {
			return true
		}
	}
	return false
}

// holders names why the held rules are kept.
func (t *targetSG) holders(held []sgrules.Rule) []string {
	set := map[string]bool{}
	if t.in.AuthorizeOnly {
		set["cluster/"+t.in.Cluster] = true
	}
	for _, r := range held {
		for _, h := range t.holds {
			if h.Matches(t.id, r.Key) {
				set[h.Owner] = true
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
