package cloud

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lbsg/lbsg/internal/sgrules"
)

func rule(proto string, from, to int32, kind sgrules.PeerKind, peer, desc string) sgrules.Rule {
	return sgrules.Rule{Key: sgrules.Key{Protocol: proto, FromPort: from, ToPort: to, PeerKind: kind, Peer: peer}, Description: desc}
}

func TestRulesFromSDK(t *testing.T) {
	perms := []ec2types.IpPermission{
		{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(80), ToPort: aws.Int32(443),
			IpRanges:         []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/16"), Description: aws.String("a")}, {CidrIp: aws.String("0.0.0.0/0")}},
			Ipv6Ranges:       []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0"), Description: aws.String("b")}},
			PrefixListIds:    []ec2types.PrefixListId{{PrefixListId: aws.String("pl-1"), Description: aws.String("c")}},
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-1"), UserId: aws.String("123"), Description: aws.String("d")}, {GroupName: aws.String("classic")}},
		},
		{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-2")}}},
		{IpProtocol: aws.String("17"), FromPort: aws.Int32(53), ToPort: aws.Int32(53), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.1.0.0/16")}}},
		{IpProtocol: aws.String("icmp"), FromPort: aws.Int32(-1), ToPort: aws.Int32(-1), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.2.0.0/16")}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22)}, // no peers: no rule
	}
	want := []sgrules.Rule{
		rule("tcp", 80, 443, sgrules.PeerCIDR, "10.0.0.0/16", "a"),
		rule("tcp", 80, 443, sgrules.PeerCIDR, "0.0.0.0/0", ""),
		rule("tcp", 80, 443, sgrules.PeerCIDRv6, "::/0", "b"),
		rule("tcp", 80, 443, sgrules.PeerPrefixList, "pl-1", "c"),
		rule("tcp", 80, 443, sgrules.PeerSG, "sg-1", "d"),
		rule("-1", 0, 0, sgrules.PeerSG, "sg-2", ""),
		rule("udp", 53, 53, sgrules.PeerCIDR, "10.1.0.0/16", ""),
		rule("icmp", -1, -1, sgrules.PeerCIDR, "10.2.0.0/16", ""),
	}
	if diff := cmp.Diff(want, RulesFromSDK(perms)); diff != "" {
		t.Errorf("RulesFromSDK (-want +got):\n%s", diff)
	}
}

func TestRulesToSDK(t *testing.T) {
	rules := []sgrules.Rule{
		rule("TCP", 443, 443, sgrules.PeerCIDR, "0.0.0.0/0", "https"),
		rule("-1", 5, 6, sgrules.PeerSG, "sg-1", ""),
		rule("58", -1, -1, sgrules.PeerCIDRv6, "::/0", ""),
		rule("udp", 1, 2, sgrules.PeerPrefixList, "pl-1", "pl"),
		rule("tcp", 1, 2, "bogus", "x", ""),
	}
	want := []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("https")}}},
		{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-1")}}},
		{IpProtocol: aws.String("icmpv6"), FromPort: aws.Int32(-1), ToPort: aws.Int32(-1), Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0")}}},
		{IpProtocol: aws.String("udp"), FromPort: aws.Int32(1), ToPort: aws.Int32(2), PrefixListIds: []ec2types.PrefixListId{{PrefixListId: aws.String("pl-1"), Description: aws.String("pl")}}},
	}
	if diff := cmp.Diff(want, RulesToSDK(rules), cmpopts.IgnoreUnexported(ec2types.IpPermission{}, ec2types.IpRange{}, ec2types.Ipv6Range{}, ec2types.PrefixListId{}, ec2types.UserIdGroupPair{})); diff != "" {
		t.Errorf("RulesToSDK (-want +got):\n%s", diff)
	}
}

func TestRulesRoundTrip(t *testing.T) {
	rules := []sgrules.Rule{
		rule("tcp", 80, 80, sgrules.PeerCIDR, "10.0.0.0/8", "web"),
		rule("tcp", 0, 65535, sgrules.PeerSG, "sg-123", "elbv2.k8s.aws/cluster=c1"),
		rule("udp", 53, 53, sgrules.PeerCIDRv6, "2001:db8::/32", ""),
		rule("-1", 0, 0, sgrules.PeerPrefixList, "pl-9", "all"),
		rule("icmp", 3, 4, sgrules.PeerCIDR, "0.0.0.0/0", ""),
	}
	if diff := cmp.Diff(rules, RulesFromSDK(RulesToSDK(rules))); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// Non-canonical input comes back canonical.
	in := []sgrules.Rule{rule("6", 1, 2, sgrules.PeerCIDR, "1.2.3.4/32", ""), rule("all", 7, 8, sgrules.PeerSG, "sg-1", "")}
	want := []sgrules.Rule{rule("tcp", 1, 2, sgrules.PeerCIDR, "1.2.3.4/32", ""), rule("-1", 0, 0, sgrules.PeerSG, "sg-1", "")}
	if diff := cmp.Diff(want, RulesFromSDK(RulesToSDK(in))); diff != "" {
		t.Errorf("canonical round trip (-want +got):\n%s", diff)
	}
}
