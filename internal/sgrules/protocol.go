package sgrules

import "strings"

// NormalizeProtocol returns the protocol name EC2 reports for p: "6" and "TCP" become "tcp",
// "17" becomes "udp", "1" becomes "icmp", "58" becomes "icmpv6", and "all" or "-1" become
// ProtoAll ("-1"). Any other value is only trimmed and lowercased, so a protocol number EC2
// has no name for (for example "132") stays as it is.
func NormalizeProtocol(p string) string {
	switch p = strings.ToLower(strings.TrimSpace(p)); p {
	case "6", ProtoTCP:
		return ProtoTCP
	case "17", ProtoUDP:
		return ProtoUDP
	case "1", ProtoICMP:
		return ProtoICMP
	case "58", ProtoICMPv6:
		return ProtoICMPv6
	case "all", ProtoAll:
		return ProtoAll
	default:
		return p
	}
}

// Canonical returns k with its protocol normalised (NormalizeProtocol) and, for ProtoAll,
// its port range set to 0..0.
//
// The 0..0 convention for ProtoAll: EC2 ignores ports on all-traffic rules and reports them
// as absent or as -1, depending on the API and the SDK. lbsg therefore gives every
// all-traffic Key the same zero range, so an observed rule and a desired one always compare
// equal. ICMP type and code (FromPort, ToPort) are kept as they are, -1 included.
func (k Key) Canonical() Key {
	k.Protocol = NormalizeProtocol(k.Protocol)
	if k.Protocol == ProtoAll {
		k.FromPort, k.ToPort = 0, 0
	}
	return k
}
