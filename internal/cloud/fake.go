package cloud

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/lbsg/lbsg/internal/sgrules"
)

// FakeEC2 is the hand-written, stateful, in-memory EC2API of unit tests, covering what
// moto does not: DeleteSecurityGroup answers DependencyViolation while an ENI uses the SG
// or another SG's rule refers to it; Authorize and Revoke fail as a whole on one
// duplicate or missing rule (rule identity ignores descriptions, as in AWS); RuleLimit
// caps the inbound rules per SG and address family; Fail injects any error. Security
// groups, instances, ENIs, subnets and VPCs are seeded with the Add methods as SDK values.
// It is safe for concurrent use.
type FakeEC2 struct {
	// RuleLimit is the number of inbound rules an SG may hold per address family (0 means
	// 60, AWS's default); a rule whose peer is an SG or a prefix list counts in both.
	RuleLimit int
	// Fail, when set, is called before every call with its action name ("CreateTags"); a
	// non-nil result is returned as the call's error. Use FakeAPIError to build one.
	Fail func(action string) error
	// DenyRuleTags makes an authorize that tags its rules fail with UnauthorizedOperation,
	// as under upstream's IAM policy.
	DenyRuleTags bool

	mu        sync.Mutex
	next      int
	groups    map[string]*fakeGroup
	instances []ec2types.Instance
	enis      []ec2types.NetworkInterface
	subnets   []ec2types.Subnet
	vpcs      []ec2types.Vpc
	calls     map[string]int
}

type fakeGroup struct {
	id, name, description, vpc string
	tags                       map[string]string
	ingress                    []sgrules.Rule
	ruleTags                   map[sgrules.Key]map[string]string
}

var _ EC2API = (*FakeEC2)(nil)

// NewFakeEC2 returns an empty fake.
func NewFakeEC2() *FakeEC2 {
	return &FakeEC2{groups: map[string]*fakeGroup{}, calls: map[string]int{}}
}

// FakeAPIError returns an error carrying an AWS error code, as the SDK would.
func FakeAPIError(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "fake: " + code}
}

// AddInstance, AddNetworkInterface, AddSubnet, AddVPC and AddSecurityGroup seed the fake.
func (f *FakeEC2) AddInstance(in ec2types.Instance) {
	f.mu.Lock()
	f.instances = append(f.instances, in)
	f.mu.Unlock()
}

// AddNetworkInterface seeds an ENI (its Groups count as uses of those SGs).
func (f *FakeEC2) AddNetworkInterface(ni ec2types.NetworkInterface) {
	f.mu.Lock()
	f.enis = append(f.enis, ni)
	f.mu.Unlock()
}

// AssignPrivateIPs adds secondary private IPv4 addresses to an ENI, as VPC CNI does for
// pod IPs: on the ENI and on the instance it is attached to. An instance's ENI becomes
// describable as an ENI on its first assignment.
func (f *FakeEC2) AssignPrivateIPs(eniID string, ips ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var addrs []ec2types.NetworkInterfacePrivateIpAddress
	var instAddrs []ec2types.InstancePrivateIpAddress
	for _, ip := range ips {
		addrs = append(addrs, ec2types.NetworkInterfacePrivateIpAddress{PrivateIpAddress: aws.String(ip), Primary: aws.Bool(false)})
		instAddrs = append(instAddrs, ec2types.InstancePrivateIpAddress{PrivateIpAddress: aws.String(ip), Primary: aws.Bool(false)})
	}
	found := false
	for i := range f.enis {
		if aws.ToString(f.enis[i].NetworkInterfaceId) == eniID {
			f.enis[i].PrivateIpAddresses = append(f.enis[i].PrivateIpAddresses, addrs...)
			found = true
		}
	}
	for i := range f.instances {
		for j := range f.instances[i].NetworkInterfaces {
			ni := &f.instances[i].NetworkInterfaces[j]
			if aws.ToString(ni.NetworkInterfaceId) != eniID {
				continue
			}
			ni.PrivateIpAddresses = append(ni.PrivateIpAddresses, instAddrs...)
			if !found {
				eni := ec2types.NetworkInterface{NetworkInterfaceId: ni.NetworkInterfaceId, VpcId: ni.VpcId, Groups: ni.Groups,
					PrivateIpAddress: ni.PrivateIpAddress, Attachment: &ec2types.NetworkInterfaceAttachment{InstanceId: f.instances[i].InstanceId}}
				for _, a := range ni.PrivateIpAddresses {
					eni.PrivateIpAddresses = append(eni.PrivateIpAddresses, ec2types.NetworkInterfacePrivateIpAddress{PrivateIpAddress: a.PrivateIpAddress, Primary: a.Primary})
				}
				f.enis = append(f.enis, eni)
				found = true
			}
		}
	}
}

// AddSubnet seeds a subnet.
func (f *FakeEC2) AddSubnet(s ec2types.Subnet) {
	f.mu.Lock()
	f.subnets = append(f.subnets, s)
	f.mu.Unlock()
}

// AddSecurityGroup seeds a security group as given: its ID, name, description, VPC, tags
// and inbound rules (IpPermissions).
func (f *FakeEC2) AddSecurityGroup(g ec2types.SecurityGroup) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(g.GroupId)
	f.groups[id] = &fakeGroup{
		id: id, name: aws.ToString(g.GroupName), description: aws.ToString(g.Description), vpc: aws.ToString(g.VpcId),
		tags: tagMap(g.Tags), ingress: RulesFromSDK(g.IpPermissions), ruleTags: map[sgrules.Key]map[string]string{},
	}
	if f.groups[id].tags == nil {
		f.groups[id].tags = map[string]string{}
	}
}

// AddVPC seeds a VPC.
func (f *FakeEC2) AddVPC(v ec2types.Vpc) { f.mu.Lock(); f.vpcs = append(f.vpcs, v); f.mu.Unlock() }

// Calls returns how many times each action was called.
func (f *FakeEC2) Calls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.calls)
}

// RuleTags returns the tags of the inbound rule with key k on SG sgID.
func (f *FakeEC2) RuleTags(sgID string, k sgrules.Key) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if g := f.groups[sgID]; g != nil {
		return maps.Clone(g.ruleTags[k.Canonical()])
	}
	return nil
}

func (f *FakeEC2) begin(action string) error {
	f.mu.Lock()
	f.calls[action]++
	fail := f.Fail
	f.mu.Unlock()
	if fail != nil {
		return fail(action)
	}
	return nil
}

func (f *FakeEC2) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	if err := f.begin("DescribeSecurityGroups"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ec2.DescribeSecurityGroupsOutput{}
	for _, id := range in.GroupIds {
		if f.groups[id] == nil {
			return nil, FakeAPIError(CodeGroupNotFound)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(f.groups)) {
		g := f.groups[id]
		if len(in.GroupIds) > 0 && !slices.Contains(in.GroupIds, id) {
			continue
		}
		ok, err := matchFilters(in.Filters, g.tags, func(name string) ([]string, bool) {
			switch name {
			case "group-id":
				return []string{g.id}, true
			case "group-name":
				return []string{g.name}, true
			case "vpc-id":
				return []string{g.vpc}, true
			case "ip-permission.group-id":
				var peers []string
				for _, r := range g.ingress {
					if r.PeerKind == sgrules.PeerSG {
						peers = append(peers, r.Peer)
					}
				}
				return peers, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out.SecurityGroups = append(out.SecurityGroups, ec2types.SecurityGroup{
				GroupId: aws.String(g.id), GroupName: aws.String(g.name), Description: aws.String(g.description),
				VpcId: aws.String(g.vpc), Tags: sdkTags(g.tags), IpPermissions: RulesToSDK(g.ingress),
			})
		}
	}
	return out, nil
}

func (f *FakeEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	if err := f.begin("DescribeInstances"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ec2.DescribeInstancesOutput{}
	for _, inst := range f.instances {
		id := aws.ToString(inst.InstanceId)
		if len(in.InstanceIds) > 0 && !slices.Contains(in.InstanceIds, id) {
			continue
		}
		ok, err := matchFilters(in.Filters, tagMap(inst.Tags), func(name string) ([]string, bool) {
			switch name {
			case "instance-id":
				return []string{id}, true
			case "vpc-id":
				return []string{aws.ToString(inst.VpcId)}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out.Reservations = append(out.Reservations, ec2types.Reservation{Instances: []ec2types.Instance{inst}})
		}
	}
	return out, nil
}

func (f *FakeEC2) DescribeNetworkInterfaces(_ context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	if err := f.begin("DescribeNetworkInterfaces"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ec2.DescribeNetworkInterfacesOutput{}
	for _, ni := range f.enis {
		e := eniFromSDK(ni)
		if len(in.NetworkInterfaceIds) > 0 && !slices.Contains(in.NetworkInterfaceIds, e.ID) {
			continue
		}
		ok, err := matchFilters(in.Filters, tagMap(ni.TagSet), func(name string) ([]string, bool) {
			switch name {
			case "network-interface-id":
				return []string{e.ID}, true
			case "vpc-id":
				return []string{aws.ToString(ni.VpcId)}, true
			case "addresses.private-ip-address", "private-ip-address":
				return e.PrivateIPs, true
			case "ipv6-addresses.ipv6-address":
				return e.IPv6s, true
			case "group-id":
				return e.SecurityGroups, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out.NetworkInterfaces = append(out.NetworkInterfaces, ni)
		}
	}
	return out, nil
}

func (f *FakeEC2) DescribeSubnets(_ context.Context, in *ec2.DescribeSubnetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	if err := f.begin("DescribeSubnets"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ec2.DescribeSubnetsOutput{}
	for _, s := range f.subnets {
		if len(in.SubnetIds) > 0 && !slices.Contains(in.SubnetIds, aws.ToString(s.SubnetId)) {
			continue
		}
		ok, err := matchFilters(in.Filters, tagMap(s.Tags), func(name string) ([]string, bool) {
			switch name {
			case "subnet-id":
				return []string{aws.ToString(s.SubnetId)}, true
			case "vpc-id":
				return []string{aws.ToString(s.VpcId)}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out.Subnets = append(out.Subnets, s)
		}
	}
	return out, nil
}

func (f *FakeEC2) DescribeVpcs(_ context.Context, in *ec2.DescribeVpcsInput, _ ...func(*ec2.Options)) (*ec2.DescribeVpcsOutput, error) {
	if err := f.begin("DescribeVpcs"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ec2.DescribeVpcsOutput{}
	for _, v := range f.vpcs {
		if len(in.VpcIds) > 0 && !slices.Contains(in.VpcIds, aws.ToString(v.VpcId)) {
			continue
		}
		ok, err := matchFilters(in.Filters, tagMap(v.Tags), func(name string) ([]string, bool) {
			if name == "vpc-id" {
				return []string{aws.ToString(v.VpcId)}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			out.Vpcs = append(out.Vpcs, v)
		}
	}
	return out, nil
}

func (f *FakeEC2) CreateSecurityGroup(_ context.Context, in *ec2.CreateSecurityGroupInput, _ ...func(*ec2.Options)) (*ec2.CreateSecurityGroupOutput, error) {
	if err := f.begin("CreateSecurityGroup"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.groups {
		if g.vpc == aws.ToString(in.VpcId) && g.name == aws.ToString(in.GroupName) {
			return nil, FakeAPIError(CodeGroupDuplicate)
		}
	}
	f.next++
	g := &fakeGroup{
		id: fmt.Sprintf("sg-%017x", f.next), name: aws.ToString(in.GroupName), description: aws.ToString(in.Description),
		vpc: aws.ToString(in.VpcId), tags: map[string]string{}, ruleTags: map[sgrules.Key]map[string]string{},
	}
	for _, ts := range in.TagSpecifications {
		if ts.ResourceType == ec2types.ResourceTypeSecurityGroup {
			maps.Copy(g.tags, tagMap(ts.Tags))
		}
	}
	f.groups[g.id] = g
	return &ec2.CreateSecurityGroupOutput{GroupId: aws.String(g.id)}, nil
}

func (f *FakeEC2) DeleteSecurityGroup(_ context.Context, in *ec2.DeleteSecurityGroupInput, _ ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error) {
	if err := f.begin("DeleteSecurityGroup"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.GroupId)
	if f.groups[id] == nil {
		return nil, FakeAPIError(CodeGroupNotFound)
	}
	for _, ni := range f.enis {
		if slices.Contains(eniFromSDK(ni).SecurityGroups, id) {
			return nil, FakeAPIError(CodeDependencyViolation)
		}
	}
	for _, g := range f.groups {
		for _, r := range g.ingress {
			if g.id != id && r.PeerKind == sgrules.PeerSG && r.Peer == id {
				return nil, FakeAPIError(CodeDependencyViolation)
			}
		}
	}
	delete(f.groups, id)
	return &ec2.DeleteSecurityGroupOutput{}, nil
}

func (f *FakeEC2) AuthorizeSecurityGroupIngress(_ context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	if err := f.begin("AuthorizeSecurityGroupIngress"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.groups[aws.ToString(in.GroupId)]
	if g == nil {
		return nil, FakeAPIError(CodeGroupNotFound)
	}
	add := RulesFromSDK(in.IpPermissions)
	have := map[sgrules.Key]bool{}
	for _, r := range g.ingress {
		have[r.Key] = true
	}
	for _, r := range add {
		if have[r.Key] {
			return nil, FakeAPIError(CodePermissionDuplicate)
		}
		have[r.Key] = true
	}
	// The quota is per address family, as in AWS (sgrules.RuleCount).
	if sgrules.CheckRuleQuota(append(slices.Clone(g.ingress), add...), nil, f.RuleLimit) != nil {
		return nil, FakeAPIError(CodeRuleLimitExceeded)
	}
	var tags map[string]string
	for _, ts := range in.TagSpecifications {
		if ts.ResourceType == ec2types.ResourceTypeSecurityGroupRule {
			if f.DenyRuleTags {
				return nil, FakeAPIError(CodeUnauthorizedOperation)
			}
			tags = tagMap(ts.Tags)
		}
	}
	for _, r := range add {
		g.ingress = append(g.ingress, r)
		if tags != nil {
			g.ruleTags[r.Key] = maps.Clone(tags)
		}
	}
	return &ec2.AuthorizeSecurityGroupIngressOutput{Return: aws.Bool(true)}, nil
}

func (f *FakeEC2) RevokeSecurityGroupIngress(_ context.Context, in *ec2.RevokeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error) {
	if err := f.begin("RevokeSecurityGroupIngress"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.groups[aws.ToString(in.GroupId)]
	if g == nil {
		return nil, FakeAPIError(CodeGroupNotFound)
	}
	drop := map[sgrules.Key]bool{}
	for _, r := range RulesFromSDK(in.IpPermissions) {
		drop[r.Key] = true
	}
	n := 0
	for _, r := range g.ingress {
		if drop[r.Key] {
			n++
		}
	}
	if n < len(drop) {
		return nil, FakeAPIError(CodePermissionNotFound)
	}
	g.ingress = slices.DeleteFunc(g.ingress, func(r sgrules.Rule) bool { return drop[r.Key] })
	for k := range drop {
		delete(g.ruleTags, k)
	}
	return &ec2.RevokeSecurityGroupIngressOutput{Return: aws.Bool(true)}, nil
}

func (f *FakeEC2) CreateTags(_ context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	if err := f.begin("CreateTags"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range in.Resources {
		if g := f.groups[id]; g != nil {
			maps.Copy(g.tags, tagMap(in.Tags))
		}
	}
	return &ec2.CreateTagsOutput{}, nil
}

func (f *FakeEC2) DeleteTags(_ context.Context, in *ec2.DeleteTagsInput, _ ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error) {
	if err := f.begin("DeleteTags"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range in.Resources {
		g := f.groups[id]
		if g == nil {
			continue
		}
		if len(in.Tags) == 0 {
			clear(g.tags)
		}
		for _, t := range in.Tags {
			if t.Value == nil || aws.ToString(t.Value) == g.tags[aws.ToString(t.Key)] {
				delete(g.tags, aws.ToString(t.Key))
			}
		}
	}
	return &ec2.DeleteTagsOutput{}, nil
}

// matchFilters applies EC2 filters: every filter must match (AND), any of its values may
// (OR). tag:<k>, tag-key and the names attr knows are supported; any other name is an
// error, so a test notices a filter the fake would silently ignore.
func matchFilters(filters []ec2types.Filter, tags map[string]string, attr func(string) ([]string, bool)) (bool, error) {
	for _, fl := range filters {
		name := aws.ToString(fl.Name)
		var have []string
		switch {
		case strings.HasPrefix(name, "tag:"):
			if v, ok := tags[strings.TrimPrefix(name, "tag:")]; ok {
				have = []string{v}
			}
		case name == "tag-key":
			have = slices.Collect(maps.Keys(tags))
		default:
			vals, ok := attr(name)
			if !ok {
				return false, FakeAPIError("InvalidParameterValue")
			}
			have = vals
		}
		if !slices.ContainsFunc(fl.Values, func(v string) bool { return slices.Contains(have, v) }) {
			return false, nil
		}
	}
	return true, nil
}
