package sgrules

import (
	"fmt"
	"strconv"
)

// String formats k for plans and logs: "tcp 80 from 0.0.0.0/0", "tcp 30000-32767 from
// sg-123", "icmp 3-4 from ::/0" (ICMP type-code), "all from sg-1". An ICMP type of -1 prints
// as "all", a code of -1 as "all" after the type ("icmp 3-all").
func (k Key) String() string {
	proto := NormalizeProtocol(k.Protocol)
	var what string
	switch proto {
	case ProtoAll:
		what = "all"
	case ProtoICMP, ProtoICMPv6:
		switch {
		case k.FromPort == -1:
			what = proto + " all"
		case k.ToPort == -1:
			what = fmt.Sprintf("%s %d-all", proto, k.FromPort)
		default:
			what = fmt.Sprintf("%s %d-%d", proto, k.FromPort, k.ToPort)
		}
	default:
		what = proto + " " + strconv.Itoa(int(k.FromPort))
		if k.ToPort != k.FromPort {
			what += "-" + strconv.Itoa(int(k.ToPort))
		}
	}
	return what + " from " + k.Peer
}
