package elb

import (
	"context"
	"maps"
	"sync"
)

// lbTagCache keeps the tags of every load balancer seen, by ARN, so that a fresh read of
// the inventory (the drift check's, every minute) asks DescribeTags only for load
// balancers it has not seen: tags say whose a load balancer is, and they change only
// through lbsg's own writes (which forget the ARN) or by hand, which ForgetLoadBalancerTags
// (every --sync-period) catches up with. A read that overlaps a write to an ARN's tags
// does not store them.
type lbTagCache struct {
	mu      sync.Mutex
	gen     uint64
	written map[string]uint64
	tags    map[string]map[string]string
}

// ForgetLoadBalancerTags drops every cached load balancer tag set: the next inventory
// read asks DescribeTags for all of them again.
func (c *Client) ForgetLoadBalancerTags() {
	c.lbTags.mu.Lock()
	defer c.lbTags.mu.Unlock()
	c.lbTags.gen++
	c.lbTags.tags = nil
	c.lbTags.written = map[string]uint64{"": c.lbTags.gen}
}

// forgetLBTags drops the cached tags of the given ARNs (after a write to their tags).
func (c *Client) forgetLBTags(arns ...string) {
	t := &c.lbTags
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	if t.written == nil {
		t.written = map[string]uint64{}
	}
	for _, a := range arns {
		delete(t.tags, a)
		t.written[a] = t.gen
	}
}

// loadBalancerTags returns the tags of arns: cached ones from memory, the others with one
// DescribeTags per 20 ARNs.
func (c *Client) loadBalancerTags(ctx context.Context, arns []string) (map[string]map[string]string, error) {
	t := &c.lbTags
	out := map[string]map[string]string{}
	var missing []string
	t.mu.Lock()
	start := t.gen
	for _, a := range arns {
		if tags, ok := t.tags[a]; ok {
			out[a] = maps.Clone(tags)
		} else {
			missing = append(missing, a)
		}
	}
	t.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	read, err := c.tags(ctx, missing)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tags == nil {
		t.tags = map[string]map[string]string{}
	}
	for a, tags := range read {
		out[a] = tags
		if t.written[a] > start || t.written[""] > start {
			continue // a write overlapped the read: what was read may predate it
		}
		t.tags[a] = maps.Clone(tags)
	}
	return out, nil
}
