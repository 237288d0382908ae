package plan

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

// Why a rule asked for on a target SG is not added (Refused.Why).
const (
	// RefusedOutsideNodePorts: a CIDR rule of an NLB without security groups, or of a
	// restricted owner, on a port outside the NodePort range.
	RefusedOutsideNodePorts = "outside-node-port-range"
	// RefusedNotTrafficPort: a restricted owner's rule on no port its targets receive
	// traffic on.
	RefusedNotTrafficPort = "not-a-traffic-port"
	// RefusedSource: a restricted owner's rule from a security group the reference
	// authorizer refuses, or that does not exist in the cluster's VPC.
	RefusedSource = "source-denied"
)

// Restriction limits the rules of an owner that a tenant writes rule by rule: a
// TargetGroupBinding's spec.networking. Those rules land on the SGs of the owner's targets,
// which are shared (with instance targets, or ip targets and the VPC CNI, the node SG of
// every node): a rule there opens its port on every network interface in the SG, to every
// workload behind it, not only on the owner's targets. So each rule is kept to the ports
// the owner's targets receive traffic on, which lbsg derives, never the rule; a rule from a
// security group passes the reference authorizer; and a CIDR rule also stays inside the
// NodePort range, as an NLB without security groups' client rules do.
type Restriction struct {
	// Subject is the owner as the reference authorizer sees it.
	Subject authz.Subject `json:"subject"`
	// Ports are the (protocol, port) pairs its targets receive traffic on (TrafficPorts).
	Ports []sgrules.Need `json:"ports"`
	// SourceField names the field its source security groups are written in, for messages.
	SourceField string `json:"sourceField,omitempty"`
}

// TrafficPorts are the (protocol, port) pairs the targets of a target group receive
// traffic on: each port a target is registered on, with every protocol the target group's
// protocol carries, and the target group's health-check port when it names one (over TCP).
// The target group's own port is not among them: lbsg registers every target with its port.
func TrafficPorts(tg state.TargetGroup, targetPorts []int32) []sgrules.Need {
	var out []sgrules.Need
	for _, p := range targetPorts {
		if p > 0 && p <= sgrules.MaxPort {
			out = append(out, protoPorts(tg, p)...)
		}
	}
	if p, err := strconv.Atoi(tg.HealthCheck.Port); err == nil && p > 0 && p <= sgrules.MaxPort {
		out = append(out, sgrules.Need{Protocol: sgrules.ProtoTCP, Port: int32(p)})
	}
	slices.SortFunc(out, func(a, b sgrules.Need) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol))
	})
	return slices.Compact(out)
}

// restricted returns the input in which each restricted owner asks only for the rules it
// may have, its rules from security groups (by target SG), and the rules it asked for that
// are refused. The NodePort range is checked
// later, per SG, for every owner it applies to (refuseOutsideNodePorts). in is not changed.
//
// A restricted owner's rules from security groups leave Needs for exact rules (the rule
// budget never merges them): merged, two traffic ports far apart (two Pods whose named port has
// different numbers) would open every port between them.
func (in NetworkingInput) restricted() (NetworkingInput, map[string][]sgrules.Rule, []Refused) {
	if len(in.Restricted) == 0 {
		return in, nil, nil
	}
	out := in
	out.Needs = maps.Clone(in.Needs)
	out.NeedsByOwner = maps.Clone(in.NeedsByOwner)
	out.CIDROwners = maps.Clone(in.CIDROwners)
	exact := map[string][]sgrules.Rule{}
	var refused []Refused
	refuse := func(sg, owner string, k sgrules.Key, why string, d *authz.Denial) {
		x := Refused{SG: sg, Owner: owner, Rule: k.Canonical(), Why: why, Denial: d}
		if !slices.ContainsFunc(refused, func(y Refused) bool { return y.SG == x.SG && y.Owner == x.Owner && y.Rule == x.Rule }) {
			refused = append(refused, x)
		}
	}
	denials := map[[2]string]*authz.Denial{}
	for _, sg := range slices.Sorted(maps.Keys(in.NeedsByOwner)) {
		for _, owner := range slices.Sorted(maps.Keys(in.NeedsByOwner[sg])) {
			r, ok := in.Restricted[owner]
			if !ok {
				continue
			}
			asked := in.NeedsByOwner[sg][owner]
			kept := map[string][]sgrules.Need{}
			for _, src := range slices.Sorted(maps.Keys(asked)) {
				key := [2]string{owner, src}
				d, decided := denials[key]
				if !decided {
					d = in.decideSource(r, src)
					denials[key] = d
				}
				for _, n := range asked[src] {
					k := needKey(n, src)
					if d != nil {
						refuse(sg, owner, k, RefusedSource, d)
						continue
					}
					ports := r.within(k)
					if len(ports) == 0 {
						refuse(sg, owner, k, RefusedNotTrafficPort, nil)
					}
					kept[src] = append(kept[src], ports...)
				}
			}
			byOwner := maps.Clone(out.NeedsByOwner[sg])
			byOwner[owner] = kept
			out.NeedsByOwner[sg] = byOwner
			needs := maps.Clone(out.Needs[sg])
			if needs == nil {
				needs = map[string][]sgrules.Need{}
			}
			for _, src := range slices.Sorted(maps.Keys(asked)) {
				rest := withoutOnce(needs[src], asked[src])
				for _, n := range kept[src] {
					exact[sg] = append(exact[sg], sgrules.Rule{Key: needKey(n, src)})
				}
				if len(rest) == 0 {
					delete(needs, src)
				} else {
					needs[src] = rest
				}
			}
			out.Needs[sg] = needs
		}
	}
	for _, sg := range slices.Sorted(maps.Keys(in.CIDROwners)) {
		for _, owner := range slices.Sorted(maps.Keys(in.CIDROwners[sg])) {
			r, ok := in.Restricted[owner]
			if !ok {
				continue
			}
			var kept []sgrules.Rule
			for _, rule := range in.CIDROwners[sg][owner] {
				ports := r.within(rule.Key)
				if len(ports) == 0 {
					refuse(sg, owner, rule.Key, RefusedNotTrafficPort, nil)
				}
				for _, p := range ports {
					nr := rule
					nr.Protocol, nr.FromPort, nr.ToPort = p.Protocol, p.Port, p.Port
					kept = append(kept, nr)
				}
			}
			byOwner := maps.Clone(out.CIDROwners[sg])
			if len(kept) == 0 {
				delete(byOwner, owner)
			} else {
				byOwner[owner] = kept
			}
			out.CIDROwners[sg] = byOwner
		}
	}
	return out, exact, refused
}

// HoldsOfRestricted returns what a restricted owner whose targets could not be placed
// (their ENIs not resolved) may rely on: lbsg rules on its traffic ports from source (an SG
// it names, or HoldCIDR for its CIDR rules), on every target SG. Its traffic ports are what
// lbsg derived, not what its rules ask for, so it holds nothing on a port its targets do not
// use, and every other revoke on a shared SG goes ahead.
func HoldsOfRestricted(owner string, r Restriction, source string) []Hold {
	if source == "" {
		return nil
	}
	out := make([]Hold, 0, len(r.Ports))
	for _, p := range r.Ports {
		proto := sgrules.NormalizeProtocol(p.Protocol)
		if proto == "" {
			proto = sgrules.ProtoTCP
		}
		out = append(out, Hold{Owner: owner, Source: source, Protocol: proto, Port: p.Port})
	}
	return out
}

// decideSource asks the reference authorizer whether a restricted owner may admit traffic
// from src; nil when it may.
func (in NetworkingInput) decideSource(r Restriction, src string) *authz.Denial {
	ref := authz.Reference{From: r.Subject, Kind: authz.SourceSecurityGroup, Key: r.SourceField, Value: src, ID: src}
	owner, ok := in.Sources[src]
	if !ok {
		// Not found: whose it is cannot be told, and a rule naming it would fail the
		// authorize of every owner's rules on the SG.
		return &authz.Denial{Reference: ref, Decision: authz.Decision{
			Reason: fmt.Sprintf("no security group %s was found in the cluster's VPC", src),
			Fix:    "name an existing security group of the cluster's VPC: the one of the load balancer that sends to these targets"}}
	}
	ref.Owner = owner
	if d := in.Policy.Decide(ref); !d.Allowed {
		return &authz.Denial{Reference: ref, Decision: d}
	}
	return nil
}

// within returns the traffic ports, as exact-port needs, that a rule's protocol and port
// range cover: the rule narrowed to them. Every port (a rule or need without a port) is
// every traffic port of its protocol.
func (r Restriction) within(k sgrules.Key) []sgrules.Need {
	proto := sgrules.NormalizeProtocol(k.Protocol)
	var out []sgrules.Need
	for _, p := range r.Ports {
		pp := sgrules.NormalizeProtocol(p.Protocol)
		if pp == "" {
			pp = sgrules.ProtoTCP
		}
		if pp == proto && k.FromPort <= p.Port && p.Port <= k.ToPort {
			out = append(out, sgrules.Need{Protocol: pp, Port: p.Port})
		}
	}
	return out
}

// needKey is the rule a need from src asks for, before any budget merges it.
func needKey(n sgrules.Need, src string) sgrules.Key {
	proto := sgrules.NormalizeProtocol(n.Protocol)
	if proto == "" {
		proto = sgrules.ProtoTCP
	}
	from, to := n.Port, n.Port
	if n.AllPorts {
		from, to = 0, sgrules.MaxPort
	}
	return sgrules.Key{Protocol: proto, FromPort: from, ToPort: to, PeerKind: sgrules.PeerSG, Peer: src}
}

// withoutOnce returns list less one occurrence of each of drop.
func withoutOnce(list, drop []sgrules.Need) []sgrules.Need {
	out := slices.Clone(list)
	for _, d := range drop {
		if i := slices.Index(out, d); i >= 0 {
			out = slices.Delete(out, i, i+1)
		}
	}
	return out
}
