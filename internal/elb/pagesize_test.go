package elb

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// TestInventoryAsksForFullPages: the inventory of load balancers and target groups asks
// ELBv2 for its largest page (400), so that a cluster's drift check costs one call per 400
// load balancers, not per the API's smaller default page.
func TestInventoryAsksForFullPages(t *testing.T) {
	api := NewFakeAPI()
	var sizes []int32
	api.Answered = func(action string, in any) {
		switch in := in.(type) {
		case *elbv2.DescribeLoadBalancersInput:
			sizes = append(sizes, aws.ToInt32(in.PageSize))
		case *elbv2.DescribeTargetGroupsInput:
			sizes = append(sizes, aws.ToInt32(in.PageSize))
		}
	}
	c := New(api)
	if _, err := c.LoadBalancers(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TargetGroups(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 2 || sizes[0] != maxPageSize || sizes[1] != maxPageSize {
		t.Errorf("page sizes asked = %v, want [%d %d]", sizes, maxPageSize, maxPageSize)
	}
}
