package elb

import (
	"context"
	"fmt"
	"testing"
)

// TestFreshInventoryReadAsksTagsOnlyForNewLoadBalancers: a fresh read of 50 load balancers
// costs one DescribeLoadBalancers and no DescribeTags once their tags are known; a new
// load balancer costs one DescribeTags; a tag write makes its ARN be read again.
func TestFreshInventoryReadAsksTagsOnlyForNewLoadBalancers(t *testing.T) {
	ctx := context.Background()
	api := NewFakeAPI()
	var arns []string
	for i := range 50 {
		arns = append(arns, api.AddLoadBalancer(fmt.Sprintf("k8s-lb-%d", i), nil, map[string]string{"k": "v"}))
	}
	c := New(api)
	if _, err := c.LoadBalancers(ctx, true); err != nil {
		t.Fatal(err)
	}
	if n := api.Calls()["DescribeTags"]; n != 3 {
		t.Fatalf("first read: DescribeTags = %d, want 3 (20 ARNs per call)", n)
	}
	before := api.Calls()
	lbs, err := c.LoadBalancers(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := api.Calls()["DescribeTags"] - before["DescribeTags"]; got != 0 {
		t.Errorf("second fresh read: DescribeTags = %d, want 0", got)
	}
	if got := api.Calls()["DescribeLoadBalancers"] - before["DescribeLoadBalancers"]; got != 1 {
		t.Errorf("second fresh read: DescribeLoadBalancers = %d, want 1", got)
	}
	for _, lb := range lbs {
		if lb.Tags["k"] != "v" {
			t.Fatalf("%s lost its tags: %v", lb.Name, lb.Tags)
		}
	}
	api.AddLoadBalancer("k8s-new", nil, map[string]string{"k": "new"})
	if err := c.Tag(ctx, arns[0], map[string]string{"k": "changed"}, nil); err != nil {
		t.Fatal(err)
	}
	before = api.Calls()
	lbs, err = c.LoadBalancers(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := api.Calls()["DescribeTags"] - before["DescribeTags"]; got != 1 {
		t.Errorf("after a new load balancer and a tag write: DescribeTags = %d, want 1", got)
	}
	for _, lb := range lbs {
		if lb.ARN == arns[0] && lb.Tags["k"] != "changed" {
			t.Errorf("tag written by lbsg not seen: %v", lb.Tags)
		}
		if lb.Name == "k8s-new" && lb.Tags["k"] != "new" {
			t.Errorf("new load balancer's tags: %v", lb.Tags)
		}
	}
}

// TestCreatedResourcesAndTargetGroupsNeedNoDescribeTags: the tags of a load balancer and a
// target group lbsg created are known from the create; fresh reads of either inventory
// then ask DescribeTags for nothing, and a second fresh read of 30 target groups asks
// only DescribeTargetGroups.
func TestCreatedResourcesAndTargetGroupsNeedNoDescribeTags(t *testing.T) {
	ctx := context.Background()
	api := NewFakeAPI()
	c := New(api)
	for i := range 30 {
		if _, _, err := c.CreateTargetGroup(ctx, TargetGroupInput{Name: fmt.Sprintf("k8s-tg-%d", i), Protocol: "TCP", TargetType: "instance",
			VPCID: "vpc-1", Port: 80, Tags: map[string]string{"elbv2.k8s.aws/cluster": "c1"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.CreateLoadBalancer(ctx, CreateLoadBalancerInput{Name: "k8s-lb", Type: "network", Scheme: "internal",
		IPAddressType: "ipv4", Subnets: []string{"subnet-1"}, Tags: map[string]string{"elbv2.k8s.aws/cluster": "c1"}}); err != nil {
		t.Fatal(err)
	}
	before := api.Calls()
	tgs, err := c.TargetGroups(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	lbs, err := c.LoadBalancers(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := api.Calls()["DescribeTags"] - before["DescribeTags"]; got != 0 {
		t.Errorf("fresh inventory reads after lbsg's creates: DescribeTags = %d, want 0", got)
	}
	if len(tgs) != 30 || tgs[0].Tags["elbv2.k8s.aws/cluster"] != "c1" || len(lbs) != 1 || lbs[0].Tags["elbv2.k8s.aws/cluster"] != "c1" {
		t.Errorf("inventories = %d target groups (first tags %v), %d load balancers; want 30 and 1, tagged", len(tgs), tgs[0].Tags, len(lbs))
	}
}

// The write marks of load balancers and target groups created and deleted between two
// ForgetTags are bounded, and tags read after they fold are cached as before.
func TestTagWriteMarksDoNotGrowWithChurn(t *testing.T) {
	ctx := context.Background()
	api := NewFakeAPI()
	arn := api.AddLoadBalancer("k8s-lb-kept", nil, map[string]string{"k": "v"})
	c := New(api)
	for i := range 5000 {
		c.forgetTags(fmt.Sprintf("arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/k8s-%d/x", i))
	}
	if n := len(c.arnTags.written); n > maxWrittenARNs+1 {
		t.Errorf("%d write marks after 5000 writes, want at most %d", n, maxWrittenARNs+1)
	}
	for range 2 {
		if _, err := c.LoadBalancers(ctx, true); err != nil {
			t.Fatal(err)
		}
	}
	if n := api.Calls()["DescribeTags"]; n != 1 {
		t.Errorf("DescribeTags = %d over two fresh reads, want 1: the tags of %s were not cached", n, arn)
	}
}
