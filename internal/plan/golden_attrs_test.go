package plan_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/state"
)

// seedHealthSettings puts an observed target group's health-check settings beyond
// protocol, port and path on its SDK form.
func seedHealthSettings(sdk *elbtypes.TargetGroup, tg state.TargetGroup) {
	opt := func(v int32) *int32 {
		if v == 0 {
			return nil
		}
		return aws.Int32(v)
	}
	hc := tg.HealthCheck
	sdk.HealthCheckIntervalSeconds, sdk.HealthCheckTimeoutSeconds = opt(hc.Interval), opt(hc.Timeout)
	sdk.HealthyThresholdCount, sdk.UnhealthyThresholdCount = opt(hc.Healthy), opt(hc.Unhealthy)
	if hc.SuccessCodes != "" {
		sdk.Matcher = &elbtypes.Matcher{HttpCode: aws.String(hc.SuccessCodes)}
	}
	if tg.ProtocolVersion != "" {
		sdk.ProtocolVersion = aws.String(tg.ProtocolVersion)
	}
}

// readAttributes reads the attributes of every load balancer, target group and listener
// of the world, keeping those that have some (the fake starts every resource with none).
func readAttributes(t *testing.T, w *world, o *plan.Observed) {
	t.Helper()
	ctx := context.Background()
	put := func(kind, arn string) {
		m, err := w.elb.Attributes(ctx, kind, arn)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			return
		}
		if o.Attributes == nil {
			o.Attributes = map[string]map[string]string{}
		}
		o.Attributes[arn] = m
	}
	for _, lb := range o.LoadBalancers {
		put(elb.AttrLoadBalancer, lb.ARN)
		for _, l := range o.Listeners[lb.ARN] {
			put(elb.AttrListener, l.ARN)
		}
	}
	for _, tg := range o.TargetGroups {
		put(elb.AttrTargetGroup, tg.ARN)
	}
}
