package elb

import (
	"slices"
	"sort"

	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/lbsg/lbsg/internal/state"
)

// Write-through of listeners, rules and targets lbsg creates: the reconciles that follow
// a create (triggered by the owner's finalizer and status updates) find them in the cache
// instead of describing the load balancer again. Only a cached entry is updated; without
// one the write only invalidates, as any other write does.

// wroteListener adds a listener lbsg created (with its default certificate at most) to
// the cached listeners of its load balancer.
func (c *Client) wroteListener(lbARN string, l elbtypes.Listener, tags map[string]string) {
	li := listenerFromSDK(l)
	if len(tags) > 0 {
		li.Tags = cloneTags(tags)
	}
	c.listeners.Update(lbARN, func(ls []state.Listener) []state.Listener {
		ls = slices.DeleteFunc(ls, func(o state.Listener) bool { return o.ARN == li.ARN || o.Port == li.Port })
		ls = append(ls, li)
		sort.Slice(ls, func(i, j int) bool { return ls[i].Port < ls[j].Port })
		return ls
	})
}

// wroteRule adds a rule lbsg created to its listener in the cache.
func (c *Client) wroteRule(lbARN, listenerARN string, r elbtypes.Rule, tags map[string]string) {
	rule, err := ruleFromSDK(r)
	if err != nil {
		c.forget(lbARN)
		return
	}
	if len(tags) > 0 {
		rule.Tags = cloneTags(tags)
	}
	c.listeners.Update(lbARN, func(ls []state.Listener) []state.Listener {
		for i := range ls {
			if ls[i].ARN != listenerARN {
				continue
			}
			ls[i].Rules = slices.DeleteFunc(ls[i].Rules, func(o state.ListenerRule) bool { return o.ARN == rule.ARN })
			ls[i].Rules = append(ls[i].Rules, rule)
			sort.Slice(ls[i].Rules, func(a, b int) bool { return ls[i].Rules[a].Priority < ls[i].Rules[b].Priority })
		}
		return ls
	})
}

// wroteTargets adds targets lbsg registered to (or, with remove, removes those it
// deregistered from) the cached targets of a target group.
func (c *Client) wroteTargets(tgARN string, ts []state.Target, remove bool) {
	c.targets.Update(tgARN, func(have []state.Target) []state.Target {
		have = slices.DeleteFunc(have, func(t state.Target) bool { return slices.Contains(ts, t) })
		if !remove {
			have = append(have, ts...)
		}
		sort.Slice(have, func(i, j int) bool {
			if have[i].ID != have[j].ID {
				return have[i].ID < have[j].ID
			}
			return have[i].Port < have[j].Port
		})
		return have
	})
}

func cloneTags(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
