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
