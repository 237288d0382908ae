package cloud

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/sgrules"
)

// Unit tests of the Observer over FakeEC2: what moto cannot show (DependencyViolation,
// whole-call Duplicate/NotFound semantics, rule limits) and the pure pieces.

func newFakeObserver(t *testing.T) (*Observer, *FakeEC2) {
	t.Helper()
	f := NewFakeEC2()
	return NewObserverFromAPI(f, "vpc-1", nil), f
}

func TestFakeDeleteSecurityGroupDependencyViolation(t *testing.T) {
	ctx := context.Background()
	o, f := newFakeObserver(t)
	backend, err := o.CreateSecurityGroup(ctx, "backend", "b", map[string]string{"elbv2.k8s.aws/cluster": "c1"})
	if err != nil {
		t.Fatal(err)
	}
	node, _ := o.CreateSecurityGroup(ctx, "node", "n", nil)
	r := rule("tcp", 80, 80, sgrules.PeerSG, backend, "elbv2.k8s.aws/cluster=c1")
	if err := o.AuthorizeIngress(ctx, node, []sgrules.Rule{r}, nil); err != nil {
		t.Fatal(err)
	}
	err = o.DeleteSecurityGroup(ctx, backend)
	if !IsDependencyViolation(err) {
		t.Fatalf("delete referenced SG: %v, want DependencyViolation", err)
	}
	if err := o.RevokeIngress(ctx, node, []sgrules.Rule{r}); err != nil {
		t.Fatal(err)
	}
	if err := o.DeleteSecurityGroup(ctx, backend); err != nil {
		t.Fatalf("delete unreferenced SG: %v", err)
	}
	if err := o.DeleteSecurityGroup(ctx, backend); err != nil {
		t.Errorf("delete a deleted SG: %v, want nil", err)
	}
	f.Fail = func(string) error { return FakeAPIError("RequestLimitExceeded") }
	if err := o.DeleteSecurityGroup(ctx, node); !IsThrottling(err) {
		t.Errorf("throttled delete: %v", err)
	}
}

// TestDeletedSGIsReadWithoutACall: an SG lbsg deleted is absent from every later read,
// cached or fresh, without asking EC2 (which never reuses an SG ID); a refused deletion
// leaves the SG readable.
func TestDeletedSGIsReadWithoutACall(t *testing.T) {
	ctx := context.Background()
	o, f := newFakeObserver(t)
	doomed, _ := o.CreateSecurityGroup(ctx, "doomed", "d", nil)
	kept, _ := o.CreateSecurityGroup(ctx, "kept", "k", nil)
	f.AddNetworkInterface(ec2types.NetworkInterface{NetworkInterfaceId: aws.String("eni-1"), VpcId: aws.String("vpc-1"),
		Groups: []ec2types.GroupIdentifier{{GroupId: aws.String(kept)}}})
	if err := o.DeleteSecurityGroup(ctx, kept); !IsDependencyViolation(err) {
		t.Fatalf("delete an SG in use: %v, want DependencyViolation", err)
	}
	if err := o.DeleteSecurityGroup(ctx, doomed); err != nil {
		t.Fatal(err)
	}
	for _, fresh := range []bool{false, true} {
		before := f.Calls()["DescribeSecurityGroups"]
		got, err := o.SecurityGroups(ctx, []string{doomed}, fresh)
		if err != nil || len(got) != 0 {
			t.Errorf("fresh=%v: read of the deleted SG = %v, %v; want nothing", fresh, got, err)
		}
		if n := f.Calls()["DescribeSecurityGroups"] - before; n != 0 {
			t.Errorf("fresh=%v: read of the deleted SG made %d calls, want 0", fresh, n)
		}
	}
	if got, err := o.SecurityGroups(ctx, []string{doomed, kept}, true); err != nil || len(got) != 1 || got[kept].ID != kept {
		t.Errorf("read of both = %v, %v; want only %s", got, err, kept)
	}
}

func TestFakeAuthorizeAndRevokeAreIdempotent(t *testing.T) {
	ctx := context.Background()
	o, f := newFakeObserver(t)
	sg, _ := o.CreateSecurityGroup(ctx, "node", "n", nil)
	a := rule("tcp", 80, 80, sgrules.PeerCIDR, "10.0.0.0/16", "")
	b := rule("tcp", 443, 443, sgrules.PeerCIDR, "10.0.0.0/16", "")
	c := rule("udp", 53, 53, sgrules.PeerSG, "sg-x", "")
	tags := map[string]string{"elbv2.k8s.aws/cluster": "c1"}
	if err := o.AuthorizeIngress(ctx, sg, []sgrules.Rule{a}, tags); err != nil {
		t.Fatal(err)
	}
	before := f.Calls()["AuthorizeSecurityGroupIngress"]
	// a exists: the fake (like EC2) fails the whole call; the Observer re-reads and adds b, c.
	if err := o.AuthorizeIngress(ctx, sg, []sgrules.Rule{a, b, c}, tags); err != nil {
		t.Fatal(err)
	}
	if n := f.Calls()["AuthorizeSecurityGroupIngress"] - before; n != 2 {
		t.Errorf("%d authorize calls, want 2 (duplicate, then the missing rules)", n)
	}
	if got := f.RuleTags(sg, b.Key); got["elbv2.k8s.aws/cluster"] != "c1" {
		t.Errorf("rule tags = %v", got)
	}
	// All present: one failing call, one read, no second authorize.
	before = f.Calls()["AuthorizeSecurityGroupIngress"]
	if err := o.AuthorizeIngress(ctx, sg, []sgrules.Rule{a, b}, nil); err != nil {
		t.Fatal(err)
	}
	if n := f.Calls()["AuthorizeSecurityGroupIngress"] - before; n != 1 {
		t.Errorf("%d authorize calls, want 1", n)
	}

	missing := rule("tcp", 8080, 8080, sgrules.PeerCIDR, "10.0.0.0/16", "")
	if err := o.RevokeIngress(ctx, sg, []sgrules.Rule{a, missing}); err != nil {
		t.Fatal(err)
	}
	groups, err := o.SecurityGroups(ctx, []string{sg}, false)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]sgrules.Rule{b, c}, groups[sg].Ingress); diff != "" {
		t.Errorf("rules after revoke (-want +got):\n%s", diff)
	}
	if err := o.RevokeIngress(ctx, sg, []sgrules.Rule{missing}); err != nil {
		t.Errorf("revoke a missing rule: %v", err)
	}
}

func TestFakeRuleTagsDenied(t *testing.T) {
	ctx := context.Background()
	o, f := newFakeObserver(t)
	f.DenyRuleTags = true
	sg, _ := o.CreateSecurityGroup(ctx, "node", "n", nil)
	tags := map[string]string{"elbv2.k8s.aws/cluster": "c1"}
	r1 := rule("tcp", 1, 1, sgrules.PeerCIDR, "10.0.0.0/8", "elbv2.k8s.aws/cluster=c1")
	if err := o.AuthorizeIngress(ctx, sg, []sgrules.Rule{r1}, tags); err != nil {
		t.Fatal(err)
	}
	if !o.RuleTagsDenied() || f.Calls()["AuthorizeSecurityGroupIngress"] != 2 {
		t.Errorf("denied = %v, calls = %v", o.RuleTagsDenied(), f.Calls())
	}
	r2 := rule("tcp", 2, 2, sgrules.PeerCIDR, "10.0.0.0/8", "elbv2.k8s.aws/cluster=c1")
	if err := o.AuthorizeIngress(ctx, sg, []sgrules.Rule{r2}, tags); err != nil {
		t.Fatal(err)
	}
	if n := f.Calls()["AuthorizeSecurityGroupIngress"]; n != 3 {
		t.Errorf("authorize calls = %d, want 3: once refused, tags are no longer sent", n)
	}
	// An authorize that is itself refused stays refused.
	o2, f2 := newFakeObserver(t)
	f2.Fail = func(a string) error {
		if a == "AuthorizeSecurityGroupIngress" {
			return FakeAPIError(CodeUnauthorizedOperation)
		}
		return nil
	}
	if err := o2.AuthorizeIngress(ctx, sg, []sgrules.Rule{r1}, tags); !IsUnauthorized(err) || o2.RuleTagsDenied() {
		t.Errorf("refused authorize: %v, denied = %v", err, o2.RuleTagsDenied())
	}
}

func TestFakeSecurityGroupsReferencing(t *testing.T) {
	ctx := context.Background()
	o, _ := newFakeObserver(t)
	backend, _ := o.CreateSecurityGroup(ctx, "backend", "b", nil)
	node, _ := o.CreateSecurityGroup(ctx, "node", "n", nil)
	refs, err := o.SecurityGroupsReferencing(ctx, []string{backend}, false)
	if err != nil || len(refs) != 0 {
		t.Fatalf("refs before = %v, %v", refs, err)
	}
	// A rule written by lbsg drops the cached (empty) search.
	if err := o.AuthorizeIngress(ctx, node, []sgrules.Rule{rule("tcp", 80, 80, sgrules.PeerSG, backend, "")}, nil); err != nil {
		t.Fatal(err)
	}
	refs, err = o.SecurityGroupsReferencing(ctx, []string{backend}, false)
	if err != nil || len(refs) != 1 || refs[0].ID != node {
		t.Errorf("refs after authorize = %v, %v", refs, err)
	}
}

func TestFakeRuleLimit(t *testing.T) {
	ctx := context.Background()
	o, f := newFakeObserver(t)
	f.RuleLimit = 1
	sg, _ := o.CreateSecurityGroup(ctx, "node", "n", nil)
	err := o.AuthorizeIngress(ctx, sg, []sgrules.Rule{
		rule("tcp", 1, 1, sgrules.PeerCIDR, "10.0.0.0/8", ""),
		rule("tcp", 2, 2, sgrules.PeerCIDR, "10.0.0.0/8", ""),
	}, nil)
	if !IsRuleLimitExceeded(err) {
		t.Errorf("authorize over the limit: %v", err)
	}
}

func TestFakeTagsAndSearches(t *testing.T) {
	ctx := context.Background()
	o, f := newFakeObserver(t)
	a, _ := o.CreateSecurityGroup(ctx, "a", "a", map[string]string{"elbv2.k8s.aws/cluster": "c1", "Name": "web"})
	found, err := o.FindSecurityGroups(ctx, map[string][]string{"elbv2.k8s.aws/cluster": {"c1"}}, false)
	if err != nil || len(found) != 1 || found[0].ID != a {
		t.Fatalf("find = %v, %v", found, err)
	}
	// Creating an SG drops cached searches; the next search sees it.
	b, _ := o.CreateSecurityGroup(ctx, "b", "b", map[string]string{"elbv2.k8s.aws/cluster": "c1"})
	found, _ = o.FindSecurityGroups(ctx, map[string][]string{"elbv2.k8s.aws/cluster": nil}, false)
	if len(found) != 2 || found[0].ID != a || found[1].ID != b {
		t.Errorf("find after create = %v", found)
	}
	if err := o.DeleteTags(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	if f.Calls()["DeleteTags"] != 0 {
		t.Error("DeleteTags with no keys called EC2 (which would delete every tag)")
	}
	if err := o.DeleteTags(ctx, a, []string{"elbv2.k8s.aws/cluster"}); err != nil {
		t.Fatal(err)
	}
	found, _ = o.FindSecurityGroups(ctx, map[string][]string{"elbv2.k8s.aws/cluster": {"c1"}}, false)
	if len(found) != 1 || found[0].ID != b {
		t.Errorf("find after untag = %v", found)
	}
	byName, err := o.SecurityGroupsByNameTag(ctx, []string{"web", "nope", "web"})
	if err != nil || len(byName) != 1 || byName[0].ID != a || byName[0].Tags["Name"] != "web" {
		t.Errorf("by name = %v, %v", byName, err)
	}
	if err := o.CreateTags(ctx, b, map[string]string{"Name": "web"}); err != nil {
		t.Fatal(err)
	}
	byName, _ = o.SecurityGroupsByNameTag(ctx, []string{"web"})
	if len(byName) != 2 {
		t.Errorf("by name after tagging = %v", byName)
	}
	if _, err := o.CreateSecurityGroup(ctx, "a", "dup", nil); !IsGroupDuplicate(err) {
		t.Errorf("duplicate name: %v", err)
	}
}

func TestFakeInstancesAndENIs(t *testing.T) {
	ctx := context.Background()
	o, f := newFakeObserver(t)
	primary := ec2types.NetworkInterface{
		NetworkInterfaceId: aws.String("eni-1"), VpcId: aws.String("vpc-1"),
		PrivateIpAddress:   aws.String("10.0.0.10"),
		PrivateIpAddresses: []ec2types.NetworkInterfacePrivateIpAddress{{PrivateIpAddress: aws.String("10.0.0.11")}, {PrivateIpAddress: aws.String("10.0.0.10")}},
		Ipv6Addresses:      []ec2types.NetworkInterfaceIpv6Address{{Ipv6Address: aws.String("2001:db8::10")}},
		Ipv4Prefixes:       []ec2types.Ipv4PrefixSpecification{{Ipv4Prefix: aws.String("10.0.1.0/28")}},
		Groups:             []ec2types.GroupIdentifier{{GroupId: aws.String("sg-new")}},
	}
	secondary := ec2types.NetworkInterface{NetworkInterfaceId: aws.String("eni-2"), VpcId: aws.String("vpc-1"), PrivateIpAddress: aws.String("10.0.0.20")}
	f.AddNetworkInterface(primary)
	f.AddNetworkInterface(secondary)
	f.AddInstance(ec2types.Instance{
		InstanceId: aws.String("i-1"), VpcId: aws.String("vpc-1"),
		State: &ec2types.InstanceState{Name: ec2types.InstanceStateNameRunning},
		NetworkInterfaces: []ec2types.InstanceNetworkInterface{
			{NetworkInterfaceId: aws.String("eni-2"), Attachment: &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(1)}},
			// Stale groups, as moto reports them after ModifyNetworkInterfaceAttribute.
			{NetworkInterfaceId: aws.String("eni-1"), Attachment: &ec2types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(0)}, Groups: []ec2types.GroupIdentifier{{GroupId: aws.String("sg-old")}}},
		},
	})
	insts, err := o.Instances(ctx, []string{"i-1", "i-missing"})
	if err != nil {
		t.Fatal(err)
	}
	wantPrimary := ENI{ID: "eni-1", VPCID: "vpc-1", SecurityGroups: []string{"sg-new"}, PrivateIPs: []string{"10.0.0.10", "10.0.0.11"}, IPv6s: []string{"2001:db8::10"}, Prefixes: []string{"10.0.1.0/28"}}
	want := map[string]Instance{"i-1": {
		ID: "i-1", State: "running", PrimaryENI: wantPrimary,
		ENIs: []ENI{wantPrimary, {ID: "eni-2", VPCID: "vpc-1", PrivateIPs: []string{"10.0.0.20"}}},
	}}
	if diff := cmp.Diff(want, insts); diff != "" {
		t.Errorf("Instances (-want +got):\n%s", diff)
	}
	calls := f.Calls()
	if calls["DescribeInstances"] != 1 || calls["DescribeNetworkInterfaces"] != 1 {
		t.Errorf("calls = %v", calls)
	}
	// The ENIs were cached on the way.
	if _, err := o.NetworkInterfaces(ctx, []string{"eni-1", "eni-2"}, false); err != nil || f.Calls()["DescribeNetworkInterfaces"] != 1 {
		t.Errorf("NetworkInterfaces after Instances: %v, calls %v", err, f.Calls())
	}
	byIP, err := o.NetworkInterfacesByIP(ctx, []string{"10.0.0.11", "2001:db8::10", "10.9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	if len(byIP) != 2 || byIP["10.0.0.11"].ID != "eni-1" || byIP["2001:db8::10"].ID != "eni-1" {
		t.Errorf("by IP = %v", byIP)
	}
	if n := f.Calls()["DescribeNetworkInterfaces"]; n != 3 {
		t.Errorf("DescribeNetworkInterfaces calls = %d, want 3 (one v4, one v6 query)", n)
	}
	// Invalidating an ENI drops the instance that holds it.
	o.Invalidate("eni-1")
	_, _ = o.Instances(ctx, []string{"i-1"})
	if n := f.Calls()["DescribeInstances"]; n != 2 {
		t.Errorf("DescribeInstances after invalidating its ENI = %d, want 2", n)
	}
}

func TestFakeVPC(t *testing.T) {
	ctx := context.Background()
	o, f := newFakeObserver(t)
	f.AddVPC(ec2types.Vpc{
		VpcId: aws.String("vpc-1"), CidrBlock: aws.String("10.0.0.0/16"),
		CidrBlockAssociationSet: []ec2types.VpcCidrBlockAssociation{
			{CidrBlock: aws.String("10.0.0.0/16"), CidrBlockState: &ec2types.VpcCidrBlockState{State: ec2types.VpcCidrBlockStateCodeAssociated}},
			{CidrBlock: aws.String("10.1.0.0/16"), CidrBlockState: &ec2types.VpcCidrBlockState{State: ec2types.VpcCidrBlockStateCodeDisassociated}},
			{CidrBlock: aws.String("100.64.0.0/16"), CidrBlockState: &ec2types.VpcCidrBlockState{State: ec2types.VpcCidrBlockStateCodeAssociated}},
		},
		Ipv6CidrBlockAssociationSet: []ec2types.VpcIpv6CidrBlockAssociation{{Ipv6CidrBlock: aws.String("2001:db8::/56")}},
	})
	v, err := o.VPC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := VPC{ID: "vpc-1", CIDRs: []string{"10.0.0.0/16", "100.64.0.0/16"}, IPv6CIDRs: []string{"2001:db8::/56"}}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("VPC (-want +got):\n%s", diff)
	}
	if _, err := NewObserverFromAPI(f, "vpc-404", nil).VPC(ctx); err == nil {
		t.Error("unknown VPC: no error")
	}
}

func TestPickSubnets(t *testing.T) {
	const role = TagRoleELB
	s := func(id, az string, tags ...string) Subnet {
		m := map[string]string{}
		for i := 0; i+1 < len(tags); i += 2 {
			m[tags[i]] = tags[i+1]
		}
		return Subnet{ID: id, AZ: az, Tags: m}
	}
	candidates := []Subnet{
		s("subnet-b", "us-west-2a", role, "1"),
		s("subnet-a", "us-west-2a", role, "1"),                                         // lower ID wins in 2a
		s("subnet-z", "us-west-2b", role, "", "kubernetes.io/cluster/c1", "shared"),    // cluster-tagged wins in 2b
		s("subnet-c", "us-west-2b", role, "1"),                                         //
		s("subnet-d", "us-west-2c", role, "1", "kubernetes.io/cluster/other", "owned"), // other cluster only: out
		s("subnet-e", "us-west-2d", role, "0"),                                         // role value 0: out
		s("subnet-f", "us-west-2e", "kubernetes.io/role/internal-elb", "1"),            // wrong role: out
		s("subnet-g", "us-west-2f", role, "1", "kubernetes.io/cluster/other", "owned", "kubernetes.io/cluster/c1", "owned"),
	}
	var got []string
	for _, sub := range pickSubnets(candidates, role, "c1") {
		got = append(got, sub.AZ+"="+sub.ID)
	}
	want := []string{"us-west-2a=subnet-a", "us-west-2b=subnet-z", "us-west-2f=subnet-g"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pickSubnets (-want +got):\n%s", diff)
	}
}

// TestRevokeIsWrittenThroughTheByIDCache: after lbsg revokes rules, reading the SG by ID
// costs no call and shows the rules left; after an authorize it is read again (AWS may
// store the new rules' details differently).
func TestRevokeIsWrittenThroughTheByIDCache(t *testing.T) {
	ctx := context.Background()
	o, f := newFakeObserver(t)
	sg, _ := o.CreateSecurityGroup(ctx, "node", "n", nil)
	a := rule("tcp", 80, 80, sgrules.PeerCIDR, "10.0.0.0/16", "")
	b := rule("tcp", 443, 443, sgrules.PeerCIDR, "10.0.0.0/16", "")
	if err := o.AuthorizeIngress(ctx, sg, []sgrules.Rule{a, b}, nil); err != nil {
		t.Fatal(err)
	}
	reads := func() int { return f.Calls()["DescribeSecurityGroups"] }
	before := reads()
	if _, err := o.SecurityGroups(ctx, []string{sg}, false); err != nil {
		t.Fatal(err)
	}
	if reads()-before != 1 {
		t.Errorf("read after an authorize made %d calls, want 1", reads()-before)
	}
	if err := o.RevokeIngress(ctx, sg, []sgrules.Rule{a}); err != nil {
		t.Fatal(err)
	}
	before = reads()
	got, err := o.SecurityGroups(ctx, []string{sg}, false)
	if err != nil {
		t.Fatal(err)
	}
	if reads() != before {
		t.Errorf("read after a revoke made %d calls, want 0", reads()-before)
	}
	if rules := got[sg].Ingress; len(rules) != 1 || rules[0].Key != b.Key {
		t.Errorf("rules after the revoke = %v, want only %v", rules, b.Key)
	}
}
