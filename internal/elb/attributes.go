package elb

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// cacheAttributes is the "cache" label of the attribute reads.
const cacheAttributes = "attributes"

// Kinds of resources that have attributes.
const (
	AttrLoadBalancer = "load-balancer"
	AttrTargetGroup  = "target-group"
	AttrListener     = "listener"
)

// Attributes reads the attributes of a load balancer, target group or listener (kind is
// one of AttrLoadBalancer, AttrTargetGroup, AttrListener), cached by ARN: one Describe*
// call per resource, made only for the stacks that set attributes.
func (c *Client) Attributes(ctx context.Context, kind, arn string) (map[string]string, error) {
	m, _, err := c.attrs.Get(ctx, arn, false, func(ctx context.Context) (map[string]string, bool, error) {
		m, err := c.describeAttributes(ctx, kind, arn)
		return m, err == nil, err
	})
	return m, err
}

func (c *Client) describeAttributes(ctx context.Context, kind, arn string) (map[string]string, error) {
	var attrs []elbtypes.LoadBalancerAttribute
	var err error
	switch kind {
	case AttrLoadBalancer:
		var res *elbv2.DescribeLoadBalancerAttributesOutput
		if res, err = c.api.DescribeLoadBalancerAttributes(ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(arn)}); err == nil {
			attrs = res.Attributes
		}
	case AttrTargetGroup:
		var res *elbv2.DescribeTargetGroupAttributesOutput
		if res, err = c.api.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(arn)}); err == nil {
			for _, a := range res.Attributes {
				attrs = append(attrs, elbtypes.LoadBalancerAttribute{Key: a.Key, Value: a.Value})
			}
		}
	case AttrListener:
		var res *elbv2.DescribeListenerAttributesOutput
		if res, err = c.api.DescribeListenerAttributes(ctx, &elbv2.DescribeListenerAttributesInput{ListenerArn: aws.String(arn)}); err == nil {
			for _, a := range res.Attributes {
				attrs = append(attrs, elbtypes.LoadBalancerAttribute{Key: a.Key, Value: a.Value})
			}
		}
	default:
		return nil, fmt.Errorf("no attributes for %s %s", kind, arn)
	}
	if err != nil {
		return nil, fmt.Errorf("describe attributes of %s %s: %w", kind, arn, err)
	}
	out := map[string]string{}
	for _, a := range attrs {
		out[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	return out, nil
}

// SetAttributes writes the given attributes, and only those, on a load balancer, target
// group or listener. created says the resource was just created and attrs are all the
// attributes the user set on it.
func (c *Client) SetAttributes(ctx context.Context, kind, arn string, attrs map[string]string, created bool) error {
	keys := slices.Sorted(maps.Keys(attrs))
	var err error
	switch kind {
	case AttrLoadBalancer:
		in := &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(arn)}
		for _, k := range keys {
			in.Attributes = append(in.Attributes, elbtypes.LoadBalancerAttribute{Key: aws.String(k), Value: aws.String(attrs[k])})
		}
		_, err = c.api.ModifyLoadBalancerAttributes(ctx, in)
	case AttrTargetGroup:
		in := &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn)}
		for _, k := range keys {
			in.Attributes = append(in.Attributes, elbtypes.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(attrs[k])})
		}
		_, err = c.api.ModifyTargetGroupAttributes(ctx, in)
	case AttrListener:
		in := &elbv2.ModifyListenerAttributesInput{ListenerArn: aws.String(arn)}
		for _, k := range keys {
			in.Attributes = append(in.Attributes, elbtypes.ListenerAttribute{Key: aws.String(k), Value: aws.String(attrs[k])})
		}
		_, err = c.api.ModifyListenerAttributes(ctx, in)
	default:
		return fmt.Errorf("no attributes for %s %s", kind, arn)
	}
	if err != nil {
		c.attrs.Invalidate(arn)
		return fmt.Errorf("modify attributes %v of %s %s: %w", keys, kind, arn, err)
	}
	// Written through: a cached reading gets the new values. A resource just created has no
	// reading; the keys written are then every key the planner compares, so they alone are
	// cached and the next reconcile reads nothing. Otherwise the next reconcile reads again.
	written := false
	c.attrs.Update(arn, func(m map[string]string) map[string]string {
		written = true
		if m == nil {
			m = map[string]string{}
		}
		maps.Copy(m, attrs)
		return m
	})
	if !written && created {
		c.attrs.Store(map[string]map[string]string{arn: maps.Clone(attrs)}, c.attrs.Generation())
	}
	return nil
}
