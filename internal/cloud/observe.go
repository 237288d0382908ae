package cloud

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbsg/lbsg/internal/awscache"
	"github.com/lbsg/lbsg/internal/sgrules"
)

// Batch sizes. EC2 accepts at most 200 values per filter (and 200 filter values per
// request in total, hence 199 next to a vpc-id filter).
const (
	maxFilterValues    = 200
	maxFilterValuesVPC = 199
)

// SecurityGroup is an observed security group with its inbound rules, one peer per rule.
type SecurityGroup struct {
	ID, Name, Description, VPCID string
	Tags                         map[string]string
	Ingress                      []sgrules.Rule
}

// Instance is an observed EC2 instance with its network interfaces.
type Instance struct {
	ID         string
	PrimaryENI ENI   // device index 0
	ENIs       []ENI // all attached ENIs, by device index
	State      string
}

// ENI is an observed network interface. PrivateIPs lists the primary address first.
type ENI struct {
	ID    string
	VPCID string
	// Type is EC2's InterfaceType: "interface", "branch", "trunk", ...
	Type           string
	SecurityGroups []string
	PrivateIPs     []string
	IPv6s          []string
	Prefixes       []string // delegated IPv4 and IPv6 prefixes
}

// Subnet is an observed subnet.
type Subnet struct {
	ID, AZ, CIDR string
	IPv6CIDRs    []string
	Tags         map[string]string
}

// VPC holds the CIDR blocks associated with the configured VPC.
type VPC struct {
	ID        string
	CIDRs     []string
	IPv6CIDRs []string
}

// Observer reads EC2 state in batches through TTL caches (TTLs and their reasons are in
// awscache/ttl.go) and makes the few SG writes lbsg needs, invalidating what they change. Every
// result is a copy. It is safe for concurrent use.
type Observer struct {
	ec2   EC2API
	vpcID string

	ruleTagsDenied atomic.Bool // EC2 refused security-group-rule tags once: stop sending them

	sgs      *awscache.Cache[SecurityGroup]
	searches *awscache.Cache[[]SecurityGroup]
	tagKeys  tagSearches // the filters of the cached tag searches (writethrough.go)
	insts    *awscache.Cache[Instance]
	enis     *awscache.Cache[ENI]
	enisByIP *awscache.Cache[ENI]
	subnets  *awscache.Cache[[]Subnet]
	vpcs     *awscache.Cache[VPC]

	// readAt is when each SG was last read from AWS (the start of the describe), so that
	// a caller about to revoke can skip re-reading what it read afresh already.
	readMu sync.Mutex
	readAt map[string]time.Time
	// deleted are the SGs lbsg deleted, or found gone when deleting, by when (under
	// readMu). EC2 never reuses an SG ID, so a read of one is answered "absent" without a
	// call; entries are forgotten after deletedMemory.
	deleted       map[string]time.Time
	deletedPruned time.Time
	now           func() time.Time
}

// deletedMemory is how long a deleted SG's ID is remembered: long enough for every pass
// that may still name it (a snapshot refreshed every --sync-period), bounded so that the
// memory does not grow with the SGs deleted over a process's life.
const deletedMemory = 24 * time.Hour

// NewObserver returns an Observer over c's EC2 client and VPC. reg receives
// lbsg_aws_cache_lookups_total; nil registers nothing.
func NewObserver(c *Clients, reg prometheus.Registerer) *Observer {
	return NewObserverFromAPI(c.EC2, c.VPCID, reg)
}

// NewObserverFromAPI returns an Observer over any EC2API (a fake, in unit tests).
func NewObserverFromAPI(api EC2API, vpcID string, reg prometheus.Registerer) *Observer {
	return newObserver(api, vpcID, reg, time.Now)
}

func newObserver(api EC2API, vpcID string, reg prometheus.Registerer, now func() time.Time) *Observer {
	lookups := newLookupCounter(reg)
	return &Observer{
		now:      now,
		readAt:   map[string]time.Time{},
		deleted:  map[string]time.Time{},
		ec2:      api,
		vpcID:    vpcID,
		sgs:      awscache.New(cacheSecurityGroup, awscache.SecurityGroupTTL, cloneSecurityGroup, lookups, now),
		searches: awscache.New(cacheSearch, awscache.SearchTTL, cloneSecurityGroups, lookups, now),
		insts:    awscache.New(cacheInstance, awscache.InstanceTTL, cloneInstance, lookups, now),
		enis:     awscache.New(cacheNetworkInterface, awscache.NetworkInterfaceTTL, cloneENI, lookups, now),
		enisByIP: awscache.New(cacheENIByIP, awscache.NetworkInterfaceTTL, cloneENI, lookups, now),
		subnets:  awscache.New(cacheSubnet, awscache.SubnetTTL, cloneSubnets, lookups, now),
		vpcs:     awscache.New(cacheVPC, awscache.VPCTTL, cloneVPC, lookups, now),
	}
}

// VPCID returns the VPC the Observer searches in.
func (o *Observer) VPCID() string { return o.vpcID }

// SecurityGroups returns the SGs with the given IDs, keyed by ID. IDs that do not exist
// (or are not SG IDs) are absent from the map; that is not an error. Uncached IDs are read
// with one DescribeSecurityGroups per 200, filtered on group-id (a filter, unlike GroupIds,
// does not fail the whole batch on one missing ID). fresh skips the cache, and is what a
// revoke must be planned from.
func (o *Observer) SecurityGroups(ctx context.Context, ids []string, fresh bool) (map[string]SecurityGroup, error) {
	valid := make([]string, 0, len(ids))
	o.readMu.Lock()
	for _, id := range ids {
		if _, gone := o.deleted[id]; strings.HasPrefix(id, "sg-") && !gone {
			valid = append(valid, id)
		}
	}
	o.readMu.Unlock()
	groups, err := o.sgs.GetMany(ctx, valid, fresh, o.describeSecurityGroupsByID)
	if err == nil && fresh {
		// A fresh reading (made before a revoke) replaces the copies cached searches
		// hold, so that the next plan starts from it.
		for _, g := range groups {
			o.foundSG("", g)
		}
	}
	return groups, err
}

// NotReadSince returns the SGs of ids that were not read from AWS at or after t (a
// cached copy, or none).
func (o *Observer) NotReadSince(ids []string, t time.Time) []string {
	o.readMu.Lock()
	defer o.readMu.Unlock()
	var out []string
	for _, id := range ids {
		if at, ok := o.readAt[id]; !ok || at.Before(t) {
			out = append(out, id)
		}
	}
	return out
}

func (o *Observer) describeSecurityGroupsByID(ctx context.Context, ids []string) (map[string]SecurityGroup, error) {
	out := make(map[string]SecurityGroup, len(ids))
	for chunk := range slices.Chunk(ids, maxFilterValues) {
		groups, err := o.describeSecurityGroups(ctx, []ec2types.Filter{filter("group-id", chunk...)})
		if err != nil {
			return nil, fmt.Errorf("describe security groups %v: %w", chunk, err)
		}
		for _, g := range groups {
			out[g.ID] = g
		}
	}
	return out, nil
}

// FindSecurityGroups returns the SGs in the VPC that carry every given tag with one of its
// values (a key with no values only has to be present), sorted by ID.
func (o *Observer) FindSecurityGroups(ctx context.Context, tagFilters map[string][]string, fresh bool) ([]SecurityGroup, error) {
	filters := o.vpcFilters()
	var key strings.Builder
	key.WriteString("tags")
	for _, k := range slices.Sorted(maps.Keys(tagFilters)) {
		vals := slices.Sorted(slices.Values(tagFilters[k]))
		if len(vals) == 0 {
			filters = append(filters, filter("tag-key", k))
		} else {
			filters = append(filters, filter("tag:"+k, vals...))
		}
		fmt.Fprintf(&key, "\x00%s=%s", k, strings.Join(vals, "\x01"))
	}
	o.tagKeys.remember(key.String(), tagFilters)
	groups, err := o.search(ctx, key.String(), filters, fresh)
	if err == nil && fresh {
		// What a fresh read found also belongs in the other cached searches it matches (a
		// stack's SG that another process created, adopted on a name clash, joins the
		// cluster's search), so the next plan sees it without waiting for their TTL.
		for _, g := range groups {
			o.foundSG(key.String(), g)
		}
	}
	return groups, err
}

// SecurityGroupsByNameTag returns the SGs in the VPC whose Name tag (not GroupName: this
// is how upstream resolves SG names in annotations) is one of names, sorted by ID. Several
// SGs may share a name; all are returned.
func (o *Observer) SecurityGroupsByNameTag(ctx context.Context, names []string) ([]SecurityGroup, error) {
	names = slices.Sorted(slices.Values(dedup(names)))
	if len(names) == 0 {
		return nil, nil
	}
	var all []SecurityGroup
	for chunk := range slices.Chunk(names, maxFilterValuesVPC) {
		key := nameSearchPrefix + strings.Join(chunk, "\x01")
		groups, err := o.search(ctx, key, append(o.vpcFilters(), filter("tag:Name", chunk...)), false)
		if err != nil {
			return nil, err
		}
		all = append(all, groups...)
	}
	slices.SortFunc(all, func(a, b SecurityGroup) int { return cmp.Compare(a.ID, b.ID) })
	return slices.CompactFunc(all, func(a, b SecurityGroup) bool { return a.ID == b.ID }), nil
}

// search runs one cached filter query; the SGs it finds also refresh the per-ID cache.
func (o *Observer) search(ctx context.Context, key string, filters []ec2types.Filter, fresh bool) ([]SecurityGroup, error) {
	groups, _, err := o.searches.Get(ctx, key, fresh, func(ctx context.Context) ([]SecurityGroup, bool, error) {
		gen := o.sgs.Generation()
		groups, err := o.describeSecurityGroups(ctx, filters)
		if err != nil {
			return nil, false, fmt.Errorf("describe security groups (%s): %w", describeFilters(filters), err)
		}
		byID := make(map[string]SecurityGroup, len(groups))
		for _, g := range groups {
			byID[g.ID] = g
		}
		o.sgs.Store(byID, gen)
		slices.SortFunc(groups, func(a, b SecurityGroup) int { return cmp.Compare(a.ID, b.ID) })
		return groups, true, nil
	})
	return groups, err
}

func (o *Observer) describeSecurityGroups(ctx context.Context, filters []ec2types.Filter) ([]SecurityGroup, error) {
	var out []SecurityGroup
	start := o.now()
	defer func() {
		o.readMu.Lock()
		for _, g := range out {
			o.readAt[g.ID] = start
		}
		o.readMu.Unlock()
	}()
	p := ec2.NewDescribeSecurityGroupsPaginator(o.ec2, &ec2.DescribeSecurityGroupsInput{Filters: filters})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range page.SecurityGroups {
			out = append(out, securityGroupFromSDK(g))
		}
	}
	return out, nil
}

func securityGroupFromSDK(g ec2types.SecurityGroup) SecurityGroup {
	return SecurityGroup{
		ID:          aws.ToString(g.GroupId),
		Name:        aws.ToString(g.GroupName),
		Description: aws.ToString(g.Description),
		VPCID:       aws.ToString(g.VpcId),
		Tags:        tagMap(g.Tags),
		Ingress:     RulesFromSDK(g.IpPermissions),
	}
}

// Instances returns the instances with the given IDs, keyed by ID; unknown IDs are absent.
// Uncached IDs are read with one DescribeInstances per 200 (filtered on instance-id, so a
// missing ID does not fail the batch), then their ENIs with one DescribeNetworkInterfaces
// per 200, whose groups are authoritative (moto, at least, keeps stale groups in
// DescribeInstances after ModifyNetworkInterfaceAttribute).
func (o *Observer) Instances(ctx context.Context, ids []string) (map[string]Instance, error) {
	return o.insts.GetMany(ctx, ids, false, o.describeInstances)
}

func (o *Observer) describeInstances(ctx context.Context, ids []string) (map[string]Instance, error) {
	out := make(map[string]Instance, len(ids))
	var eniIDs []string
	for chunk := range slices.Chunk(ids, maxFilterValues) {
		p := ec2.NewDescribeInstancesPaginator(o.ec2, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{filter("instance-id", chunk...)}})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describe instances %v: %w", chunk, err)
			}
			for _, r := range page.Reservations {
				for _, in := range r.Instances {
					inst := instanceFromSDK(in)
					out[inst.ID] = inst
					for _, e := range inst.ENIs {
						eniIDs = append(eniIDs, e.ID)
					}
				}
			}
		}
	}
	if len(eniIDs) == 0 {
		return out, nil
	}
	gen := o.enis.Generation()
	enis, err := o.describeNetworkInterfaces(ctx, []string{}, filterName("network-interface-id"), eniIDs, maxFilterValues)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]ENI, len(enis))
	for _, e := range enis {
		byID[e.ID] = e
	}
	o.enis.Store(byID, gen)
	for id, inst := range out {
		for i, e := range inst.ENIs {
			if fresh, ok := byID[e.ID]; ok {
				inst.ENIs[i] = fresh
			}
		}
		if len(inst.ENIs) > 0 && inst.ENIs[0].ID == inst.PrimaryENI.ID {
			inst.PrimaryENI = cloneENI(inst.ENIs[0])
		}
		out[id] = inst
	}
	return out, nil
}

func instanceFromSDK(in ec2types.Instance) Instance {
	inst := Instance{ID: aws.ToString(in.InstanceId)}
	if in.State != nil {
		inst.State = string(in.State.Name)
	}
	nis := slices.Clone(in.NetworkInterfaces)
	slices.SortStableFunc(nis, func(a, b ec2types.InstanceNetworkInterface) int {
		return cmp.Compare(deviceIndex(a), deviceIndex(b))
	})
	for _, ni := range nis {
		e := ENI{ID: aws.ToString(ni.NetworkInterfaceId), VPCID: aws.ToString(ni.VpcId)}
		for _, g := range ni.Groups {
			e.SecurityGroups = append(e.SecurityGroups, aws.ToString(g.GroupId))
		}
		var ips []string
		for _, a := range ni.PrivateIpAddresses {
			ips = append(ips, aws.ToString(a.PrivateIpAddress))
		}
		e.PrivateIPs = primaryFirst(aws.ToString(ni.PrivateIpAddress), ips)
		for _, a := range ni.Ipv6Addresses {
			e.IPv6s = append(e.IPv6s, aws.ToString(a.Ipv6Address))
		}
		for _, p := range ni.Ipv4Prefixes {
			e.Prefixes = append(e.Prefixes, aws.ToString(p.Ipv4Prefix))
		}
		for _, p := range ni.Ipv6Prefixes {
			e.Prefixes = append(e.Prefixes, aws.ToString(p.Ipv6Prefix))
		}
		inst.ENIs = append(inst.ENIs, e)
		if deviceIndex(ni) == 0 && inst.PrimaryENI.ID == "" {
			inst.PrimaryENI = cloneENI(e)
		}
	}
	return inst
}

func deviceIndex(ni ec2types.InstanceNetworkInterface) int32 {
	if ni.Attachment == nil || ni.Attachment.DeviceIndex == nil {
		return 1 << 30 // unknown: after the known ones
	}
	return *ni.Attachment.DeviceIndex
}

// NetworkInterfacesByIP returns, for each IP, the ENI in the VPC that holds it as a
// private address (IPv4: addresses.private-ip-address; IPv6: ipv6-addresses.ipv6-address),
// 199 IPs per DescribeNetworkInterfaces. IPs no ENI holds are absent.
func (o *Observer) NetworkInterfacesByIP(ctx context.Context, ips []string) (map[string]ENI, error) {
	return o.enisByIP.GetMany(ctx, ips, false, func(ctx context.Context, ips []string) (map[string]ENI, error) {
		var v4, v6 []string
		for _, ip := range ips {
			if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
				v6 = append(v6, ip)
			} else {
				v4 = append(v4, ip)
			}
		}
		gen := o.enis.Generation()
		var enis []ENI
		for _, q := range []struct {
			name filterName
			ips  []string
		}{{"addresses.private-ip-address", v4}, {"ipv6-addresses.ipv6-address", v6}} {
			if len(q.ips) == 0 {
				continue
			}
			found, err := o.describeNetworkInterfaces(ctx, o.vpcIDs(), q.name, q.ips, maxFilterValuesVPC)
			if err != nil {
				return nil, err
			}
			enis = append(enis, found...)
		}
		wanted := make(map[string]bool, len(ips))
		for _, ip := range ips {
			wanted[ip] = true
		}
		out := map[string]ENI{}
		byID := map[string]ENI{}
		for _, e := range enis {
			byID[e.ID] = e
			for _, ip := range slices.Concat(e.PrivateIPs, e.IPv6s) {
				if wanted[ip] {
					out[ip] = e
				}
			}
		}
		o.enis.Store(byID, gen)
		return out, nil
	})
}

// NetworkInterfaces returns the ENIs with the given IDs, keyed by ID; unknown IDs are
// absent. One DescribeNetworkInterfaces per 200 uncached IDs (per 200 IDs when fresh).
func (o *Observer) NetworkInterfaces(ctx context.Context, ids []string, fresh bool) (map[string]ENI, error) {
	return o.enis.GetMany(ctx, ids, fresh, func(ctx context.Context, ids []string) (map[string]ENI, error) {
		enis, err := o.describeNetworkInterfaces(ctx, nil, "network-interface-id", ids, maxFilterValues)
		if err != nil {
			return nil, err
		}
		out := make(map[string]ENI, len(enis))
		for _, e := range enis {
			out[e.ID] = e
		}
		return out, nil
	})
}

type filterName string

// describeNetworkInterfaces runs one DescribeNetworkInterfaces (plus pages) per chunk of
// values, filtered on name=values and, when vpcIDs is non-empty, vpc-id.
func (o *Observer) describeNetworkInterfaces(ctx context.Context, vpcIDs []string, name filterName, values []string, per int) ([]ENI, error) {
	var out []ENI
	for chunk := range slices.Chunk(values, per) {
		filters := []ec2types.Filter{filter(string(name), chunk...)}
		if len(vpcIDs) > 0 {
			filters = append(filters, filter("vpc-id", vpcIDs...))
		}
		p := ec2.NewDescribeNetworkInterfacesPaginator(o.ec2, &ec2.DescribeNetworkInterfacesInput{Filters: filters})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describe network interfaces (%s): %w", describeFilters(filters), err)
			}
			for _, ni := range page.NetworkInterfaces {
				out = append(out, eniFromSDK(ni))
			}
		}
	}
	return out, nil
}

func eniFromSDK(ni ec2types.NetworkInterface) ENI {
	e := ENI{ID: aws.ToString(ni.NetworkInterfaceId), VPCID: aws.ToString(ni.VpcId), Type: string(ni.InterfaceType)}
	for _, g := range ni.Groups {
		e.SecurityGroups = append(e.SecurityGroups, aws.ToString(g.GroupId))
	}
	var ips []string
	for _, a := range ni.PrivateIpAddresses {
		ips = append(ips, aws.ToString(a.PrivateIpAddress))
	}
	e.PrivateIPs = primaryFirst(aws.ToString(ni.PrivateIpAddress), ips)
	for _, a := range ni.Ipv6Addresses {
		e.IPv6s = append(e.IPv6s, aws.ToString(a.Ipv6Address))
	}
	for _, p := range ni.Ipv4Prefixes {
		e.Prefixes = append(e.Prefixes, aws.ToString(p.Ipv4Prefix))
	}
	for _, p := range ni.Ipv6Prefixes {
		e.Prefixes = append(e.Prefixes, aws.ToString(p.Ipv6Prefix))
	}
	return e
}

// primaryFirst returns ips with primary first and without duplicates.
func primaryFirst(primary string, ips []string) []string {
	var out []string
	if primary != "" {
		out = append(out, primary)
	}
	for _, ip := range ips {
		if ip != "" && !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	return out
}

// Subnets returns the subnets in the VPC named by idsOrNames: a value starting with
// "subnet-" is an ID, anything else a Name tag. At most two DescribeSubnets (IDs, names).
// Values that match nothing are simply missing from the result, which is sorted by ID; the
// caller compares it with what it asked for.
func (o *Observer) Subnets(ctx context.Context, idsOrNames []string) ([]Subnet, error) {
	vals := slices.Sorted(slices.Values(dedup(idsOrNames)))
	if len(vals) == 0 {
		return nil, nil
	}
	key := "named\x00" + strings.Join(vals, "\x01")
	subnets, _, err := o.subnets.Get(ctx, key, false, func(ctx context.Context) ([]Subnet, bool, error) {
		var ids, names []string
		for _, v := range vals {
			if strings.HasPrefix(v, "subnet-") {
				ids = append(ids, v)
			} else {
				names = append(names, v)
			}
		}
		var all []Subnet
		for _, q := range []struct {
			name   string
			values []string
		}{{"subnet-id", ids}, {"tag:Name", names}} {
			for chunk := range slices.Chunk(q.values, maxFilterValuesVPC) {
				found, err := o.describeSubnets(ctx, append(o.vpcFilters(), filter(q.name, chunk...)))
				if err != nil {
					return nil, false, err
				}
				all = append(all, found...)
			}
		}
		slices.SortFunc(all, func(a, b Subnet) int { return cmp.Compare(a.ID, b.ID) })
		return slices.CompactFunc(all, func(a, b Subnet) bool { return a.ID == b.ID }), true, nil
	})
	return subnets, err
}

// Subnet role and cluster tags (the same as upstream's subnet auto-discovery).
const (
	TagRoleELB         = "kubernetes.io/role/elb"
	TagRoleInternalELB = "kubernetes.io/role/internal-elb"
	TagClusterPrefix   = "kubernetes.io/cluster/"
)

// DiscoverSubnets finds the subnets a load balancer of the given scheme should use, the way
// upstream does: subnets in the VPC tagged with the role (kubernetes.io/role/elb for
// internet-facing, kubernetes.io/role/internal-elb for internal) with value "1" or "", that
// are either tagged kubernetes.io/cluster/<cluster> (any value: owned or shared) or carry
// no kubernetes.io/cluster/ tag at all. One subnet per AZ: a cluster-tagged one first,
// then the lowest ID. The result is sorted by AZ.
func (o *Observer) DiscoverSubnets(ctx context.Context, cluster string, internal bool) ([]Subnet, error) {
	role := TagRoleELB
	if internal {
		role = TagRoleInternalELB
	}
	key := fmt.Sprintf("discover\x00%s\x00%s", role, cluster)
	subnets, _, err := o.subnets.Get(ctx, key, false, func(ctx context.Context) ([]Subnet, bool, error) {
		found, err := o.describeSubnets(ctx, append(o.vpcFilters(), filter("tag-key", role)))
		if err != nil {
			return nil, false, err
		}
		return pickSubnets(found, role, cluster), true, nil
	})
	return subnets, err
}

// pickSubnets applies DiscoverSubnets' rules to candidates.
func pickSubnets(candidates []Subnet, role, cluster string) []Subnet {
	ours := TagClusterPrefix + cluster
	tagged := func(s Subnet) bool { _, ok := s.Tags[ours]; return ok }
	best := map[string]Subnet{}
	for _, s := range candidates {
		if v, ok := s.Tags[role]; !ok || (v != "1" && v != "") {
			continue
		}
		if !tagged(s) && slices.ContainsFunc(slices.Collect(maps.Keys(s.Tags)), func(k string) bool {
			return strings.HasPrefix(k, TagClusterPrefix)
		}) {
			continue // tagged for other clusters only
		}
		cur, ok := best[s.AZ]
		if !ok || (tagged(s) && !tagged(cur)) || (tagged(s) == tagged(cur) && s.ID < cur.ID) {
			best[s.AZ] = s
		}
	}
	out := slices.Collect(maps.Values(best))
	slices.SortFunc(out, func(a, b Subnet) int { return cmp.Compare(a.AZ, b.AZ) })
	return out
}

func (o *Observer) describeSubnets(ctx context.Context, filters []ec2types.Filter) ([]Subnet, error) {
	var out []Subnet
	p := ec2.NewDescribeSubnetsPaginator(o.ec2, &ec2.DescribeSubnetsInput{Filters: filters})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe subnets (%s): %w", describeFilters(filters), err)
		}
		for _, s := range page.Subnets {
			sub := Subnet{
				ID:   aws.ToString(s.SubnetId),
				AZ:   aws.ToString(s.AvailabilityZone),
				CIDR: aws.ToString(s.CidrBlock),
				Tags: tagMap(s.Tags),
			}
			for _, a := range s.Ipv6CidrBlockAssociationSet {
				if a.Ipv6CidrBlockState == nil || associated(string(a.Ipv6CidrBlockState.State)) {
					sub.IPv6CIDRs = append(sub.IPv6CIDRs, aws.ToString(a.Ipv6CidrBlock))
				}
			}
			out = append(out, sub)
		}
	}
	return out, nil
}

// VPC returns the CIDR blocks of the configured VPC.
func (o *Observer) VPC(ctx context.Context) (VPC, error) {
	if o.vpcID == "" {
		return VPC{}, fmt.Errorf("describe VPC: no VPC ID configured")
	}
	v, ok, err := o.vpcs.Get(ctx, o.vpcID, false, func(ctx context.Context) (VPC, bool, error) {
		out, err := o.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("vpc-id", o.vpcID)}})
		if err != nil {
			return VPC{}, false, fmt.Errorf("describe VPC %s: %w", o.vpcID, err)
		}
		for _, v := range out.Vpcs {
			if aws.ToString(v.VpcId) == o.vpcID {
				return vpcFromSDK(v), true, nil
			}
		}
		return VPC{}, false, nil
	})
	if err != nil {
		return VPC{}, err
	}
	if !ok {
		return VPC{}, fmt.Errorf("describe VPC %s: not found", o.vpcID)
	}
	return v, nil
}

func vpcFromSDK(v ec2types.Vpc) VPC {
	out := VPC{ID: aws.ToString(v.VpcId)}
	for _, a := range v.CidrBlockAssociationSet {
		if a.CidrBlockState == nil || associated(string(a.CidrBlockState.State)) {
			out.CIDRs = append(out.CIDRs, aws.ToString(a.CidrBlock))
		}
	}
	if len(out.CIDRs) == 0 && v.CidrBlock != nil {
		out.CIDRs = []string{*v.CidrBlock}
	}
	for _, a := range v.Ipv6CidrBlockAssociationSet {
		if a.Ipv6CidrBlockState == nil || associated(string(a.Ipv6CidrBlockState.State)) {
			out.IPv6CIDRs = append(out.IPv6CIDRs, aws.ToString(a.Ipv6CidrBlock))
		}
	}
	return out
}

func associated(state string) bool { return state == "" || state == "associated" }

// Invalidate drops every cached entry for the given IDs (SGs, instances, ENIs, subnets),
// and every cached search whose result contains one of them.
func (o *Observer) Invalidate(ids ...string) {
	if len(ids) == 0 {
		return
	}
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	o.sgs.Invalidate(ids...)
	o.insts.InvalidateIf(func(id string, in Instance) bool {
		return set[id] || slices.ContainsFunc(in.ENIs, func(e ENI) bool { return set[e.ID] })
	})
	o.enis.Invalidate(ids...)
	o.enisByIP.InvalidateIf(func(ip string, e ENI) bool { return set[ip] || set[e.ID] })
	o.searches.InvalidateIf(func(_ string, gs []SecurityGroup) bool {
		return slices.ContainsFunc(gs, func(g SecurityGroup) bool { return set[g.ID] })
	})
	o.subnets.InvalidateIf(func(_ string, ss []Subnet) bool {
		return slices.ContainsFunc(ss, func(s Subnet) bool { return set[s.ID] })
	})
	o.vpcs.Invalidate(ids...)
}

// InvalidateSearches drops every cached SG search (by tags or by Name tag), so that the
// next one sees an SG that was just created, deleted or re-tagged.
func (o *Observer) InvalidateSearches() { o.searches.Clear() }

func (o *Observer) vpcIDs() []string {
	if o.vpcID == "" {
		return nil
	}
	return []string{o.vpcID}
}

func (o *Observer) vpcFilters() []ec2types.Filter {
	if o.vpcID == "" {
		return nil
	}
	return []ec2types.Filter{filter("vpc-id", o.vpcID)}
}

func filter(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String(name), Values: values}
}

// describeFilters renders filters for error messages, eliding long value lists.
func describeFilters(filters []ec2types.Filter) string {
	parts := make([]string, 0, len(filters))
	for _, f := range filters {
		vals := f.Values
		suffix := ""
		if len(vals) > 3 {
			vals, suffix = vals[:3], fmt.Sprintf(",… (%d values)", len(f.Values))
		}
		parts = append(parts, aws.ToString(f.Name)+"="+strings.Join(vals, ",")+suffix)
	}
	return strings.Join(parts, " ")
}

func tagMap(tags []ec2types.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}
