// Package sgrules holds the identity of a security-group rule and the pure operations on
// sets of rules: diff, ownership and port-range compression. It does no I/O.
package sgrules

// PeerKind says what a rule's single source is.
type PeerKind string

const (
	PeerCIDR       PeerKind = "cidr"        // an IPv4 CIDR
	PeerCIDRv6     PeerKind = "cidr6"       // an IPv6 CIDR
	PeerPrefixList PeerKind = "prefix-list" // a managed prefix list ID (pl-...)
	PeerSG         PeerKind = "sg"          // a security group ID (sg-...)
)

// Protocol names as EC2 reports them after normalisation ("6" becomes "tcp", and so on).
const (
	ProtoTCP    = "tcp"
	ProtoUDP    = "udp"
	ProtoICMP   = "icmp"
	ProtoICMPv6 = "icmpv6"
	ProtoAll    = "-1"
)

// Key is the identity of one inbound rule with exactly one peer. It is the map key of every
// diff. The description is deliberately not part of it: EC2 treats two rules that differ only
// in description as the same rule.
type Key struct {
	Protocol string   `json:"protocol"`
	FromPort int32    `json:"fromPort"`
	ToPort   int32    `json:"toPort"`
	PeerKind PeerKind `json:"peerKind"`
	Peer     string   `json:"peer"`
}

// Rule is a Key plus its payload.
type Rule struct {
	Key
	Description string `json:"description,omitempty"`
}
