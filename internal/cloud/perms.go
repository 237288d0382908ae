package cloud

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/lbsg/lbsg/internal/sgrules"
)

// RulesFromSDK turns EC2 permissions, which group several peers under one protocol and
// port range, into rules with one peer each (sgrules.Expand: protocol normalised,
// all-traffic ports 0..0). Absent ports read as 0. A user/group pair without a group ID
// (EC2-Classic names) is skipped: lbsg only works in VPCs.
func RulesFromSDK(perms []ec2types.IpPermission) []sgrules.Rule {
	out := make([]sgrules.Permission, 0, len(perms))
	for _, p := range perms {
		sp := sgrules.Permission{
			Protocol: aws.ToString(p.IpProtocol),
			FromPort: aws.ToInt32(p.FromPort),
			ToPort:   aws.ToInt32(p.ToPort),
		}
		for _, r := range p.IpRanges {
			sp.CIDRs = append(sp.CIDRs, sgrules.Peer{ID: aws.ToString(r.CidrIp), Description: aws.ToString(r.Description)})
		}
		for _, r := range p.Ipv6Ranges {
			sp.CIDRv6s = append(sp.CIDRv6s, sgrules.Peer{ID: aws.ToString(r.CidrIpv6), Description: aws.ToString(r.Description)})
		}
		for _, r := range p.PrefixListIds {
			sp.PrefixLists = append(sp.PrefixLists, sgrules.Peer{ID: aws.ToString(r.PrefixListId), Description: aws.ToString(r.Description)})
		}
		for _, g := range p.UserIdGroupPairs {
			if g.GroupId == nil {
				continue
			}
			sp.SGs = append(sp.SGs, sgrules.Peer{ID: aws.ToString(g.GroupId), Description: aws.ToString(g.Description)})
		}
		out = append(out, sp)
	}
	return sgrules.Expand(out)
}

// RulesToSDK turns rules into EC2 permissions, one per rule, with the description on the
// peer. The protocol is normalised; an all-traffic rule ("-1") carries no ports. An empty
// description is sent as absent. A rule with an unknown peer kind is skipped.
func RulesToSDK(rules []sgrules.Rule) []ec2types.IpPermission {
	out := make([]ec2types.IpPermission, 0, len(rules))
	for _, r := range rules {
		k := r.Key.Canonical()
		p := ec2types.IpPermission{IpProtocol: aws.String(k.Protocol)}
		if k.Protocol != sgrules.ProtoAll {
			p.FromPort, p.ToPort = aws.Int32(k.FromPort), aws.Int32(k.ToPort)
		}
		desc := optional(r.Description)
		switch k.PeerKind {
		case sgrules.PeerCIDR:
			p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(k.Peer), Description: desc}}
		case sgrules.PeerCIDRv6:
			p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(k.Peer), Description: desc}}
		case sgrules.PeerPrefixList:
			p.PrefixListIds = []ec2types.PrefixListId{{PrefixListId: aws.String(k.Peer), Description: desc}}
		case sgrules.PeerSG:
			p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: aws.String(k.Peer), Description: desc}}
		default:
			continue
		}
		out = append(out, p)
	}
	return out
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
