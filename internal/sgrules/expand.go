package sgrules

// Peer is one source of an observed permission, with the description EC2 stores for it.
type Peer struct {
	ID          string // CIDR, IPv6 CIDR, prefix-list ID or security-group ID
	Description string
}

// Permission is an observed inbound permission in a neutral shape: one protocol and port
// range with any number of peers, grouped the way EC2 reports them. The conversion from the
// AWS SDK type lives in internal/cloud; this package never imports the SDK.
//
// FromPort and ToPort are what EC2 reports; the conversion fills 0 for an absent value.
type Permission struct {
	Protocol         string
	FromPort, ToPort int32
	CIDRs            []Peer // IPv4 ranges
	CIDRv6s          []Peer // IPv6 ranges
	PrefixLists      []Peer // managed prefix lists
	SGs              []Peer // security groups (user ID / group pairs)
}

// Expand splits grouped permissions into rules with exactly one peer each, in input order
// (permission by permission; within one, v4 CIDRs, v6 CIDRs, prefix lists, then SGs). Each
// rule's Key is canonical (see Key.Canonical): the protocol is normalised and all-traffic
// rules get ports 0..0. A permission without peers yields no rule. The input is not modified.
func Expand(perms []Permission) []Rule {
	var out []Rule
	for _, p := range perms {
		base := Key{Protocol: p.Protocol, FromPort: p.FromPort, ToPort: p.ToPort}.Canonical()
		groups := []struct {
			kind  PeerKind
			peers []Peer
		}{
			{PeerCIDR, p.CIDRs},
			{PeerCIDRv6, p.CIDRv6s},
			{PeerPrefixList, p.PrefixLists},
			{PeerSG, p.SGs},
		}
		for _, g := range groups {
			for _, peer := range g.peers {
				k := base
				k.PeerKind, k.Peer = g.kind, peer.ID
				out = append(out, Rule{Key: k, Description: peer.Description})
			}
		}
	}
	return out
}
