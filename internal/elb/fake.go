package elb

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"

	"github.com/lbsg/lbsg/internal/cloud"
)

// FakeAPI is the in-memory ELBv2 of unit tests: every call of API, on load balancers,
// target groups, listeners (with their certificates), rules, targets and tags, answered
// from state the calls change, as AWS would for lbsg's requests. It also shows what moto
// cannot show deterministically: a call held in flight while another runs (Hook,
// Answered). Like moto, and unlike AWS, it lets two load balancers share a name, so that a
// test can see a duplicate being created. Missing resources answer AWS's NotFound codes,
// a duplicate listener port or rule priority is refused, and a target group a listener or
// rule forwards to cannot be deleted (ResourceInUse). The Put methods seed it with SDK
// values. It is safe for concurrent use.
type FakeAPI struct {
	// Hook, when set, runs at the start of every call with the action name and the
	// request, before the call takes effect; a test blocks in it to hold a write in flight.
	Hook func(action string, in any)
	// Answered, when set, runs when a describe has read its answer and before it returns
	// it; a test blocks in it to hold a read whose answer is already made.
	Answered func(action string, in any)

	mu        sync.Mutex
	n         int
	lbs       []elbtypes.LoadBalancer
	tgs       []elbtypes.TargetGroup
	listeners []*fakeListener
	tags      map[string][]elbtypes.Tag
	targets   map[string][]elbtypes.TargetDescription
	calls     map[string]int
	attrs     map[string]map[string]string // by ARN, see fake_attrs.go
	// health by target ID: what DescribeTargetHealth reports (healthy when unset, as moto)
	health map[string]elbtypes.TargetHealth
}

// SetTargetHealth makes DescribeTargetHealth report h for target id in every target group.
func (f *FakeAPI) SetTargetHealth(id string, h elbtypes.TargetHealth) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.health == nil {
		f.health = map[string]elbtypes.TargetHealth{}
	}
	f.health[id] = h
}

// fakeListener is a listener with every certificate (the default one marked IsDefault)
// and its non-default rules.
type fakeListener struct {
	lb       string
	listener elbtypes.Listener
	certs    []elbtypes.Certificate
	rules    []elbtypes.Rule
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
	return maps.Clone(f.calls)
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

// AddLoadBalancer adds a network load balancer with security groups sgs, as if someone
// else had created it; it returns its ARN.
func (f *FakeAPI) AddLoadBalancer(name string, sgs []string, tags map[string]string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addLoadBalancer(&elbv2.CreateLoadBalancerInput{Name: aws.String(name), Type: elbtypes.LoadBalancerTypeEnumNetwork,
		SecurityGroups: sgs, Tags: sdkTags(tags)})
}

// PutLoadBalancer seeds a load balancer exactly as given (its ARN included) with tags.
func (f *FakeAPI) PutLoadBalancer(lb elbtypes.LoadBalancer, tags map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lbs = append(f.lbs, lb)
	f.tags[aws.ToString(lb.LoadBalancerArn)] = sdkTags(tags)
}

// PutTargetGroup seeds a target group exactly as given with tags.
func (f *FakeAPI) PutTargetGroup(tg elbtypes.TargetGroup, tags map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tgs = append(f.tgs, tg)
	f.tags[aws.ToString(tg.TargetGroupArn)] = sdkTags(tags)
}

// PutTargets seeds the targets registered in a target group.
func (f *FakeAPI) PutTargets(tgARN string, targets []elbtypes.TargetDescription) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.targets[tgARN] = append(f.targets[tgARN], targets...)
}

// PutListener seeds a listener of its load balancer (l.LoadBalancerArn) with tags.
// l.Certificates lists all its certificates; the default one is marked IsDefault, or is
// the first.
func (f *FakeAPI) PutListener(l elbtypes.Listener, tags map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	certs := slices.Clone(l.Certificates)
	if len(certs) > 0 && !slices.ContainsFunc(certs, func(c elbtypes.Certificate) bool { return aws.ToBool(c.IsDefault) }) {
		certs[0].IsDefault = aws.Bool(true)
	}
	f.listeners = append(f.listeners, &fakeListener{lb: aws.ToString(l.LoadBalancerArn), listener: l, certs: certs})
	f.tags[aws.ToString(l.ListenerArn)] = sdkTags(tags)
}

// PutRule seeds a non-default rule of a listener with tags.
func (f *FakeAPI) PutRule(listenerARN string, r elbtypes.Rule, tags map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.listener(listenerARN)
	if l == nil {
		return fmt.Errorf("fake: no listener %s", listenerARN)
	}
	l.rules = append(l.rules, r)
	f.tags[aws.ToString(r.RuleArn)] = sdkTags(tags)
	return nil
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

// The lookups below are called with f.mu held.

func (f *FakeAPI) loadBalancer(arn string) *elbtypes.LoadBalancer {
	for i := range f.lbs {
		if aws.ToString(f.lbs[i].LoadBalancerArn) == arn {
			return &f.lbs[i]
		}
	}
	return nil
}

func (f *FakeAPI) targetGroup(arn string) *elbtypes.TargetGroup {
	for i := range f.tgs {
		if aws.ToString(f.tgs[i].TargetGroupArn) == arn {
			return &f.tgs[i]
		}
	}
	return nil
}

func (f *FakeAPI) listener(arn string) *fakeListener {
	for _, l := range f.listeners {
		if aws.ToString(l.listener.ListenerArn) == arn {
			return l
		}
	}
	return nil
}

// rule returns the listener holding rule arn and the rule's index there.
func (f *FakeAPI) rule(arn string) (*fakeListener, int) {
	for _, l := range f.listeners {
		for i, r := range l.rules {
			if aws.ToString(r.RuleArn) == arn {
				return l, i
			}
		}
	}
	return nil, -1
}

// exists reports whether arn names a load balancer, target group, listener or rule.
func (f *FakeAPI) exists(arn string) bool {
	l, _ := f.rule(arn)
	return f.loadBalancer(arn) != nil || f.targetGroup(arn) != nil || f.listener(arn) != nil || l != nil
}

// childARN is the ARN of a listener (or rule) of the load balancer (or listener) parent,
// in AWS's form: the parent's path with the kind replaced and an ID appended.
func (f *FakeAPI) childARN(parent, parentKind, kind string) string {
	f.n++
	return fmt.Sprintf("%s/%016d", strings.Replace(parent, ":"+parentKind+"/", ":"+kind+"/", 1), f.n)
}

func lbPathType(typ elbtypes.LoadBalancerTypeEnum) string {
	if typ == elbtypes.LoadBalancerTypeEnumApplication {
		return "app"
	}
	return "net"
}

func forwardsTo(actions []elbtypes.Action, tgARN string) bool {
	for _, a := range actions {
		if a.Type == elbtypes.ActionTypeEnumForward && forwardTarget(a) == tgARN {
			return true
		}
		if a.ForwardConfig != nil {
			for _, tg := range a.ForwardConfig.TargetGroups {
				if aws.ToString(tg.TargetGroupArn) == tgARN {
					return true
				}
			}
		}
	}
	return false
}

// defaultSSLPolicy is the policy AWS gives an HTTPS or TLS listener created without one.
const defaultSSLPolicy = "ELBSecurityPolicy-2016-08"

func securedProtocol(p elbtypes.ProtocolEnum) bool {
	return p == elbtypes.ProtocolEnumHttps || p == elbtypes.ProtocolEnumTls
}

func (f *FakeAPI) DescribeLoadBalancers(_ context.Context, in *elbv2.DescribeLoadBalancersInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancersOutput, error) {
	f.begin("DescribeLoadBalancers", in)
	f.mu.Lock()
	var out []elbtypes.LoadBalancer
	for _, lb := range f.lbs {
		if (len(in.Names) == 0 || slices.Contains(in.Names, aws.ToString(lb.LoadBalancerName))) &&
			(len(in.LoadBalancerArns) == 0 || slices.Contains(in.LoadBalancerArns, aws.ToString(lb.LoadBalancerArn))) {
			out = append(out, lb)
		}
	}
	if (len(in.Names) > 0 || len(in.LoadBalancerArns) > 0) && len(out) == 0 {
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
		if (len(in.Names) == 0 || slices.Contains(in.Names, aws.ToString(tg.TargetGroupName))) &&
			(len(in.TargetGroupArns) == 0 || slices.Contains(in.TargetGroupArns, aws.ToString(tg.TargetGroupArn))) {
			out = append(out, tg)
		}
	}
	if (len(in.Names) > 0 || len(in.TargetGroupArns) > 0) && len(out) == 0 {
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
	f.mu.Lock()
	lbARN := aws.ToString(in.LoadBalancerArn)
	if lbARN != "" && f.loadBalancer(lbARN) == nil {
		f.mu.Unlock()
		return nil, fakeError(codeLoadBalancerNotFound, "Load balancer not found")
	}
	out := &elbv2.DescribeListenersOutput{}
	for _, l := range f.listeners {
		if (lbARN == "" || l.lb == lbARN) && (len(in.ListenerArns) == 0 || slices.Contains(in.ListenerArns, aws.ToString(l.listener.ListenerArn))) {
			li := l.listener
			// AWS names only the default certificate here.
			li.Certificates = nil
			for _, c := range l.certs {
				if aws.ToBool(c.IsDefault) {
					li.Certificates = []elbtypes.Certificate{{CertificateArn: c.CertificateArn}}
				}
			}
			out.Listeners = append(out.Listeners, li)
		}
	}
	f.mu.Unlock()
	f.answered("DescribeListeners", in)
	return out, nil
}

func (f *FakeAPI) DescribeListenerCertificates(_ context.Context, in *elbv2.DescribeListenerCertificatesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeListenerCertificatesOutput, error) {
	f.begin("DescribeListenerCertificates", in)
	f.mu.Lock()
	l := f.listener(aws.ToString(in.ListenerArn))
	if l == nil {
		f.mu.Unlock()
		return nil, fakeError(cloud.CodeListenerNotFound, "Listener not found")
	}
	out := &elbv2.DescribeListenerCertificatesOutput{Certificates: slices.Clone(l.certs)}
	f.mu.Unlock()
	f.answered("DescribeListenerCertificates", in)
	return out, nil
}

func (f *FakeAPI) DescribeRules(_ context.Context, in *elbv2.DescribeRulesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error) {
	f.begin("DescribeRules", in)
	f.mu.Lock()
	l := f.listener(aws.ToString(in.ListenerArn))
	if l == nil {
		f.mu.Unlock()
		return nil, fakeError(cloud.CodeListenerNotFound, "Listener not found")
	}
	// AWS lists the listener's default action as its last rule, of priority "default".
	out := &elbv2.DescribeRulesOutput{Rules: append(slices.Clone(l.rules), elbtypes.Rule{
		RuleArn: aws.String(aws.ToString(l.listener.ListenerArn) + "/default"), Priority: aws.String("default"),
		IsDefault: aws.Bool(true), Actions: slices.Clone(l.listener.DefaultActions)})}
	f.mu.Unlock()
	f.answered("DescribeRules", in)
	return out, nil
}

func (f *FakeAPI) DescribeTargetHealth(_ context.Context, in *elbv2.DescribeTargetHealthInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetHealthOutput, error) {
	f.begin("DescribeTargetHealth", in)
	f.mu.Lock()
	out := &elbv2.DescribeTargetHealthOutput{}
	for _, t := range f.targets[aws.ToString(in.TargetGroupArn)] {
		h, ok := f.health[aws.ToString(t.Id)]
		if !ok {
			h = elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumHealthy}
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{Target: &t, TargetHealth: &h})
	}
	f.mu.Unlock()
	f.answered("DescribeTargetHealth", in)
	return out, nil
}

func (f *FakeAPI) CreateLoadBalancer(_ context.Context, in *elbv2.CreateLoadBalancerInput, _ ...func(*elbv2.Options)) (*elbv2.CreateLoadBalancerOutput, error) {
	f.begin("CreateLoadBalancer", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addLoadBalancer(in)
	return &elbv2.CreateLoadBalancerOutput{LoadBalancers: []elbtypes.LoadBalancer{f.lbs[len(f.lbs)-1]}}, nil
}

func (f *FakeAPI) addLoadBalancer(in *elbv2.CreateLoadBalancerInput) string {
	f.n++
	name := aws.ToString(in.Name)
	arn := fmt.Sprintf("arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/%s/%s/%016d", lbPathType(in.Type), name, f.n)
	lb := elbtypes.LoadBalancer{LoadBalancerArn: aws.String(arn), LoadBalancerName: aws.String(name), Type: in.Type,
		Scheme: in.Scheme, IpAddressType: in.IpAddressType, DNSName: aws.String(name + ".elb.example"), SecurityGroups: slices.Clone(in.SecurityGroups)}
	for _, s := range in.Subnets {
		lb.AvailabilityZones = append(lb.AvailabilityZones, elbtypes.AvailabilityZone{SubnetId: aws.String(s)})
	}
	f.lbs = append(f.lbs, lb)
	f.tags[arn] = slices.Clone(in.Tags)
	return arn
}

func (f *FakeAPI) DeleteLoadBalancer(_ context.Context, in *elbv2.DeleteLoadBalancerInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteLoadBalancerOutput, error) {
	f.begin("DeleteLoadBalancer", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.LoadBalancerArn)
	f.lbs = slices.DeleteFunc(f.lbs, func(lb elbtypes.LoadBalancer) bool { return aws.ToString(lb.LoadBalancerArn) == arn })
	// Its listeners and their rules go with it.
	f.listeners = slices.DeleteFunc(f.listeners, func(l *fakeListener) bool {
		if l.lb != arn {
			return false
		}
		delete(f.tags, aws.ToString(l.listener.ListenerArn))
		for _, r := range l.rules {
			delete(f.tags, aws.ToString(r.RuleArn))
		}
		return true
	})
	delete(f.tags, arn)
	return &elbv2.DeleteLoadBalancerOutput{}, nil
}

func (f *FakeAPI) SetSecurityGroups(_ context.Context, in *elbv2.SetSecurityGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.SetSecurityGroupsOutput, error) {
	f.begin("SetSecurityGroups", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	lb := f.loadBalancer(aws.ToString(in.LoadBalancerArn))
	if lb == nil {
		return nil, fakeError(codeLoadBalancerNotFound, "Load balancer not found")
	}
	lb.SecurityGroups = slices.Clone(in.SecurityGroups)
	if in.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic != "" {
		lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic = aws.String(string(in.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic))
	}
	return &elbv2.SetSecurityGroupsOutput{SecurityGroupIds: slices.Clone(in.SecurityGroups),
		EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: elbtypes.EnforceSecurityGroupInboundRulesOnPrivateLinkTrafficEnum(aws.ToString(lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic))}, nil
}

func (f *FakeAPI) SetSubnets(_ context.Context, in *elbv2.SetSubnetsInput, _ ...func(*elbv2.Options)) (*elbv2.SetSubnetsOutput, error) {
	f.begin("SetSubnets", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	lb := f.loadBalancer(aws.ToString(in.LoadBalancerArn))
	if lb == nil {
		return nil, fakeError(codeLoadBalancerNotFound, "Load balancer not found")
	}
	lb.AvailabilityZones = nil
	for _, s := range in.Subnets {
		lb.AvailabilityZones = append(lb.AvailabilityZones, elbtypes.AvailabilityZone{SubnetId: aws.String(s)})
	}
	return &elbv2.SetSubnetsOutput{AvailabilityZones: slices.Clone(lb.AvailabilityZones)}, nil
}

func (f *FakeAPI) SetIpAddressType(_ context.Context, in *elbv2.SetIpAddressTypeInput, _ ...func(*elbv2.Options)) (*elbv2.SetIpAddressTypeOutput, error) {
	f.begin("SetIpAddressType", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	lb := f.loadBalancer(aws.ToString(in.LoadBalancerArn))
	if lb == nil {
		return nil, fakeError(codeLoadBalancerNotFound, "Load balancer not found")
	}
	lb.IpAddressType = in.IpAddressType
	return &elbv2.SetIpAddressTypeOutput{IpAddressType: in.IpAddressType}, nil
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
		TargetType: in.TargetType, VpcId: in.VpcId, HealthCheckProtocol: in.HealthCheckProtocol, HealthCheckPort: in.HealthCheckPort, HealthCheckPath: in.HealthCheckPath,
		HealthCheckIntervalSeconds: in.HealthCheckIntervalSeconds, HealthCheckTimeoutSeconds: in.HealthCheckTimeoutSeconds,
		HealthyThresholdCount: in.HealthyThresholdCount, UnhealthyThresholdCount: in.UnhealthyThresholdCount, Matcher: in.Matcher, ProtocolVersion: in.ProtocolVersion}
	f.tgs = append(f.tgs, tg)
	f.tags[arn] = slices.Clone(in.Tags)
	return &elbv2.CreateTargetGroupOutput{TargetGroups: []elbtypes.TargetGroup{tg}}, nil
}

func (f *FakeAPI) ModifyTargetGroup(_ context.Context, in *elbv2.ModifyTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupOutput, error) {
	f.begin("ModifyTargetGroup", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	tg := f.targetGroup(aws.ToString(in.TargetGroupArn))
	if tg == nil {
		return nil, fakeError(codeTargetGroupNotFound, "Target group not found")
	}
	if in.HealthCheckProtocol != "" {
		tg.HealthCheckProtocol = in.HealthCheckProtocol
	}
	if in.HealthCheckPort != nil {
		tg.HealthCheckPort = in.HealthCheckPort
	}
	if in.HealthCheckPath != nil {
		tg.HealthCheckPath = in.HealthCheckPath
	}
	for dst, src := range map[**int32]*int32{&tg.HealthCheckIntervalSeconds: in.HealthCheckIntervalSeconds, &tg.HealthCheckTimeoutSeconds: in.HealthCheckTimeoutSeconds,
		&tg.HealthyThresholdCount: in.HealthyThresholdCount, &tg.UnhealthyThresholdCount: in.UnhealthyThresholdCount} {
		if src != nil {
			*dst = src
		}
	}
	if in.Matcher != nil {
		tg.Matcher = in.Matcher
	}
	return &elbv2.ModifyTargetGroupOutput{TargetGroups: []elbtypes.TargetGroup{*tg}}, nil
}

func (f *FakeAPI) DeleteTargetGroup(_ context.Context, in *elbv2.DeleteTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error) {
	f.begin("DeleteTargetGroup", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.TargetGroupArn)
	for _, l := range f.listeners {
		inUse := forwardsTo(l.listener.DefaultActions, arn)
		for _, r := range l.rules {
			inUse = inUse || forwardsTo(r.Actions, arn)
		}
		if inUse {
			return nil, fakeError(cloud.CodeResourceInUse, fmt.Sprintf("Target group '%s' is currently in use by a listener or a rule", arn))
		}
	}
	f.tgs = slices.DeleteFunc(f.tgs, func(tg elbtypes.TargetGroup) bool { return aws.ToString(tg.TargetGroupArn) == arn })
	delete(f.targets, arn)
	delete(f.tags, arn)
	return &elbv2.DeleteTargetGroupOutput{}, nil
}

func (f *FakeAPI) CreateListener(_ context.Context, in *elbv2.CreateListenerInput, _ ...func(*elbv2.Options)) (*elbv2.CreateListenerOutput, error) {
	f.begin("CreateListener", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	lbARN := aws.ToString(in.LoadBalancerArn)
	if f.loadBalancer(lbARN) == nil {
		return nil, fakeError(codeLoadBalancerNotFound, "Load balancer not found")
	}
	for _, l := range f.listeners {
		if l.lb == lbARN && aws.ToInt32(l.listener.Port) == aws.ToInt32(in.Port) {
			return nil, fakeError("DuplicateListener", "A listener already exists on this port for this load balancer")
		}
	}
	li := elbtypes.Listener{ListenerArn: aws.String(f.childARN(lbARN, "loadbalancer", "listener")), LoadBalancerArn: in.LoadBalancerArn,
		Port: in.Port, Protocol: in.Protocol, DefaultActions: slices.Clone(in.DefaultActions), SslPolicy: in.SslPolicy,
		AlpnPolicy: slices.Clone(in.AlpnPolicy)}
	if securedProtocol(in.Protocol) && li.SslPolicy == nil {
		li.SslPolicy = aws.String(defaultSSLPolicy)
	}
	l := &fakeListener{lb: lbARN, listener: li}
	if len(in.Certificates) > 0 {
		l.certs = []elbtypes.Certificate{{CertificateArn: in.Certificates[0].CertificateArn, IsDefault: aws.Bool(true)}}
	}
	f.listeners = append(f.listeners, l)
	f.tags[aws.ToString(li.ListenerArn)] = slices.Clone(in.Tags)
	// AWS answers with the listener's default certificate.
	if len(l.certs) > 0 {
		li.Certificates = []elbtypes.Certificate{{CertificateArn: l.certs[0].CertificateArn}}
	}
	return &elbv2.CreateListenerOutput{Listeners: []elbtypes.Listener{li}}, nil
}

func (f *FakeAPI) ModifyListener(_ context.Context, in *elbv2.ModifyListenerInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyListenerOutput, error) {
	f.begin("ModifyListener", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.listener(aws.ToString(in.ListenerArn))
	if l == nil {
		return nil, fakeError(cloud.CodeListenerNotFound, "Listener not found")
	}
	li := &l.listener
	if in.Port != nil {
		li.Port = in.Port
	}
	if in.Protocol != "" {
		li.Protocol = in.Protocol
	}
	if in.SslPolicy != nil {
		li.SslPolicy = in.SslPolicy
	}
	if in.AlpnPolicy != nil {
		li.AlpnPolicy = slices.Clone(in.AlpnPolicy)
	}
	switch {
	case !securedProtocol(li.Protocol):
		li.SslPolicy = nil
	case li.SslPolicy == nil:
		li.SslPolicy = aws.String(defaultSSLPolicy)
	}
	if len(in.Certificates) > 0 {
		// The default certificate is replaced; the others stay, as in AWS.
		l.certs = slices.DeleteFunc(l.certs, func(c elbtypes.Certificate) bool {
			return aws.ToBool(c.IsDefault) || aws.ToString(c.CertificateArn) == aws.ToString(in.Certificates[0].CertificateArn)
		})
		l.certs = append([]elbtypes.Certificate{{CertificateArn: in.Certificates[0].CertificateArn, IsDefault: aws.Bool(true)}}, l.certs...)
	}
	if in.DefaultActions != nil {
		li.DefaultActions = slices.Clone(in.DefaultActions)
	}
	return &elbv2.ModifyListenerOutput{Listeners: []elbtypes.Listener{*li}}, nil
}

func (f *FakeAPI) DeleteListener(_ context.Context, in *elbv2.DeleteListenerInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteListenerOutput, error) {
	f.begin("DeleteListener", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.ListenerArn)
	l := f.listener(arn)
	if l == nil {
		return nil, fakeError(cloud.CodeListenerNotFound, "Listener not found")
	}
	for _, r := range l.rules {
		delete(f.tags, aws.ToString(r.RuleArn))
	}
	delete(f.tags, arn)
	f.listeners = slices.DeleteFunc(f.listeners, func(o *fakeListener) bool { return o == l })
	return &elbv2.DeleteListenerOutput{}, nil
}

func (f *FakeAPI) AddListenerCertificates(_ context.Context, in *elbv2.AddListenerCertificatesInput, _ ...func(*elbv2.Options)) (*elbv2.AddListenerCertificatesOutput, error) {
	f.begin("AddListenerCertificates", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.listener(aws.ToString(in.ListenerArn))
	if l == nil {
		return nil, fakeError(cloud.CodeListenerNotFound, "Listener not found")
	}
	for _, c := range in.Certificates {
		if !slices.ContainsFunc(l.certs, func(h elbtypes.Certificate) bool {
			return aws.ToString(h.CertificateArn) == aws.ToString(c.CertificateArn)
		}) {
			l.certs = append(l.certs, elbtypes.Certificate{CertificateArn: c.CertificateArn, IsDefault: aws.Bool(false)})
		}
	}
	return &elbv2.AddListenerCertificatesOutput{Certificates: slices.Clone(l.certs)}, nil
}

func (f *FakeAPI) RemoveListenerCertificates(_ context.Context, in *elbv2.RemoveListenerCertificatesInput, _ ...func(*elbv2.Options)) (*elbv2.RemoveListenerCertificatesOutput, error) {
	f.begin("RemoveListenerCertificates", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.listener(aws.ToString(in.ListenerArn))
	if l == nil {
		return nil, fakeError(cloud.CodeListenerNotFound, "Listener not found")
	}
	for _, c := range in.Certificates {
		l.certs = slices.DeleteFunc(l.certs, func(h elbtypes.Certificate) bool {
			return !aws.ToBool(h.IsDefault) && aws.ToString(h.CertificateArn) == aws.ToString(c.CertificateArn)
		})
	}
	return &elbv2.RemoveListenerCertificatesOutput{}, nil
}

func (f *FakeAPI) CreateRule(_ context.Context, in *elbv2.CreateRuleInput, _ ...func(*elbv2.Options)) (*elbv2.CreateRuleOutput, error) {
	f.begin("CreateRule", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.listener(aws.ToString(in.ListenerArn))
	if l == nil {
		return nil, fakeError(cloud.CodeListenerNotFound, "Listener not found")
	}
	prio := fmt.Sprint(aws.ToInt32(in.Priority))
	for _, r := range l.rules {
		if aws.ToString(r.Priority) == prio {
			return nil, fakeError("PriorityInUse", "Priority '"+prio+"' is currently in use")
		}
	}
	r := elbtypes.Rule{RuleArn: aws.String(f.childARN(aws.ToString(in.ListenerArn), "listener", "listener-rule")), Priority: aws.String(prio),
		IsDefault: aws.Bool(false), Conditions: slices.Clone(in.Conditions), Actions: slices.Clone(in.Actions)}
	l.rules = append(l.rules, r)
	f.tags[aws.ToString(r.RuleArn)] = slices.Clone(in.Tags)
	return &elbv2.CreateRuleOutput{Rules: []elbtypes.Rule{r}}, nil
}

func (f *FakeAPI) ModifyRule(_ context.Context, in *elbv2.ModifyRuleInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyRuleOutput, error) {
	f.begin("ModifyRule", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	l, i := f.rule(aws.ToString(in.RuleArn))
	if l == nil {
		return nil, fakeError(cloud.CodeRuleNotFound, "Rule not found")
	}
	if in.Conditions != nil {
		l.rules[i].Conditions = slices.Clone(in.Conditions)
	}
	if in.Actions != nil {
		l.rules[i].Actions = slices.Clone(in.Actions)
	}
	return &elbv2.ModifyRuleOutput{Rules: []elbtypes.Rule{l.rules[i]}}, nil
}

func (f *FakeAPI) DeleteRule(_ context.Context, in *elbv2.DeleteRuleInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error) {
	f.begin("DeleteRule", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.RuleArn)
	l, i := f.rule(arn)
	if l == nil {
		return nil, fakeError(cloud.CodeRuleNotFound, "Rule not found")
	}
	l.rules = slices.Delete(l.rules, i, i+1)
	delete(f.tags, arn)
	return &elbv2.DeleteRuleOutput{}, nil
}

func sameTarget(a, b elbtypes.TargetDescription) bool {
	return aws.ToString(a.Id) == aws.ToString(b.Id) && aws.ToInt32(a.Port) == aws.ToInt32(b.Port)
}

func (f *FakeAPI) RegisterTargets(_ context.Context, in *elbv2.RegisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.RegisterTargetsOutput, error) {
	f.begin("RegisterTargets", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.TargetGroupArn)
	for _, t := range in.Targets {
		// Registering a registered target changes nothing, as in AWS.
		if !slices.ContainsFunc(f.targets[arn], func(h elbtypes.TargetDescription) bool { return sameTarget(h, t) }) {
			f.targets[arn] = append(f.targets[arn], t)
		}
	}
	return &elbv2.RegisterTargetsOutput{}, nil
}

func (f *FakeAPI) DeregisterTargets(_ context.Context, in *elbv2.DeregisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error) {
	f.begin("DeregisterTargets", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.TargetGroupArn)
	if f.targetGroup(arn) == nil {
		return nil, fakeError(codeTargetGroupNotFound, "Target group not found")
	}
	f.targets[arn] = slices.DeleteFunc(f.targets[arn], func(h elbtypes.TargetDescription) bool {
		return slices.ContainsFunc(in.Targets, func(t elbtypes.TargetDescription) bool { return sameTarget(h, t) })
	})
	return &elbv2.DeregisterTargetsOutput{}, nil
}

func (f *FakeAPI) AddTags(_ context.Context, in *elbv2.AddTagsInput, _ ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error) {
	f.begin("AddTags", in)
	return &elbv2.AddTagsOutput{}, f.editTags(in.ResourceArns, func(m map[string]string) {
		for _, t := range in.Tags {
			m[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	})
}

func (f *FakeAPI) RemoveTags(_ context.Context, in *elbv2.RemoveTagsInput, _ ...func(*elbv2.Options)) (*elbv2.RemoveTagsOutput, error) {
	f.begin("RemoveTags", in)
	return &elbv2.RemoveTagsOutput{}, f.editTags(in.ResourceArns, func(m map[string]string) {
		for _, k := range in.TagKeys {
			delete(m, k)
		}
	})
}

// editTags applies edit to the tags of every resource of arns, all or none: one that does
// not exist fails the call, as in AWS.
func (f *FakeAPI) editTags(arns []string, edit func(map[string]string)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, arn := range arns {
		if !f.exists(arn) {
			return fakeError(codeLoadBalancerNotFound, "Resource not found: "+arn)
		}
	}
	for _, arn := range arns {
		m := tagsMap(f.tags[arn])
		edit(m)
		f.tags[arn] = sdkTags(m)
	}
	return nil
}

func tagsMap(tags []elbtypes.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}
