package elb

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
)

// FakeAPI is an in-memory ELBv2 for unit tests of what moto cannot show deterministically:
// a call held in flight while another runs (Hook). It keeps load balancers, target groups
// and their tags and targets. Like moto, and unlike AWS, it lets two load balancers share a
// name, so that a test can see a duplicate being created. Calls it does not implement
// panic (through the nil embedded API).
type FakeAPI struct {
	API // nil: the calls below are the ones implemented

	// Hook, when set, runs at the start of every call with the action name and the
	// request, before the call takes effect; a test blocks in it to hold a write in flight.
	Hook func(action string, in any)
	// Answered, when set, runs when a describe has read its answer and before it returns
	// it; a test blocks in it to hold a read whose answer is already made.
	Answered func(action string, in any)

	mu      sync.Mutex
	n       int
	lbs     []elbtypes.LoadBalancer
	tgs     []elbtypes.TargetGroup
	tags    map[string][]elbtypes.Tag
	targets map[string][]elbtypes.TargetDescription
	calls   map[string]int
}

var _ API = (*FakeAPI)(nil)

// NewFakeAPI returns an empty FakeAPI.
func NewFakeAPI() *FakeAPI {
	return &FakeAPI{tags: map[string][]elbtypes.Tag{}, targets: map[string][]elbtypes.TargetDescription{}, calls: map[string]int{}}
}

// Calls returns how many times each action was called.
func (f *FakeAPI) Calls() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.calls))
	for k, v := range f.calls {
		out[k] = v
	}
	return out
}

// LoadBalancerNames returns the names of every load balancer, one per load balancer.
func (f *FakeAPI) LoadBalancerNames() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, lb := range f.lbs {
		out = append(out, aws.ToString(lb.LoadBalancerName))
	}
	return out
}

// AddLoadBalancer adds a load balancer with security groups sgs, as if someone else had
// created it; it returns its ARN.
func (f *FakeAPI) AddLoadBalancer(name string, sgs []string, tags map[string]string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addLoadBalancer(name, "network", sgs, sdkTags(tags))
}

func (f *FakeAPI) addLoadBalancer(name, typ string, sgs []string, tags []elbtypes.Tag) string {
	f.n++
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/%s/%016d", name, f.n)
	f.lbs = append(f.lbs, elbtypes.LoadBalancer{LoadBalancerArn: aws.String(arn), LoadBalancerName: aws.String(name),
		Type: elbtypes.LoadBalancerTypeEnum(typ), DNSName: aws.String(name + ".elb.example"), SecurityGroups: slices.Clone(sgs)})
	f.tags[arn] = tags
	return arn
}

func (f *FakeAPI) begin(action string, in any) {
	if f.Hook != nil {
		f.Hook(action, in)
	}
	f.mu.Lock()
	f.calls[action]++
	f.mu.Unlock()
}

func (f *FakeAPI) answered(action string, in any) {
	if f.Answered != nil {
		f.Answered(action, in)
	}
}

func fakeError(code, msg string) error { return &smithy.GenericAPIError{Code: code, Message: msg} }

func (f *FakeAPI) DescribeLoadBalancers(_ context.Context, in *elbv2.DescribeLoadBalancersInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error) {
	f.begin("DescribeLoadBalancers", in)
	f.mu.Lock()
	var out []elbtypes.LoadBalancer
	for _, lb := range f.lbs {
		if len(in.Names) == 0 || slices.Contains(in.Names, aws.ToString(lb.LoadBalancerName)) {
			out = append(out, lb)
		}
	}
	if len(in.Names) > 0 && len(out) == 0 {
		f.mu.Unlock()
		return nil, fakeError(codeLoadBalancerNotFound, "One or more load balancers not found")
	}
	f.mu.Unlock()
	f.answered("DescribeLoadBalancers", in)
	return &elbv2.DescribeLoadBalancersOutput{LoadBalancers: out}, nil
}

func (f *FakeAPI) DescribeTargetGroups(_ context.Context, in *elbv2.DescribeTargetGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupsOutput, error) {
	f.begin("DescribeTargetGroups", in)
	f.mu.Lock()
	var out []elbtypes.TargetGroup
	for _, tg := range f.tgs {
		if len(in.Names) == 0 || slices.Contains(in.Names, aws.ToString(tg.TargetGroupName)) {
			out = append(out, tg)
		}
	}
	if len(in.Names) > 0 && len(out) == 0 {
		f.mu.Unlock()
		return nil, fakeError(codeTargetGroupNotFound, "One or more target groups not found")
	}
	f.mu.Unlock()
	f.answered("DescribeTargetGroups", in)
	return &elbv2.DescribeTargetGroupsOutput{TargetGroups: out}, nil
}

func (f *FakeAPI) DescribeTags(_ context.Context, in *elbv2.DescribeTagsInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTagsOutput, error) {
	f.begin("DescribeTags", in)
	f.mu.Lock()
	out := &elbv2.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		out.TagDescriptions = append(out.TagDescriptions, elbtypes.TagDescription{ResourceArn: aws.String(arn), Tags: slices.Clone(f.tags[arn])})
	}
	f.mu.Unlock()
	f.answered("DescribeTags", in)
	return out, nil
}

func (f *FakeAPI) DescribeListeners(_ context.Context, in *elbv2.DescribeListenersInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeListenersOutput, error) {
	f.begin("DescribeListeners", in)
	return &elbv2.DescribeListenersOutput{}, nil
}

func (f *FakeAPI) DescribeTargetHealth(_ context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	f.begin("DescribeTargetHealth", in)
	f.mu.Lock()
	out := &elbv2.DescribeTargetHealthOutput{}
	for _, t := range f.targets[aws.ToString(in.TargetGroupArn)] {
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{Target: &t})
	}
	f.mu.Unlock()
	f.answered("DescribeTargetHealth", in)
	return out, nil
}

func (f *FakeAPI) CreateLoadBalancer(_ context.Context, in *elbv2.CreateLoadBalancerInput, _ ...func(*elbv2.Options)) (*elbv2.CreateLoadBalancerOutput, error) {
	f.begin("CreateLoadBalancer", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addLoadBalancer(aws.ToString(in.Name), string(in.Type), in.SecurityGroups, in.Tags)
	return &elbv2.CreateLoadBalancerOutput{LoadBalancers: []elbtypes.LoadBalancer{f.lbs[len(f.lbs)-1]}}, nil
}

func (f *FakeAPI) DeleteLoadBalancer(_ context.Context, in *elbv2.DeleteLoadBalancerInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteLoadBalancerOutput, error) {
	f.begin("DeleteLoadBalancer", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lbs = slices.DeleteFunc(f.lbs, func(lb elbtypes.LoadBalancer) bool {
		return aws.ToString(lb.LoadBalancerArn) == aws.ToString(in.LoadBalancerArn)
	})
	return &elbv2.DeleteLoadBalancerOutput{}, nil
}

func (f *FakeAPI) CreateTargetGroup(_ context.Context, in *elbv2.CreateTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.CreateTargetGroupOutput, error) {
	f.begin("CreateTargetGroup", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, tg := range f.tgs {
		if aws.ToString(tg.TargetGroupName) == aws.ToString(in.Name) {
			return nil, fakeError(codeDuplicateTargetGroup, "A target group with the same name exists")
		}
	}
	f.n++
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/%s/%016d", aws.ToString(in.Name), f.n)
	tg := elbtypes.TargetGroup{TargetGroupArn: aws.String(arn), TargetGroupName: in.Name, Protocol: in.Protocol, Port: in.Port,
		TargetType: in.TargetType, HealthCheckProtocol: in.HealthCheckProtocol, HealthCheckPort: in.HealthCheckPort, HealthCheckPath: in.HealthCheckPath}
	f.tgs = append(f.tgs, tg)
	f.tags[arn] = in.Tags
	return &elbv2.CreateTargetGroupOutput{TargetGroups: []elbtypes.TargetGroup{tg}}, nil
}

func (f *FakeAPI) RegisterTargets(_ context.Context, in *elbv2.RegisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error) {
	f.begin("RegisterTargets", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.TargetGroupArn)
	f.targets[arn] = append(f.targets[arn], in.Targets...)
	return &elbv2.RegisterTargetsOutput{}, nil
}

func (f *FakeAPI) AddTags(_ context.Context, in *elbv2.AddTagsInput, _ ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error) {
	f.begin("AddTags", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, arn := range in.ResourceArns {
		tags := slices.DeleteFunc(slices.Clone(f.tags[arn]), func(t elbtypes.Tag) bool {
			return slices.ContainsFunc(in.Tags, func(n elbtypes.Tag) bool { return aws.ToString(n.Key) == aws.ToString(t.Key) })
		})
		f.tags[arn] = append(tags, in.Tags...)
	}
	return &elbv2.AddTagsOutput{}, nil
}

func (f *FakeAPI) SetSecurityGroups(_ context.Context, in *elbv2.SetSecurityGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.SetSecurityGroupsOutput, error) {
	f.begin("SetSecurityGroups", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.lbs {
		if aws.ToString(f.lbs[i].LoadBalancerArn) == aws.ToString(in.LoadBalancerArn) {
			f.lbs[i].SecurityGroups = slices.Clone(in.SecurityGroups)
			return &elbv2.SetSecurityGroupsOutput{SecurityGroupIds: slices.Clone(in.SecurityGroups)}, nil
		}
	}
	return nil, fakeError(codeLoadBalancerNotFound, "One or more load balancers not found")
}
