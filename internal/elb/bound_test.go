package elb

import (
	"context"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Tagging a bound target group writes its tags through: the binding's next look reads
// nothing, and the inventory (which does not hold it) is not read again either.
func TestTagWritesABoundTargetGroupThrough(t *testing.T) {
	ctx := context.Background()
	api := NewFakeAPI()
	arn := "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/terraform/1"
	api.PutTargetGroup(elbtypes.TargetGroup{TargetGroupArn: aws.String(arn), TargetGroupName: aws.String("terraform"),
		VpcId: aws.String("vpc-1"), TargetType: elbtypes.TargetTypeEnumIp}, map[string]string{"team": "a"})
	c := New(api)
	if _, err := c.BoundTargetGroup(ctx, arn); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TargetGroups(ctx, false); err != nil {
		t.Fatal(err)
	}
	before := maps.Clone(api.Calls())
	if err := c.Tag(ctx, arn, map[string]string{"claim": "team-a/web"}, []string{"team"}); err != nil {
		t.Fatal(err)
	}
	tg, err := c.BoundTargetGroup(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.TargetGroups(ctx, false); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(tg.Tags, map[string]string{"claim": "team-a/web"}) {
		t.Errorf("tags %v after the write", tg.Tags)
	}
	after := api.Calls()
	for _, read := range []string{"DescribeTargetGroups", "DescribeTags"} {
		if after[read] != before[read] {
			t.Errorf("%s called %d more times after the write", read, after[read]-before[read])
		}
	}
}
