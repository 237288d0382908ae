package plan

import (
	"cmp"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

// NoOwner is what a revoke is for when no owner asks for the rules it removes.
const NoOwner = "no owner needs these rules"

// HoldCIDR is the Source of a Hold on CIDR rules (IPv4 or IPv6).
const HoldCIDR = "cidr"

// Hold is one rule, or family of rules, that a stack that could not be computed (Owner)
// may rely on: lbsg rules on SG from Source that admit Port with Protocol. Its ports and
// sources are read from AWS, where a tenant cannot forge them: the ports of the targets
// registered in its target groups and their health checks, the SGs of its load balancer.
// A hold never matches another stack's port, so every other authorize and revoke on a
// shared SG goes ahead.
type Hold struct {
	Owner string `json:"owner"`
	// SG is the target SG; "" is every target SG (where the stack's targets are could not
	// be read).
	SG string `json:"sg,omitempty"`
	// Source is the SG ID the rules come from (the backend SG on its load balancer, its
	// managed SG), or HoldCIDR for the CIDR rules of an NLB without security groups.
	Source string `json:"source"`
	// Protocol is "tcp" or "udp"; "" is every protocol.
	Protocol string `json:"protocol,omitempty"`
	// Port is the port a rule must admit: a rule from an SG whose range holds it, a CIDR
	// rule on exactly that port. 0 is every port (the stack's ports could not be read).
	Port int32 `json:"port,omitempty"`
}

// Matches reports whether the hold keeps rule k of target SG sg.
func (h Hold) Matches(sg string, k sgrules.Key) bool {
	if h.SG != "" && h.SG != sg {
		return false
	}
	if h.Protocol != "" && sgrules.NormalizeProtocol(k.Protocol) != h.Protocol {
		return false
	}
	switch k.PeerKind {
	case sgrules.PeerSG:
		return k.Peer == h.Source && (h.Port == 0 || (k.FromPort <= h.Port && h.Port <= k.ToPort))
	case sgrules.PeerCIDR, sgrules.PeerCIDRv6:
		return h.Source == HoldCIDR && (h.Port == 0 || (k.FromPort == h.Port && k.ToPort == h.Port))
	}
	return false
}

// share leaves out the CIDR rules of every namespace whose owners ask for more than
// NamespaceShare rules (per address family) on the SG: none of them is added, those that
// exist are kept, and the namespace is reported over its share. Other namespaces are
// planned as if it asked for nothing, so one tenant's source ranges never use up a shared
// SG's quota for the others.
func (t *targetSG) share(res *NetworkingResult) {
	limit := t.in.NamespaceShare
	if limit <= 0 {
		return
	}
	byNS := map[string][]string{}
	for o := range t.cidr {
		if ns := t.in.OwnerNamespaces[o]; ns != "" {
			byNS[ns] = append(byNS[ns], o)
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		owners := slices.Sorted(slices.Values(byNS[ns]))
		var rules []sgrules.Rule
		for _, o := range owners {
			rules = append(rules, t.cidr[o]...)
		}
		err := sgrules.CheckRuleQuota(rules, nil, limit)
		if err == nil {
			continue
		}
		qe := err.(*sgrules.QuotaError)
		res.OverQuota = append(res.OverQuota, OverQuota{SG: t.id, Count: qe.Count, Limit: limit, Family: qe.Family, Owners: owners, Namespace: ns})
		for _, o := range owners {
			t.shareKept = append(t.shareKept, t.cidr[o]...)
			delete(t.cidr, o)
		}
	}
}

// askers returns the owners whose wishes on the SG a rule serves: with exact, the owners
// that ask for it (its CIDR, or a port its range holds from its source); otherwise also
// those with a CIDR rule of the same protocol on an overlapping port range.
func (t *targetSG) askers(k sgrules.Key, exact bool) []string {
	set := map[string]bool{}
	proto := sgrules.NormalizeProtocol(k.Protocol)
	switch k.PeerKind {
	case sgrules.PeerSG:
		for o, bySource := range t.in.NeedsByOwner[t.id] {
			for _, n := range bySource[k.Peer] {
				p := sgrules.NormalizeProtocol(n.Protocol)
				if p == "" {
					p = sgrules.ProtoTCP
				}
				if p == proto && (n.AllPorts || (k.FromPort <= n.Port && n.Port <= k.ToPort)) {
					set[o] = true
				}
			}
		}
	case sgrules.PeerCIDR, sgrules.PeerCIDRv6:
		if exact {
			return t.cidrAskers()[k.Canonical()]
		}
		for o, rules := range t.in.CIDROwners[t.id] {
			for _, r := range rules {
				same := r.Key.Canonical() == k.Canonical()
				overlap := sgrules.NormalizeProtocol(r.Protocol) == proto && r.FromPort <= k.ToPort && k.FromPort <= r.ToPort
				if same || overlap {
					set[o] = true
				}
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// cidrAskers indexes, once per SG, the owners of each CIDR rule asked for there.
func (t *targetSG) cidrAskers() map[sgrules.Key][]string {
	if t.cidrIndex != nil {
		return t.cidrIndex
	}
	t.cidrIndex = map[sgrules.Key][]string{}
	for _, o := range slices.Sorted(maps.Keys(t.in.CIDROwners[t.id])) {
		for _, r := range t.in.CIDROwners[t.id][o] {
			k := r.Key.Canonical()
			if !slices.Contains(t.cidrIndex[k], o) {
				t.cidrIndex[k] = append(t.cidrIndex[k], o)
			}
		}
	}
	return t.cidrIndex
}

// wantedFor maps each rule the owners ask for on the SG to those owners.
func (t *targetSG) wantedFor() map[sgrules.Key][]string {
	out := map[sgrules.Key][]string{}
	rules := slices.Clone(t.base)
	for _, rs := range t.in.CIDROwners[t.id] {
		rules = append(rules, rs...)
	}
	for _, r := range rules {
		k := r.Key.Canonical()
		if _, done := out[k]; done {
			continue
		}
		if owners := t.askers(k, true); len(owners) > 0 {
			out[k] = owners
		}
	}
	return out
}

// grantFor names the owners that ask for the rules an authorize adds.
func (t *targetSG) grantFor(rules []sgrules.Rule) []string {
	set := map[string]bool{}
	for _, r := range rules {
		for _, o := range t.askers(r.Key, true) {
			set[o] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// revokeFor names whose rules a revoke removes: the owners that asked for them in the
// previous pass, else those whose rules on the same ports changed, else NoOwner.
func (t *targetSG) revokeFor(rules []sgrules.Rule) []string {
	set := map[string]bool{}
	for _, r := range rules {
		k := r.Key.Canonical()
		owners := t.in.LastFor[t.id][k]
		if len(owners) == 0 {
			owners = t.askers(k, false)
		}
		for _, o := range owners {
			set[o] = true
		}
	}
	if len(set) == 0 {
		return []string{NoOwner}
	}
	return slices.Sorted(maps.Keys(set))
}

// FailingStack is what lbsg read from AWS of a stack that could not be computed: what its
// holds are made of. Nothing in it comes from what a tenant writes.
type FailingStack struct {
	Owner string
	// Observed is false when not even its target groups could be read: it then holds every
	// rule from the backend SG and every CIDR rule, on every target SG.
	Observed bool
	// TargetGroups and Targets (by target group ARN) are what is registered in AWS.
	TargetGroups []state.TargetGroup
	Targets      map[string][]state.Target
	// LoadBalancer is its load balancer; nil when none was found.
	LoadBalancer *state.LoadBalancer
	// ManagedSGs are its managed SGs, found by its stack tag: they serve it alone, so
	// their rules are held on every SG and port.
	ManagedSGs []string
	// TargetSGs maps each registered target (instance ID or IP) to the SGs of its ENI
	// that carry target rules; a target that no longer exists has none. TargetSGsKnown is
	// false when they could not be read (then its ports are held on every target SG).
	TargetSGs      map[string][]string
	TargetSGsKnown bool
}

// HoldsOf returns the rules a stack that could not be computed could contribute, and so
// may rely on: the ports of its target groups (their port, every registered target's
// port, a numeric health-check port), with their protocols, from its sources (the backend
// SG when its load balancer carries it, the CIDR rules of a load balancer without SGs),
// on the SGs of its registered targets; and every rule from its managed SGs. backendSGs
// are the backend SG IDs (found and configured).
func HoldsOf(f FailingStack, backendSGs []string) []Hold {
	var out []Hold
	for _, id := range f.ManagedSGs {
		out = append(out, Hold{Owner: f.Owner, Source: id})
	}
	if !f.Observed {
		for _, id := range backendSGs {
			if id != "" {
				out = append(out, Hold{Owner: f.Owner, Source: id})
			}
		}
		return append(out, Hold{Owner: f.Owner, Source: HoldCIDR})
	}
	var sources []string
	switch {
	case f.LoadBalancer == nil:
		// Which sources it used cannot be read: its ports from either.
		sources = append(slices.Clone(backendSGs), HoldCIDR)
	case len(f.LoadBalancer.SecurityGroups) == 0:
		sources = []string{HoldCIDR}
	default:
		for _, id := range backendSGs {
			if id != "" && slices.Contains(f.LoadBalancer.SecurityGroups, id) {
				sources = append(sources, id)
			}
		}
	}
	seen := map[Hold]bool{}
	for _, tg := range f.TargetGroups {
		ports := tgPorts(tg)
		for _, t := range f.Targets[tg.ARN] {
			sgs := f.TargetSGs[t.ID]
			if !f.TargetSGsKnown {
				sgs = []string{""}
			}
			all := ports
			if t.Port > 0 {
				all = append(slices.Clone(ports), protoPorts(tg, t.Port)...)
			}
			for _, pp := range all {
				for _, src := range sources {
					for _, sg := range sgs {
						h := Hold{Owner: f.Owner, SG: sg, Source: src, Protocol: pp.Protocol, Port: pp.Port}
						if src != "" && !seen[h] {
							seen[h] = true
							out = append(out, h)
						}
					}
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Hold) int {
		return cmp.Or(strings.Compare(a.SG, b.SG), cmp.Compare(a.Port, b.Port), strings.Compare(a.Protocol, b.Protocol), strings.Compare(a.Source, b.Source))
	})
	return out
}

// tgPorts are the (protocol, port) pairs a target group admits on every target: its port
// with its protocols, and a numeric health-check port over TCP.
func tgPorts(tg state.TargetGroup) []sgrules.Need {
	out := protoPorts(tg, tg.Port)
	if p, err := strconv.Atoi(tg.HealthCheck.Port); err == nil && p > 0 && p <= sgrules.MaxPort {
		out = append(out, sgrules.Need{Protocol: sgrules.ProtoTCP, Port: int32(p)})
	}
	return out
}

// protoPorts is port with each protocol a target group of its protocol admits (UDP
// targets are health-checked over TCP).
func protoPorts(tg state.TargetGroup, port int32) []sgrules.Need {
	if port <= 0 {
		return nil
	}
	switch strings.ToUpper(tg.Protocol) {
	case "UDP", "TCP_UDP":
		return []sgrules.Need{{Protocol: sgrules.ProtoTCP, Port: port}, {Protocol: sgrules.ProtoUDP, Port: port}}
	}
	return []sgrules.Need{{Protocol: sgrules.ProtoTCP, Port: port}}
}
