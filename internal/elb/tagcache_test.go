package elb

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
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

// unknownTagsAPI answers DescribeTags as AWS does when one ARN of the request is unknown
// (the fake, like moto, answers with no tags): the whole call fails.
type unknownTagsAPI struct {
	*FakeAPI
	unknown map[string]string // ARN → the error code AWS gives for it
}

func (a unknownTagsAPI) DescribeTags(ctx context.Context, in *elasticloadbalancingv2.DescribeTagsInput, opts ...func(*elasticloadbalancingv2.Options)) (*elasticloadbalancingv2.DescribeTagsOutput, error) {
	for _, arn := range in.ResourceArns {
		if code, ok := a.unknown[arn]; ok {
			return nil, fakeError(code, "unknown "+arn)
		}
	}
	return a.FakeAPI.DescribeTags(ctx, in, opts...)
}

// TestTargetGroupTagsReadsAnyTargetGroupOnce: target groups named by ARN, k8s-… or not,
// get their tags from DescribeTags through the tag cache (read once); an ARN AWS does not
// know, or refuses, is missing, not an error.
func TestTargetGroupTagsReadsAnyTargetGroupOnce(t *testing.T) {
	ctx := context.Background()
	fake := NewFakeAPI()
	ext := "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/ext/1"
	theirs := "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/k8s-teamb-api-0123456789/2"
	fake.tags[ext] = sdkTags(map[string]string{"team": "platform"})
	fake.tags[theirs] = sdkTags(map[string]string{"elbv2.k8s.aws/cluster": "prod", "service.k8s.aws/stack": "team-b/api"})
	gone := "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/gone/3"
	api := unknownTagsAPI{FakeAPI: fake, unknown: map[string]string{gone: codeTargetGroupNotFound, "garbage": codeValidationError}}
	c := New(api)
	tags, missing, err := c.TargetGroupTags(ctx, []string{ext, theirs, gone, "garbage"})
	if err != nil {
		t.Fatal(err)
	}
	if tags[ext]["team"] != "platform" || tags[theirs]["service.k8s.aws/stack"] != "team-b/api" || len(tags) != 2 {
		t.Errorf("tags = %v", tags)
	}
	if fmt.Sprint(missing) != fmt.Sprint([]string{gone, "garbage"}) {
		t.Errorf("missing = %v, want %s and garbage", missing, gone)
	}
	before := fake.Calls()["DescribeTags"]
	if tags, missing, err = c.TargetGroupTags(ctx, []string{ext, theirs}); err != nil || len(tags) != 2 || len(missing) != 0 {
		t.Fatalf("second read: %v %v %v", tags, missing, err)
	}
	if n := fake.Calls()["DescribeTags"] - before; n != 0 {
		t.Errorf("second read: DescribeTags = %d, want 0 (cached)", n)
	}
	api.unknown[ext] = "Throttling"
	c = New(api)
	if _, _, err := c.TargetGroupTags(ctx, []string{ext}); err == nil {
		t.Error("a throttled read must be an error, not a missing target group")
	}
}
