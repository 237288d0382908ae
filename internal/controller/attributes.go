package controller

import (
	"context"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"

	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/spec"
)

// readAttributes reads the attributes of the stack's existing load balancer, target groups
// and listeners that the desired state sets attributes on, into obs. A stack that sets none
// costs no call. It reports whether it read anything, so that the caller plans again.
func (e *Engine) readAttributes(ctx context.Context, sp *StackPlan, obs *plan.Observed) (bool, error) {
	d := sp.Stack
	if d == nil {
		return false, nil
	}
	read := false
	get := func(kind, arn string) error {
		if obs.Attributes == nil {
			obs.Attributes = map[string]map[string]string{}
		}
		if _, done := obs.Attributes[arn]; done {
			return nil
		}
		m, err := e.ELB.Attributes(ctx, kind, arn)
		if err != nil {
			return err
		}
		obs.Attributes[arn] = m
		read = true
		return nil
	}
	if len(d.LoadBalancer.Attributes) > 0 {
		for _, lb := range obs.LoadBalancers {
			if lb.Name == d.LoadBalancer.Name {
				if err := get(elb.AttrLoadBalancer, lb.ARN); err != nil {
					return false, err
				}
			}
		}
	}
	for _, tg := range d.TargetGroups {
		if len(tg.Attributes) == 0 {
			continue
		}
		for _, have := range obs.TargetGroups {
			if have.Name == tg.Name && have.Tags[d.ResourceTag] == tg.ResourceID {
				if err := get(elb.AttrTargetGroup, have.ARN); err != nil {
					return false, err
				}
			}
		}
	}
	for _, l := range d.Listeners {
		if len(l.Attributes) == 0 {
			continue
		}
		for _, lb := range obs.LoadBalancers {
			if lb.Name != d.LoadBalancer.Name {
				continue
			}
			for _, have := range obs.Listeners[lb.ARN] {
				if have.Port == l.Port {
					if err := get(elb.AttrListener, have.ARN); err != nil {
						return false, err
					}
				}
			}
		}
	}
	return read, nil
}

// classParamsAttrs copies spec.subnets and spec.loadBalancerAttributes of an
// IngressClassParams.
func classParamsAttrs(cp *spec.ClassParams, p *elbv2api.IngressClassParams) {
	if s := p.Spec.Subnets; s != nil {
		cp.Subnets = s.IDs
		cp.SubnetTags = s.Tags
	}
	if len(p.Spec.LoadBalancerAttributes) > 0 {
		cp.LoadBalancerAttributes = map[string]string{}
		for _, a := range p.Spec.LoadBalancerAttributes {
			cp.LoadBalancerAttributes[a.Key] = a.Value
		}
	}
}
