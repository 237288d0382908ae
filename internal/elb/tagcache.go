package elb

import (
	"context"
	"maps"
	"slices"
	"sync"
)

// tagCache keeps the tags of every load balancer and target group seen, by ARN, so that
// a fresh read of the inventory (the drift check's, every minute) asks DescribeTags only
// for those it has not seen: tags say whose a resource is, and they change only through
// lbsg's own writes (written through, or forgotten) or by hand, which ForgetTags (every
// --sync-period) catches up with. A read that overlaps a write to an ARN's tags does not
// store them.
type tagCache struct {
	mu      sync.Mutex
	gen     uint64
	written map[string]uint64
	tags    map[string]map[string]string
}

// ForgetTags drops every cached tag set: the next inventory read asks DescribeTags for
// all of them again.
func (c *Client) ForgetTags() {
	c.arnTags.mu.Lock()
	defer c.arnTags.mu.Unlock()
	c.arnTags.gen++
	c.arnTags.tags = nil
	c.arnTags.written = map[string]uint64{"": c.arnTags.gen}
}

// forgetTags drops the cached tags of the given ARNs (after a write to their tags).
func (c *Client) forgetTags(arns ...string) {
	t := &c.arnTags
	t.mu.Lock()
	defer t.mu.Unlock()
	t.wroteLocked(arns...)
}

// wroteLocked drops the cached tags of arns and marks them written now, so that a read in
// flight does not store what it read of them. t.mu is held.
func (t *tagCache) wroteLocked(arns ...string) {
	t.gen++
	if t.written == nil {
		t.written = map[string]uint64{}
	}
	for _, a := range arns {
		delete(t.tags, a)
		t.written[a] = t.gen
	}
	// Past maxWrittenARNs the marks fold into one for every ARN, as the awscache ones do:
	// reads in flight then store nothing, which is always safe, and the marks of every
	// load balancer and target group created and deleted between two ForgetTags (Services
	// come and go as tenants please) do not pile up.
	if len(t.written) > maxWrittenARNs {
		t.written = map[string]uint64{"": t.gen}
	}
}

// maxWrittenARNs bounds the per-ARN write marks kept between two ForgetTags.
const maxWrittenARNs = 1024

// cachedTags returns the tags of arns: cached ones from memory, the others with one
// DescribeTags per 20 ARNs.
func (c *Client) cachedTags(ctx context.Context, arns []string) (map[string]map[string]string, error) {
	t := &c.arnTags
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

// storeTags writes through the tags a resource lbsg just created carries: exactly those it
// was created with.
func (c *Client) storeTags(arn string, tags map[string]string) {
	t := &c.arnTags
	t.mu.Lock()
	defer t.mu.Unlock()
	t.wroteLocked(arn)
	if t.tags == nil {
		t.tags = map[string]map[string]string{}
	}
	t.tags[arn] = maps.Clone(tags)
}

// TargetGroupTags returns the tags of target groups named by ARN, whatever their names (the
// inventory holds only k8s-… ones), through the tag cache: a forward action's target group
// is judged by whose they say it is. ARNs AWS does not know, or refuses as malformed, are
// returned as missing rather than as an error: that is the object's mistake, not AWS's.
func (c *Client) TargetGroupTags(ctx context.Context, arns []string) (tags map[string]map[string]string, missing []string, err error) {
	tags, err = c.cachedTags(ctx, arns)
	if err != nil {
		if !hasCode(err, codeTargetGroupNotFound) && !hasCode(err, codeValidationError) {
			return nil, nil, err
		}
		// One of them is unknown, which fails the whole call: ask for each alone.
		tags = map[string]map[string]string{}
		for _, a := range arns {
			one, err := c.cachedTags(ctx, []string{a})
			switch {
			case hasCode(err, codeTargetGroupNotFound) || hasCode(err, codeValidationError):
			case err != nil:
				return nil, nil, err
			default:
				maps.Copy(tags, one)
			}
		}
	}
	for _, a := range arns {
		if _, ok := tags[a]; !ok && !slices.Contains(missing, a) {
			missing = append(missing, a)
		}
	}
	return tags, missing, nil
}
