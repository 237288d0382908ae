package sgrules

import (
	"maps"
	"slices"
)

// Need is one port a source security group must reach on a target (node or pod) security
// group.
type Need struct {
	Protocol string // tcp or udp, normalised with NormalizeProtocol; empty means tcp
	Port     int32
	// AllPorts asks for every port, 0-65535: upstream's unrestricted mode
	// (--disable-restricted-sg-rules). Port is ignored.
	AllPorts bool
}

// MaxPort is the highest TCP or UDP port.
const MaxPort = 65535

// TargetRules returns the rules one target security group needs. needs is keyed by source
// security-group ID. For each (source, protocol) the ports are compressed with
// CompressApart(ports, budget, nodePorts) and each resulting range becomes one rule from
// that source: ports inside and outside the cluster's NodePort range never share a rule, so
// an ip target's port never opens the NodePorts of every Service (a zero nodePorts keeps
// nothing apart). If any need for the pair has AllPorts, the pair yields the single range
// 0-65535 instead. Every rule carries description (normally OwnerDescription). budget
// applies per (source, protocol); budget <= 0 means exact ports. The output is sorted and
// the input is not modified.
func TargetRules(needs map[string][]Need, budget int, nodePorts PortRange, description string) []Rule {
	var out []Rule
	for _, source := range slices.Sorted(maps.Keys(needs)) {
		ports := map[string][]PortRange{}
		all := map[string]bool{}
		for _, n := range needs[source] {
			proto := NormalizeProtocol(n.Protocol)
			if proto == "" {
				proto = ProtoTCP
			}
			if n.AllPorts {
				all[proto] = true
				continue
			}
			ports[proto] = append(ports[proto], PortRange{n.Port, n.Port})
		}
		for proto := range all {
			ports[proto] = []PortRange{{0, MaxPort}}
		}
		for proto, ranges := range ports {
			for _, pr := range CompressApart(ranges, budget, nodePorts) {
				out = append(out, Rule{
					Key: Key{
						Protocol: proto, FromPort: pr.From, ToPort: pr.To,
						PeerKind: PeerSG, Peer: source,
					},
					Description: description,
				})
			}
		}
	}
	Sort(out)
	return out
}
