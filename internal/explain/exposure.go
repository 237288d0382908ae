package explain

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/lbsg/lbsg/internal/sgrules"
)

// portRange of a key in the sense of "which ports of which protocol": ICMP keeps its
// type-code pair, all-traffic covers every port of every protocol.
type portRange = sgrules.PortRange

// sameProtocol reports whether an asked key of protocol asked covers traffic of protocol p.
func sameProtocol(asked, p string) bool {
	return asked == sgrules.ProtoAll || asked == p
}

// portsBeyond returns the ports of k that no asked key of the same protocol covers, as
// text ("30000-30080, 30082-32767"), or "" when every port is asked for.
func portsBeyond(k sgrules.Key, asked []sgrules.Key) string {
	k = k.Canonical()
	switch k.Protocol {
	case sgrules.ProtoAll:
		for _, a := range asked {
			if a.Canonical().Protocol == sgrules.ProtoAll {
				return ""
			}
		}
		return "all protocols and ports"
	case sgrules.ProtoICMP, sgrules.ProtoICMPv6:
		for _, a := range asked {
			a = a.Canonical()
			if a.Protocol == sgrules.ProtoAll || (a.Protocol == k.Protocol && a.FromPort == k.FromPort && a.ToPort == k.ToPort) {
				return ""
			}
		}
		return strings.TrimSuffix(k.String(), " from "+k.Peer)
	}
	var covered []portRange
	for _, a := range asked {
		a = a.Canonical()
		if a.Protocol == sgrules.ProtoAll {
			return ""
		}
		if a.Protocol == k.Protocol {
			covered = append(covered, portRange{From: a.FromPort, To: a.ToPort})
		}
	}
	left := uncovered(portRange{From: k.FromPort, To: k.ToPort}, covered)
	if len(left) == 0 {
		return ""
	}
	parts := make([]string, len(left))
	for i, r := range left {
		parts[i] = strconv.Itoa(int(r.From))
		if r.To != r.From {
			parts[i] += "-" + strconv.Itoa(int(r.To))
		}
	}
	return k.Protocol + " " + strings.Join(parts, ", ")
}

// uncovered returns the parts of r that no range of covered contains, in order.
func uncovered(r portRange, covered []portRange) []portRange {
	cs := slices.Clone(covered)
	slices.SortFunc(cs, func(a, b portRange) int { return int(a.From) - int(b.From) })
	var out []portRange
	next := r.From
	for _, c := range cs {
		if c.To < next || c.From > r.To {
			continue
		}
		if c.From > next {
			out = append(out, portRange{From: next, To: c.From - 1})
		}
		if c.To >= r.To {
			return out
		}
		next = c.To + 1
	}
	if next <= r.To {
		out = append(out, portRange{From: next, To: r.To})
	}
	return out
}

// overlaps reports whether k admits any port some asked key admits.
func overlaps(k sgrules.Key, asked []sgrules.Key) bool {
	k = k.Canonical()
	for _, a := range asked {
		a = a.Canonical()
		if k.Protocol == sgrules.ProtoAll || a.Protocol == sgrules.ProtoAll {
			return true
		}
		if a.Protocol != k.Protocol {
			continue
		}
		if k.Protocol == sgrules.ProtoICMP || k.Protocol == sgrules.ProtoICMPv6 {
			continue // ICMP is never a target port
		}
		if k.FromPort <= a.ToPort && a.FromPort <= k.ToPort {
			return true
		}
	}
	return false
}

// admits reports whether k admits port of protocol proto.
func admits(k sgrules.Key, proto string, port int32) bool {
	k = k.Canonical()
	if k.Protocol == sgrules.ProtoAll {
		return true
	}
	return k.Protocol == proto && k.FromPort <= port && port <= k.ToPort
}

// peerWithin reports whether the source of k is one the asked keys name: the same SG or
// prefix list, or a CIDR inside an asked CIDR.
func peerWithin(k sgrules.Key, asked []sgrules.Key) bool {
	for _, a := range asked {
		if a.PeerKind != k.PeerKind {
			continue
		}
		switch k.PeerKind {
		case sgrules.PeerCIDR, sgrules.PeerCIDRv6:
			if cidrWithin(k.Peer, a.Peer) {
				return true
			}
		default:
			if a.Peer == k.Peer {
				return true
			}
		}
	}
	return false
}

// cidrWithin reports whether CIDR inner lies inside CIDR outer.
func cidrWithin(inner, outer string) bool {
	in, err1 := netip.ParsePrefix(inner)
	out, err2 := netip.ParsePrefix(outer)
	if err1 != nil || err2 != nil {
		return inner == outer
	}
	return out.Bits() <= in.Bits() && out.Contains(in.Masked().Addr())
}

// askedPeers lists the distinct sources of the asked keys, for messages.
func askedPeers(asked []sgrules.Key) string {
	var out []string
	for _, a := range asked {
		if !slices.Contains(out, a.Peer) {
			out = append(out, a.Peer)
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// sourceBeyond explains why the source of k is beyond the asked keys, or "".
func sourceBeyond(k sgrules.Key, asked []sgrules.Key) string {
	if peerWithin(k, asked) {
		return ""
	}
	switch k.PeerKind {
	case sgrules.PeerCIDR, sgrules.PeerCIDRv6:
		for _, a := range asked {
			if a.PeerKind == k.PeerKind && cidrWithin(a.Peer, k.Peer) {
				return fmt.Sprintf("source %s is wider than asked (%s)", k.Peer, askedPeers(asked))
			}
		}
		return fmt.Sprintf("source %s is not within the asked sources (%s)", k.Peer, askedPeers(asked))
	case sgrules.PeerPrefixList:
		return fmt.Sprintf("prefix list %s is not asked for (asked: %s)", k.Peer, askedPeers(asked))
	}
	return fmt.Sprintf("source %s is not asked for (asked: %s)", k.Peer, askedPeers(asked))
}

func keysOf(rules []sgrules.Rule) []sgrules.Key {
	out := make([]sgrules.Key, len(rules))
	for i, r := range rules {
		out[i] = r.Key.Canonical()
	}
	return out
}
