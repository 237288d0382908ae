package cloud

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/sgrules"
)

// Integration tests against a real moto server. Each test builds its own VPC, so tests do
// not reset moto and may share it. A missing moto fails them (it is never a skip).

var (
	motoOnce sync.Once
	motoSrv  *localenv.Moto
	motoErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if motoSrv != nil {
		_ = motoSrv.Close()
	}
	os.Exit(code)
}

// world is one VPC in moto with the clients and an Observer scoped to it.
type world struct {
	c   *Clients
	o   *Observer
	vpc string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	motoOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		motoSrv, motoErr = localenv.StartMoto(ctx)
	})
	if motoErr != nil {
		t.Fatalf("moto is required for this test: %v", motoErr)
	}
	ctx := context.Background()
	cfg, err := motoSrv.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := NewFromConfig(cfg, Options{MaxAttempts: 1})
	out, err := c.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("create VPC: %v", err)
	}
	c.VPCID = aws.ToString(out.Vpc.VpcId)
	return &world{c: c, o: NewObserver(c, nil), vpc: c.VPCID}
}

// calls runs f and returns the AWS calls it made.
func (w *world) calls(t *testing.T, f func()) Counts {
	t.Helper()
	before := w.c.Calls.Snapshot()
	f()
	return w.c.Calls.Snapshot().Sub(before)
}

func (w *world) subnet(t *testing.T, cidr, az string, tags map[string]string) string {
	t.Helper()
	in := &ec2.CreateSubnetInput{VpcId: aws.String(w.vpc), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(az)}
	if len(tags) > 0 {
		in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSubnet, Tags: sdkTags(tags)}}
	}
	out, err := w.c.EC2.CreateSubnet(context.Background(), in)
	if err != nil {
		t.Fatalf("create subnet: %v", err)
	}
	return aws.ToString(out.Subnet.SubnetId)
}

func actions(c Counts) map[string]int { return c.ByAction() }

func TestMotoSecurityGroups(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	o := w.o
	clusterTag := map[string]string{"elbv2.k8s.aws/cluster": "c1", "elbv2.k8s.aws/resource": "backend-sg"}

	var a, b string
	n := w.calls(t, func() {
		var err error
		if a, err = o.CreateSecurityGroup(ctx, "k8s-traffic-c1-abc", "[k8s] Shared Backend SecurityGroup for LoadBalancer", clusterTag); err != nil {
			t.Fatal(err)
		}
		if b, err = o.CreateSecurityGroup(ctx, "k8s-ns-name-def", "frontend", map[string]string{"elbv2.k8s.aws/cluster": "c1", "Name": "front"}); err != nil {
			t.Fatal(err)
		}
	})
	if diff := cmp.Diff(map[string]int{"CreateSecurityGroup": 2}, n.Mutating()); diff != "" {
		t.Errorf("create calls (-want +got):\n%s", diff)
	}
	if _, err := o.CreateSecurityGroup(ctx, "k8s-ns-name-def", "again", nil); !IsGroupDuplicate(err) {
		t.Errorf("duplicate name: %v, want InvalidGroup.Duplicate", err)
	}

	// Search by tags: one call, sorted by ID; the same search again: no call.
	var found []SecurityGroup
	n = w.calls(t, func() {
		var err error
		if found, err = o.FindSecurityGroups(ctx, map[string][]string{"elbv2.k8s.aws/cluster": {"c1"}}, false); err != nil {
			t.Fatal(err)
		}
	})
	wantIDs := slices.Sorted(slices.Values([]string{a, b}))
	if got := sgIDs(found); !slices.Equal(got, wantIDs) {
		t.Errorf("FindSecurityGroups = %v, want %v", got, wantIDs)
	}
	if n.Total() != 1 {
		t.Errorf("FindSecurityGroups made %d calls, want 1:\n%s", n.Total(), n)
	}
	if found[slices.IndexFunc(found, func(g SecurityGroup) bool { return g.ID == a })].Tags["elbv2.k8s.aws/resource"] != "backend-sg" {
		t.Errorf("tags not read: %+v", found)
	}
	n = w.calls(t, func() {
		_, _ = o.FindSecurityGroups(ctx, map[string][]string{"elbv2.k8s.aws/cluster": {"c1"}}, false)
		// The search filled the per-ID cache too.
		_, _ = o.SecurityGroups(ctx, []string{a, b}, false)
	})
	if n.Total() != 0 {
		t.Errorf("cached reads made calls:\n%s", n)
	}
	got, err := o.FindSecurityGroups(ctx, map[string][]string{"elbv2.k8s.aws/resource": {"backend-sg"}, "elbv2.k8s.aws/cluster": {"c1", "c2"}}, false)
	if err != nil || !slices.Equal(sgIDs(got), []string{a}) {
		t.Errorf("FindSecurityGroups(resource=backend-sg) = %v, %v", sgIDs(got), err)
	}
	byName, err := o.SecurityGroupsByNameTag(ctx, []string{"front", "k8s-traffic-c1-abc"})
	if err != nil || !slices.Equal(sgIDs(byName), []string{b}) {
		t.Errorf("SecurityGroupsByNameTag = %v, %v (the Name tag, not GroupName, counts)", sgIDs(byName), err)
	}

	// By ID: missing and malformed IDs are simply absent, in one call.
	o.Invalidate(a, b)
	var groups map[string]SecurityGroup
	n = w.calls(t, func() {
		groups, err = o.SecurityGroups(ctx, []string{a, b, "sg-0123456789abcdef0", "default", a}, false)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || groups[a].Name != "k8s-traffic-c1-abc" || groups[b].VPCID != w.vpc {
		t.Errorf("SecurityGroups = %+v", groups)
	}
	if diff := cmp.Diff(map[string]int{"DescribeSecurityGroups": 1}, actions(n)); diff != "" {
		t.Errorf("SecurityGroups calls (-want +got):\n%s", diff)
	}

	// A write invalidates: the next read sees the rules, with one describe.
	rules := []sgrules.Rule{
		rule("tcp", 80, 80, sgrules.PeerSG, b, "elbv2.k8s.aws/cluster=c1"),
		rule("tcp", 443, 443, sgrules.PeerCIDR, "10.0.0.0/16", "elbv2.k8s.aws/cluster=c1"),
		rule("udp", 53, 53, sgrules.PeerCIDRv6, "2001:db8::/32", ""),
		rule("-1", 0, 0, sgrules.PeerPrefixList, "pl-12345678", "all"),
	}
	n = w.calls(t, func() {
		if err := o.AuthorizeIngress(ctx, a, rules, map[string]string{"elbv2.k8s.aws/cluster": "c1"}); err != nil {
			t.Fatal(err)
		}
		groups, err = o.SecurityGroups(ctx, []string{a}, false)
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"AuthorizeSecurityGroupIngress": 1, "DescribeSecurityGroups": 1}, actions(n)); diff != "" {
		t.Errorf("authorize + read calls (-want +got):\n%s", diff)
	}
	// moto quirk: DescribeSecurityGroups drops the descriptions of prefix-list peers.
	observed := slices.Clone(rules)
	observed[3].Description = ""
	if diff := cmp.Diff(sorted(observed), sorted(groups[a].Ingress)); diff != "" {
		t.Errorf("rules after authorize (-want +got):\n%s", diff)
	}
	// moto keeps the rule tags given at authorize time.
	sgr, err := w.c.EC2.DescribeSecurityGroupRules(ctx, &ec2.DescribeSecurityGroupRulesInput{Filters: []ec2types.Filter{filter("group-id", a)}})
	if err != nil {
		t.Fatal(err)
	}
	tagged := 0
	for _, r := range sgr.SecurityGroupRules {
		if !aws.ToBool(r.IsEgress) && tagMap(r.Tags)["elbv2.k8s.aws/cluster"] == "c1" {
			tagged++
		}
	}
	if tagged != len(rules) {
		t.Errorf("%d of %d ingress rules carry the rule tag", tagged, len(rules))
	}

	// A change behind lbsg's back is not seen within the TTL, but a fresh read sees it.
	extra := rule("tcp", 8080, 8080, sgrules.PeerCIDR, "192.168.0.0/16", "")
	if _, err := w.c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(a), IpPermissions: RulesToSDK([]sgrules.Rule{extra})}); err != nil {
		t.Fatal(err)
	}
	n = w.calls(t, func() { groups, _ = o.SecurityGroups(ctx, []string{a}, false) })
	if n.Total() != 0 || slices.Contains(groups[a].Ingress, extra) {
		t.Errorf("cached read: %d calls, drift visible = %v", n.Total(), slices.Contains(groups[a].Ingress, extra))
	}
	n = w.calls(t, func() { groups, _ = o.SecurityGroups(ctx, []string{a}, true) })
	if n.Total() != 1 || !slices.Contains(groups[a].Ingress, extra) {
		t.Errorf("fresh read: %d calls, drift visible = %v", n.Total(), slices.Contains(groups[a].Ingress, extra))
	}
	// The fresh read refreshed the cache.
	n = w.calls(t, func() { groups, _ = o.SecurityGroups(ctx, []string{a}, false) })
	if n.Total() != 0 || !slices.Contains(groups[a].Ingress, extra) {
		t.Errorf("read after fresh: %d calls", n.Total())
	}

	// Authorize is idempotent: one existing rule fails moto's call as a whole
	// (InvalidPermission.Duplicate); lbsg re-reads and adds the rest.
	more := rule("tcp", 9090, 9090, sgrules.PeerCIDR, "192.168.0.0/16", "")
	n = w.calls(t, func() {
		if err := o.AuthorizeIngress(ctx, a, []sgrules.Rule{extra, more}, nil); err != nil {
			t.Fatal(err)
		}
	})
	if n[CallKey{"EC2", "AuthorizeSecurityGroupIngress", CodePermissionDuplicate}] != 1 || n[CallKey{"EC2", "AuthorizeSecurityGroupIngress", OutcomeOK}] != 1 {
		t.Errorf("authorize with a duplicate:\n%s", n)
	}

	// Revoke: a missing rule fails moto's call as a whole; lbsg re-reads and revokes the
	// present ones. The SG-sourced rule is revoked with a different description, which moto
	// treats as another rule; the re-read supplies the stored description.
	missing := rule("tcp", 1, 1, sgrules.PeerCIDR, "1.1.1.1/32", "")
	sgRule := rules[0]
	sgRule.Description = "some other description"
	n = w.calls(t, func() {
		if err := o.RevokeIngress(ctx, a, []sgrules.Rule{extra, more, missing, sgRule}); err != nil {
			t.Fatal(err)
		}
	})
	if n[CallKey{"EC2", "RevokeSecurityGroupIngress", CodePermissionNotFound}] != 1 || n[CallKey{"EC2", "RevokeSecurityGroupIngress", OutcomeOK}] != 1 {
		t.Errorf("revoke with a missing rule:\n%s", n)
	}
	groups, _ = o.SecurityGroups(ctx, []string{a}, false)
	if diff := cmp.Diff(sorted(observed[1:]), sorted(groups[a].Ingress)); diff != "" {
		t.Errorf("rules after revoke (-want +got):\n%s", diff)
	}
	if err := o.RevokeIngress(ctx, a, []sgrules.Rule{missing}); err != nil {
		t.Errorf("revoke only missing rules: %v", err)
	}

	// Tags: write invalidates the SG and the searches.
	if err := o.CreateTags(ctx, b, map[string]string{"elbv2.k8s.aws/resource": "backend-sg"}); err != nil {
		t.Fatal(err)
	}
	got, _ = o.FindSecurityGroups(ctx, map[string][]string{"elbv2.k8s.aws/resource": {"backend-sg"}}, false)
	if !slices.Equal(sgIDs(got), wantIDs) {
		t.Errorf("after CreateTags: %v", sgIDs(got))
	}
	if err := o.DeleteTags(ctx, b, []string{"elbv2.k8s.aws/resource"}); err != nil {
		t.Fatal(err)
	}
	groups, _ = o.SecurityGroups(ctx, []string{b}, false)
	if _, ok := groups[b].Tags["elbv2.k8s.aws/resource"]; ok || groups[b].Tags["Name"] != "front" {
		t.Errorf("tags after DeleteTags: %v", groups[b].Tags)
	}

	// Delete: gone from searches at once; deleting again is fine.
	if err := o.DeleteSecurityGroup(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, _ = o.FindSecurityGroups(ctx, map[string][]string{"elbv2.k8s.aws/cluster": {"c1"}}, false)
	if !slices.Equal(sgIDs(got), []string{a}) {
		t.Errorf("after delete: %v", sgIDs(got))
	}
	if err := o.DeleteSecurityGroup(ctx, b); err != nil {
		t.Errorf("delete again: %v", err)
	}
}

// TestMotoErrorCodes pins the error codes moto returns, which the predicates rely on.
func TestMotoErrorCodes(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	id, err := w.o.CreateSecurityGroup(ctx, "codes", "codes", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := []sgrules.Rule{rule("tcp", 80, 80, sgrules.PeerCIDR, "10.0.0.0/8", "")}
	_, err = w.c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id, "sg-0123456789abcdef0"}})
	if !IsNotFound(err) || ErrorCode(err) != CodeGroupNotFound {
		t.Errorf("describe a missing GroupId: %v", err)
	}
	_, err = w.c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: RulesToSDK(r)})
	if !IsPermissionNotFound(err) {
		t.Errorf("revoke a missing rule: %v", err)
	}
	for i := 0; i < 2; i++ {
		_, err = w.c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: RulesToSDK(r)})
	}
	if !IsPermissionDuplicate(err) {
		t.Errorf("authorize twice: %v", err)
	}
	_, err = w.c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String("sg-0123456789abcdef0")})
	if !IsNotFound(err) {
		t.Errorf("delete a missing SG: %v", err)
	}
	_, err = w.c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
	if ErrorCode(err) != CodeInstanceNotFound {
		t.Errorf("describe a missing instance: %v", err)
	}
	_, err = w.c.EC2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{"eni-0123456789abcdef0"}})
	if ErrorCode(err) != CodeNetworkInterfaceNotFound {
		t.Errorf("describe a missing ENI: %v", err)
	}
	_, err = w.c.ELBV2.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"nope"}})
	if ErrorCode(err) != CodeLoadBalancerNotFound {
		t.Errorf("describe a missing LB: %v", err)
	}
	// The calls were counted by outcome.
	calls := w.c.Calls.Snapshot()
	if calls[CallKey{ServiceELBV2, "DescribeLoadBalancers", CodeLoadBalancerNotFound}] != 1 {
		t.Errorf("ELBv2 outcome not counted:\n%s", calls)
	}
}

func TestMotoInstances(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	o := w.o
	subnet := w.subnet(t, "10.0.1.0/24", "us-west-2a", nil)
	nodeSG, err := o.CreateSecurityGroup(ctx, "nodes", "nodes", nil)
	if err != nil {
		t.Fatal(err)
	}
	otherSG, _ := o.CreateSecurityGroup(ctx, "other", "other", nil)
	images, err := w.c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("describe images: %v", err)
	}
	run, err := w.c.EC2.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: images.Images[0].ImageId, MinCount: aws.Int32(6), MaxCount: aws.Int32(6),
		InstanceType: ec2types.InstanceTypeT3Medium, SubnetId: aws.String(subnet), SecurityGroupIds: []string{nodeSG},
	})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, in := range run.Instances {
		ids = append(ids, aws.ToString(in.InstanceId))
	}

	var insts map[string]Instance
	n := w.calls(t, func() {
		insts, err = o.Instances(ctx, append(slices.Clone(ids), "i-0123456789abcdef0"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"DescribeInstances": 1, "DescribeNetworkInterfaces": 1}, actions(n)); diff != "" {
		t.Errorf("Instances calls (-want +got):\n%s", diff)
	}
	if len(insts) != len(ids) {
		t.Fatalf("Instances returned %d, want %d", len(insts), len(ids))
	}
	first := insts[ids[0]]
	if first.State != "running" || first.PrimaryENI.ID == "" || !slices.Equal(first.PrimaryENI.SecurityGroups, []string{nodeSG}) || len(first.PrimaryENI.PrivateIPs) == 0 {
		t.Errorf("instance = %+v", first)
	}
	n = w.calls(t, func() { _, _ = o.Instances(ctx, ids) })
	if n.Total() != 0 {
		t.Errorf("cached Instances made calls:\n%s", n)
	}

	// moto keeps the old groups in DescribeInstances after ModifyNetworkInterfaceAttribute;
	// the Observer reads them from DescribeNetworkInterfaces.
	eni := first.PrimaryENI.ID
	if _, err := w.c.EC2.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{NetworkInterfaceId: aws.String(eni), Groups: []string{nodeSG, otherSG}}); err != nil {
		t.Fatal(err)
	}
	o.Invalidate(ids[0])
	insts, err = o.Instances(ctx, ids[:1])
	if err != nil {
		t.Fatal(err)
	}
	if got := insts[ids[0]].PrimaryENI.SecurityGroups; !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values([]string{nodeSG, otherSG}))) {
		t.Errorf("groups after modify = %v", got)
	}

	// ENIs by ID and by IP: one call each, then cached.
	var enis map[string]ENI
	n = w.calls(t, func() { enis, err = o.NetworkInterfaces(ctx, []string{eni}, false) })
	if err != nil || len(enis) != 1 || n.Total() != 0 { // cached by the Instances read
		t.Errorf("NetworkInterfaces = %v, %v, %d calls", enis, err, n.Total())
	}
	n = w.calls(t, func() { enis, err = o.NetworkInterfaces(ctx, []string{eni, ids[1], "eni-0123456789abcdef0"}, false) })
	if err != nil || len(enis) != 1 || n.Total() != 1 { // absent IDs are not cached
		t.Errorf("NetworkInterfaces with unknown IDs = %v, %v, %d calls", enis, err, n.Total())
	}
	all, _ := o.Instances(ctx, ids)
	var ips []string
	want := map[string]string{}
	for _, id := range ids {
		ip := all[id].PrimaryENI.PrivateIPs[0]
		ips = append(ips, ip)
		want[ip] = all[id].PrimaryENI.ID
	}
	var byIP map[string]ENI
	n = w.calls(t, func() { byIP, err = o.NetworkInterfacesByIP(ctx, append(ips, "10.0.9.9")) })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]int{"DescribeNetworkInterfaces": 1}, actions(n)); diff != "" {
		t.Errorf("NetworkInterfacesByIP calls (-want +got):\n%s", diff)
	}
	gotIP := map[string]string{}
	for ip, e := range byIP {
		gotIP[ip] = e.ID
	}
	if diff := cmp.Diff(want, gotIP); diff != "" {
		t.Errorf("NetworkInterfacesByIP (-want +got):\n%s", diff)
	}
}

func TestMotoSubnetsAndVPC(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	o := w.o
	pubA := w.subnet(t, "10.0.0.0/24", "us-west-2a", map[string]string{TagRoleELB: "1", "Name": "pub-a"})
	pubA2 := w.subnet(t, "10.0.10.0/24", "us-west-2a", map[string]string{TagRoleELB: "1", "kubernetes.io/cluster/c1": "shared"})
	pubB := w.subnet(t, "10.0.1.0/24", "us-west-2b", map[string]string{TagRoleELB: "", "kubernetes.io/cluster/c1": "owned"})
	_ = w.subnet(t, "10.0.2.0/24", "us-west-2c", map[string]string{TagRoleELB: "1", "kubernetes.io/cluster/other": "owned"})
	privA := w.subnet(t, "10.0.3.0/24", "us-west-2a", map[string]string{TagRoleInternalELB: "1", "Name": "priv-a"})

	var got []Subnet
	var err error
	n := w.calls(t, func() { got, err = o.DiscoverSubnets(ctx, "c1", false) })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{pubA2, pubB}, subnetIDs(got)); diff != "" {
		t.Errorf("DiscoverSubnets(internet-facing) (-want +got):\n%s", diff)
	}
	if n.Total() != 1 {
		t.Errorf("DiscoverSubnets made %d calls", n.Total())
	}
	if got[0].AZ != "us-west-2a" || got[0].CIDR != "10.0.10.0/24" || got[0].Tags["kubernetes.io/cluster/c1"] != "shared" {
		t.Errorf("subnet = %+v", got[0])
	}
	got, _ = o.DiscoverSubnets(ctx, "c1", true)
	if diff := cmp.Diff([]string{privA}, subnetIDs(got)); diff != "" {
		t.Errorf("DiscoverSubnets(internal) (-want +got):\n%s", diff)
	}
	n = w.calls(t, func() { got, err = o.Subnets(ctx, []string{"priv-a", pubA, "subnet-0123456789abcdef0", "pub-a"}) })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values([]string{pubA, privA})), subnetIDs(got)); diff != "" {
		t.Errorf("Subnets (-want +got):\n%s", diff)
	}
	if n.Total() != 2 {
		t.Errorf("Subnets made %d calls, want 2 (IDs, names)", n.Total())
	}

	v, err := o.VPC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.ID != w.vpc || !slices.Equal(v.CIDRs, []string{"10.0.0.0/16"}) {
		t.Errorf("VPC = %+v", v)
	}
}

func sgIDs(gs []SecurityGroup) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

func subnetIDs(ss []Subnet) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func sorted(rules []sgrules.Rule) []sgrules.Rule {
	out := slices.Clone(rules)
	sgrules.Sort(out)
	return out
}
