package cloud

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Every cache TTL lbsg uses, with its reason. Caches exist only on the observe side; a
// write through the Observer invalidates what it changed, and a fresh read bypasses them.
const (
	// securityGroupTTL: rules and tags of an SG. Short, because drift (a rule someone else
	// added or removed) should be seen within one verification period, and a revoke is
	// always planned from a fresh read anyway. lbsg's own writes invalidate at once.
	securityGroupTTL = 30 * time.Second

	// searchTTL: SG searches by tag or Name tag (which SGs exist). Same as SGs: another
	// controller or a user may create or delete a matching SG; lbsg's own creates, deletes
	// and tag changes drop every cached search.
	searchTTL = 30 * time.Second

	// instanceTTL: an instance and its ENIs (IDs, addresses, groups). Node ENIs and their
	// SGs rarely change after launch, and upstream uses the same 10 minutes.
	instanceTTL = 10 * time.Minute

	// networkInterfaceTTL: ENIs looked up by ID or private IP (ip targets). Same reason as
	// instances; a pod IP that moves to another ENI is a new pod with a new endpoint, which
	// the caller looks up again (and can Invalidate).
	networkInterfaceTTL = 10 * time.Minute

	// subnetTTL: subnets by ID, Name tag or role tags. They change only when someone
	// re-tags the VPC, and the LB's subnets are only re-resolved when its spec changes.
	subnetTTL = 5 * time.Minute

	// vpcTTL: the VPC's CIDR blocks. Associating a CIDR with a VPC is rare, and a late view
	// of a new block only delays rules that use it by this much.
	vpcTTL = 10 * time.Minute
)

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

// ttlCache is a mutex-protected map with a TTL per cache. The lock is never held during
// an AWS call. Concurrent misses for the same key share one fetch (a flight), so N callers
// asking for one SG at once cause one describe.
//
// Invalidation bumps a generation counter; a fetch that started before an invalidation
// does not store its (possibly stale) result.
type ttlCache[V any] struct {
	name    string
	ttl     time.Duration
	clone   func(V) V
	now     func() time.Time
	lookups *prometheus.CounterVec

	mu        sync.Mutex
	gen       uint64
	entries   map[string]cacheEntry[V]
	flights   map[string]*flight[V]
	lastSweep time.Time
}

type cacheEntry[V any] struct {
	v       V
	expires time.Time
}

type flight[V any] struct {
	done chan struct{}
	vals map[string]V
	err  error
}

func newTTLCache[V any](name string, ttl time.Duration, clone func(V) V, lookups *prometheus.CounterVec, now func() time.Time) *ttlCache[V] {
	return &ttlCache[V]{
		name: name, ttl: ttl, clone: clone, now: now, lookups: lookups,
		entries: map[string]cacheEntry[V]{},
		flights: map[string]*flight[V]{},
	}
}

// getMany returns the values for keys. Unless fresh, valid entries and flights in progress
// are used; the remaining keys go to ONE call of fetch. Keys fetch does not return are
// absent from the result and are not cached. Values are copies.
func (c *ttlCache[V]) getMany(ctx context.Context, keys []string, fresh bool, fetch func(context.Context, []string) (map[string]V, error)) (map[string]V, error) {
	out := make(map[string]V, len(keys))
	var toFetch []string
	waits := map[*flight[V]][]string{}

	c.mu.Lock()
	now := c.now()
	for _, k := range dedup(keys) {
		if !fresh {
			if e, ok := c.entries[k]; ok && now.Before(e.expires) {
				out[k] = c.clone(e.v)
				c.count("hit")
				continue
			}
			if f, ok := c.flights[k]; ok {
				waits[f] = append(waits[f], k)
				c.count("hit")
				continue
			}
		}
		c.count("miss")
		toFetch = append(toFetch, k)
	}
	gen := c.gen
	var mine *flight[V]
	if len(toFetch) > 0 {
		mine = &flight[V]{done: make(chan struct{})}
		for _, k := range toFetch {
			c.flights[k] = mine
		}
	}
	c.mu.Unlock()

	if mine != nil {
		vals, err := c.fly(ctx, mine, toFetch, gen, fetch)
		if err != nil {
			return nil, err
		}
		for k, v := range vals {
			out[k] = c.clone(v)
		}
	}

	// Keys whose shared flight failed (for example because its caller's context was
	// cancelled) are fetched again here, in one call.
	var retry []string
	for f, ks := range waits {
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err != nil {
			retry = append(retry, ks...)
			continue
		}
		for _, k := range ks {
			if v, ok := f.vals[k]; ok {
				out[k] = c.clone(v)
			}
		}
	}
	if len(retry) > 0 {
		c.mu.Lock()
		gen := c.gen
		c.mu.Unlock()
		vals, err := fetch(ctx, retry)
		if err != nil {
			return nil, err
		}
		c.store(vals, gen)
		for k, v := range vals {
			out[k] = c.clone(v)
		}
	}
	return out, nil
}

// fly runs fetch for the keys of flight f, stores the result, and lands the flight: even
// if fetch panics, waiters are released (with an error).
func (c *ttlCache[V]) fly(ctx context.Context, f *flight[V], keys []string, gen uint64, fetch func(context.Context, []string) (map[string]V, error)) (vals map[string]V, err error) {
	completed := false
	defer func() {
		ferr := err
		if !completed {
			ferr = errors.New("describe did not complete")
		}
		c.mu.Lock()
		if ferr == nil {
			c.storeLocked(vals, gen)
		}
		for _, k := range keys {
			if c.flights[k] == f {
				delete(c.flights, k)
			}
		}
		c.mu.Unlock()
		f.vals, f.err = vals, ferr
		close(f.done)
	}()
	vals, err = fetch(ctx, keys)
	completed = true
	return vals, err
}

// get is getMany for one key; ok is false when fetch did not return it.
func (c *ttlCache[V]) get(ctx context.Context, key string, fresh bool, fetch func(context.Context) (V, bool, error)) (V, bool, error) {
	m, err := c.getMany(ctx, []string{key}, fresh, func(ctx context.Context, _ []string) (map[string]V, error) {
		v, ok, err := fetch(ctx)
		if err != nil || !ok {
			return nil, err
		}
		return map[string]V{key: v}, nil
	})
	if err != nil {
		var zero V
		return zero, false, err
	}
	v, ok := m[key]
	return v, ok, nil
}

// generation returns the current generation, to pass to store after a fetch done outside
// getMany (values learned as a side effect of another describe).
func (c *ttlCache[V]) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// store caches vals unless the cache was invalidated since generation gen was read.
func (c *ttlCache[V]) store(vals map[string]V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.storeLocked(vals, gen)
}

func (c *ttlCache[V]) storeLocked(vals map[string]V, gen uint64) {
	if gen != c.gen {
		return
	}
	now := c.now()
	if now.Sub(c.lastSweep) > c.ttl {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		c.lastSweep = now
	}
	for k, v := range vals {
		c.entries[k] = cacheEntry[V]{v: c.clone(v), expires: now.Add(c.ttl)}
	}
}

// delete drops keys and stops fetches in flight from storing.
func (c *ttlCache[V]) delete(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, k := range keys {
		delete(c.entries, k)
		delete(c.flights, k)
	}
}

// deleteIf drops every entry for which drop returns true.
func (c *ttlCache[V]) deleteIf(drop func(key string, v V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.entries {
		if drop(k, e.v) {
			delete(c.entries, k)
		}
	}
}

// clear drops everything.
func (c *ttlCache[V]) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
	clear(c.flights)
}

func (c *ttlCache[V]) count(result string) {
	if c.lookups != nil {
		c.lookups.WithLabelValues(c.name, result).Inc()
	}
}

func dedup(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

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
