package elb

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// The FakeAPI's listeners, rules and the writes on existing resources that the stack path
// makes: enough for a reconciler to create, change and delete an NLB or an ALB with HTTP
// listeners and path rules on the fake.

func (f *FakeAPI) CreateListener(_ context.Context, in *elbv2.CreateListenerInput, _ ...func(*elbv2.Options)) (*elbv2.CreateListenerOutput, error) {
	f.begin("CreateListener", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	arn := fmt.Sprintf("%s/listener/%016d", aws.ToString(in.LoadBalancerArn), f.n)
	l := elbtypes.Listener{ListenerArn: aws.String(arn), LoadBalancerArn: in.LoadBalancerArn, Port: in.Port,
		Protocol: in.Protocol, DefaultActions: slices.Clone(in.DefaultActions), Certificates: slices.Clone(in.Certificates)}
	f.listeners = append(f.listeners, l)
	f.tags[arn] = slices.Clone(in.Tags)
	return &elbv2.CreateListenerOutput{Listeners: []elbtypes.Listener{l}}, nil
}

func (f *FakeAPI) ModifyListener(_ context.Context, in *elbv2.ModifyListenerInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyListenerOutput, error) {
	f.begin("ModifyListener", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, l := range f.listeners {
		if aws.ToString(l.ListenerArn) != aws.ToString(in.ListenerArn) {
			continue
		}
		if in.Protocol != "" {
			f.listeners[i].Protocol = in.Protocol
		}
		if in.DefaultActions != nil {
			f.listeners[i].DefaultActions = slices.Clone(in.DefaultActions)
		}
		return &elbv2.ModifyListenerOutput{Listeners: []elbtypes.Listener{f.listeners[i]}}, nil
	}
	return nil, fakeError("ListenerNotFound", "listener not found")
}

func (f *FakeAPI) DeleteListener(_ context.Context, in *elbv2.DeleteListenerInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteListenerOutput, error) {
	f.begin("DeleteListener", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.ListenerArn)
	f.listeners = slices.DeleteFunc(f.listeners, func(l elbtypes.Listener) bool { return aws.ToString(l.ListenerArn) == arn })
	f.rules = slices.DeleteFunc(f.rules, func(r elbtypes.Rule) bool { return f.ruleListener[aws.ToString(r.RuleArn)] == arn })
	return &elbv2.DeleteListenerOutput{}, nil
}

func (f *FakeAPI) DescribeRules(_ context.Context, in *elbv2.DescribeRulesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeRulesOutput, error) {
	f.begin("DescribeRules", in)
	f.mu.Lock()
	out := &elbv2.DescribeRulesOutput{}
	for _, r := range f.rules {
		if f.ruleListener[aws.ToString(r.RuleArn)] == aws.ToString(in.ListenerArn) {
			out.Rules = append(out.Rules, r)
		}
	}
	f.mu.Unlock()
	f.answered("DescribeRules", in)
	return out, nil
}

func (f *FakeAPI) CreateRule(_ context.Context, in *elbv2.CreateRuleInput, _ ...func(*elbv2.Options)) (*elbv2.CreateRuleOutput, error) {
	f.begin("CreateRule", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	arn := fmt.Sprintf("%s/rule/%016d", aws.ToString(in.ListenerArn), f.n)
	r := elbtypes.Rule{RuleArn: aws.String(arn), Priority: aws.String(strconv.Itoa(int(aws.ToInt32(in.Priority)))),
		Conditions: slices.Clone(in.Conditions), Actions: slices.Clone(in.Actions), IsDefault: aws.Bool(false)}
	f.rules = append(f.rules, r)
	if f.ruleListener == nil {
		f.ruleListener = map[string]string{}
	}
	f.ruleListener[arn] = aws.ToString(in.ListenerArn)
	f.tags[arn] = slices.Clone(in.Tags)
	return &elbv2.CreateRuleOutput{Rules: []elbtypes.Rule{r}}, nil
}

func (f *FakeAPI) ModifyRule(_ context.Context, in *elbv2.ModifyRuleInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyRuleOutput, error) {
	f.begin("ModifyRule", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if aws.ToString(r.RuleArn) == aws.ToString(in.RuleArn) {
			f.rules[i].Conditions, f.rules[i].Actions = slices.Clone(in.Conditions), slices.Clone(in.Actions)
			return &elbv2.ModifyRuleOutput{Rules: []elbtypes.Rule{f.rules[i]}}, nil
		}
	}
	return nil, fakeError("RuleNotFound", "rule not found")
}

func (f *FakeAPI) DeleteRule(_ context.Context, in *elbv2.DeleteRuleInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteRuleOutput, error) {
	f.begin("DeleteRule", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = slices.DeleteFunc(f.rules, func(r elbtypes.Rule) bool { return aws.ToString(r.RuleArn) == aws.ToString(in.RuleArn) })
	return &elbv2.DeleteRuleOutput{}, nil
}

func (f *FakeAPI) SetSecurityGroups(_ context.Context, in *elbv2.SetSecurityGroupsInput, _ ...func(*elbv2.Options)) (*elbv2.SetSecurityGroupsOutput, error) {
	f.begin("SetSecurityGroups", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, lb := range f.lbs {
		if aws.ToString(lb.LoadBalancerArn) == aws.ToString(in.LoadBalancerArn) {
			f.lbs[i].SecurityGroups = slices.Clone(in.SecurityGroups)
			return &elbv2.SetSecurityGroupsOutput{SecurityGroupIds: slices.Clone(in.SecurityGroups)}, nil
		}
	}
	return nil, fakeError(codeLoadBalancerNotFound, "load balancer not found")
}

func (f *FakeAPI) ModifyTargetGroup(_ context.Context, in *elbv2.ModifyTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupOutput, error) {
	f.begin("ModifyTargetGroup", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, tg := range f.tgs {
		if aws.ToString(tg.TargetGroupArn) == aws.ToString(in.TargetGroupArn) {
			f.tgs[i].HealthCheckProtocol, f.tgs[i].HealthCheckPort, f.tgs[i].HealthCheckPath = in.HealthCheckProtocol, in.HealthCheckPort, in.HealthCheckPath
			return &elbv2.ModifyTargetGroupOutput{TargetGroups: []elbtypes.TargetGroup{f.tgs[i]}}, nil
		}
	}
	return nil, fakeError(codeTargetGroupNotFound, "target group not found")
}

func (f *FakeAPI) DeleteTargetGroup(_ context.Context, in *elbv2.DeleteTargetGroupInput, _ ...func(*elbv2.Options)) (*elbv2.DeleteTargetGroupOutput, error) {
	f.begin("DeleteTargetGroup", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.TargetGroupArn)
	f.tgs = slices.DeleteFunc(f.tgs, func(tg elbtypes.TargetGroup) bool { return aws.ToString(tg.TargetGroupArn) == arn })
	delete(f.targets, arn)
	delete(f.tags, arn)
	return &elbv2.DeleteTargetGroupOutput{}, nil
}

func (f *FakeAPI) DeregisterTargets(_ context.Context, in *elbv2.DeregisterTargetsInput, _ ...func(*elbv2.Options)) (*elbv2.DeregisterTargetsOutput, error) {
	f.begin("DeregisterTargets", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.TargetGroupArn)
	f.targets[arn] = slices.DeleteFunc(f.targets[arn], func(t elbtypes.TargetDescription) bool {
		return slices.ContainsFunc(in.Targets, func(d elbtypes.TargetDescription) bool {
			return aws.ToString(d.Id) == aws.ToString(t.Id) && aws.ToInt32(d.Port) == aws.ToInt32(t.Port)
		})
	})
	return &elbv2.DeregisterTargetsOutput{}, nil
}

func (f *FakeAPI) AddTags(_ context.Context, in *elbv2.AddTagsInput, _ ...func(*elbv2.Options)) (*elbv2.AddTagsOutput, error) {
	f.begin("AddTags", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, arn := range in.ResourceArns {
		for _, t := range in.Tags {
			f.tags[arn] = slices.DeleteFunc(f.tags[arn], func(o elbtypes.Tag) bool { return aws.ToString(o.Key) == aws.ToString(t.Key) })
			f.tags[arn] = append(f.tags[arn], t)
		}
	}
	return &elbv2.AddTagsOutput{}, nil
}

func (f *FakeAPI) RemoveTags(_ context.Context, in *elbv2.RemoveTagsInput, _ ...func(*elbv2.Options)) (*elbv2.RemoveTagsOutput, error) {
	f.begin("RemoveTags", in)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, arn := range in.ResourceArns {
		f.tags[arn] = slices.DeleteFunc(f.tags[arn], func(o elbtypes.Tag) bool { return slices.Contains(in.TagKeys, aws.ToString(o.Key)) })
	}
	return &elbv2.RemoveTagsOutput{}, nil
}
