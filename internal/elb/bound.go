package elb

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/lbsg/lbsg/internal/awscache"
)

// BoundTargetGroup is a target group named by a TargetGroupBinding: any target group of
// the region, whatever its name, with what lbsg checks before it registers targets in it.
type BoundTargetGroup struct {
	ARN        string
	Name       string
	TargetType string
	VPCID      string
	Port       int32
	// Protocol and HealthCheckPort (a number, or "traffic-port") say which ports its
	// targets receive traffic on, with their registered ports.
	Protocol        string
	HealthCheckPort string
	Tags            map[string]string
}

// ErrTargetGroupNotFound is returned by BoundTargetGroup when AWS has no target group of
// that ARN.
var ErrTargetGroupNotFound = errors.New("target group not found")

// boundTTL is how long a bound target group's description is trusted: it holds only what
// its owner (outside Kubernetes) rarely changes, and a binding is reconciled on every pod
// and node change.
const boundTTL = awscache.InventoryTTL

func cloneBound(tg BoundTargetGroup) BoundTargetGroup {
	tg.Tags = maps.Clone(tg.Tags)
	return tg
}

// BoundTargetGroup describes one target group by ARN, with its tags: two calls, then
// cached for boundTTL, so reconciling a binding again reads nothing.
func (c *Client) BoundTargetGroup(ctx context.Context, arn string) (BoundTargetGroup, error) {
	tg, _, err := c.bound.Get(ctx, arn, false, func(ctx context.Context) (BoundTargetGroup, bool, error) {
		res, err := c.api.DescribeTargetGroups(ctx, &elasticloadbalancingv2.DescribeTargetGroupsInput{TargetGroupArns: []string{arn}})
		if hasCode(err, codeTargetGroupNotFound) || (err == nil && len(res.TargetGroups) == 0) {
			return BoundTargetGroup{}, false, fmt.Errorf("describe target group %s: %w", arn, ErrTargetGroupNotFound)
		}
		if err != nil {
			return BoundTargetGroup{}, false, fmt.Errorf("describe target group %s: %w", arn, err)
		}
		sdk := res.TargetGroups[0]
		tags, err := c.tags(ctx, []string{arn})
		if err != nil {
			return BoundTargetGroup{}, false, err
		}
		return BoundTargetGroup{ARN: arn, Name: aws.ToString(sdk.TargetGroupName), TargetType: string(sdk.TargetType),
			VPCID: aws.ToString(sdk.VpcId), Port: aws.ToInt32(sdk.Port), Protocol: string(sdk.Protocol),
			HealthCheckPort: aws.ToString(sdk.HealthCheckPort), Tags: tags[arn]}, true, nil
	})
	return tg, err
}

// IsTargetGroupNotFound reports whether AWS answered that a target group does not exist.
func IsTargetGroupNotFound(err error) bool {
	return errors.Is(err, ErrTargetGroupNotFound) || hasCode(err, codeTargetGroupNotFound)
}
