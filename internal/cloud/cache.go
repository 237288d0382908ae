package cloud

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbsg/lbsg/internal/awscache"
)

// The EC2 caches are awscache.Cache values (TTLs and their reasons are in
// awscache/ttl.go); this file names them and copies their values.

// Cache names, the "cache" label of lbsg_aws_cache_lookups_total.
const (
	cacheSecurityGroup    = "security_group"
	cacheSearch           = "security_group_search"
	cacheInstance         = "instance"
	cacheNetworkInterface = "network_interface"
	cacheENIByIP          = "network_interface_by_ip"
	cacheSubnet           = "subnet"
	cacheVPC              = "vpc"
)

// LookupCounter returns lbsg_aws_cache_lookups_total registered with reg (if any), for the
// ELB client's caches to count into as the observer's do.
func LookupCounter(reg prometheus.Registerer) *prometheus.CounterVec { return newLookupCounter(reg) }

// newLookupCounter builds lbsg_aws_cache_lookups_total and registers it with reg (if any).
func newLookupCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbsg_aws_cache_lookups_total",
		Help: "Lookups in lbsg's AWS observe caches by cache and result (hit or miss). A lookup that joins a describe already in flight counts as a hit.",
	}, []string{"cache", "result"})
	if c2, err := register(reg, c); err == nil {
		return c2
	}
	return c
}

func dedup(keys []string) []string { return awscache.Dedup(keys) }

// Copies of cached values: callers may modify what they get.

func cloneSecurityGroup(g SecurityGroup) SecurityGroup {
	g.Tags = cloneMap(g.Tags)
	g.Ingress = slices.Clone(g.Ingress)
	return g
}

func cloneSecurityGroups(gs []SecurityGroup) []SecurityGroup {
	out := make([]SecurityGroup, len(gs))
	for i, g := range gs {
		out[i] = cloneSecurityGroup(g)
	}
	return out
}

func cloneENI(e ENI) ENI {
	e.SecurityGroups = slices.Clone(e.SecurityGroups)
	e.PrivateIPs = slices.Clone(e.PrivateIPs)
	e.IPv6s = slices.Clone(e.IPv6s)
	e.Prefixes = slices.Clone(e.Prefixes)
	return e
}

func cloneInstance(i Instance) Instance {
	i.PrimaryENI = cloneENI(i.PrimaryENI)
	if i.ENIs != nil {
		enis := make([]ENI, len(i.ENIs))
		for j, e := range i.ENIs {
			enis[j] = cloneENI(e)
		}
		i.ENIs = enis
	}
	return i
}

func cloneSubnets(ss []Subnet) []Subnet {
	out := make([]Subnet, len(ss))
	for i, s := range ss {
		s.IPv6CIDRs = slices.Clone(s.IPv6CIDRs)
		s.Tags = cloneMap(s.Tags)
		out[i] = s
	}
	return out
}

func cloneVPC(v VPC) VPC {
	v.CIDRs = slices.Clone(v.CIDRs)
	v.IPv6CIDRs = slices.Clone(v.IPv6CIDRs)
	return v
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
