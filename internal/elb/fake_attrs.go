package elb

import (
	"context"
	"maps"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// The fake keeps attributes as plain maps by ARN: a resource starts with none, and a
// Modify* call sets the keys it names and leaves the others, as ELBv2 does.

func (f *FakeAPI) attrsOf(arn string) map[string]string {
	if f.attrs == nil {
		f.attrs = map[string]map[string]string{}
	}
	if f.attrs[arn] == nil {
		f.attrs[arn] = map[string]string{}
	}
	return f.attrs[arn]
}

// Attributes returns a copy of the attributes of a resource, for tests.
func (f *FakeAPI) Attributes(arn string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.attrsOf(arn))
}

// SetAttribute sets one attribute behind lbsg's back, for tests.
func (f *FakeAPI) SetAttribute(arn, key, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attrsOf(arn)[key] = value
}

func (f *FakeAPI) readAttrs(action, arn string, in any, found bool, notFound error) (map[string]string, error) {
	f.begin(action, in)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !found {
		return nil, notFound
	}
	return maps.Clone(f.attrsOf(arn)), nil
}

func (f *FakeAPI) writeAttrs(action, arn string, in any, found bool, notFound error, kv map[string]string) error {
	f.begin(action, in)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !found {
		return notFound
	}
	maps.Copy(f.attrsOf(arn), kv)
	return nil
}

func (f *FakeAPI) has(arn string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exists(arn)
}

func (f *FakeAPI) DescribeLoadBalancerAttributes(_ context.Context, in *elbv2.DescribeLoadBalancerAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeLoadBalancerAttributesOutput, error) {
	arn := aws.ToString(in.LoadBalancerArn)
	m, err := f.readAttrs("DescribeLoadBalancerAttributes", arn, in, f.has(arn), fakeError(codeLoadBalancerNotFound, "Load balancer not found"))
	if err != nil {
		return nil, err
	}
	out := &elbv2.DescribeLoadBalancerAttributesOutput{}
	for k, v := range m {
		out.Attributes = append(out.Attributes, elbtypes.LoadBalancerAttribute{Key: aws.String(k), Value: aws.String(v)})
	}
	return out, nil
}

func (f *FakeAPI) ModifyLoadBalancerAttributes(_ context.Context, in *elbv2.ModifyLoadBalancerAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyLoadBalancerAttributesOutput, error) {
	arn := aws.ToString(in.LoadBalancerArn)
	kv := map[string]string{}
	for _, a := range in.Attributes {
		kv[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	if err := f.writeAttrs("ModifyLoadBalancerAttributes", arn, in, f.has(arn), fakeError(codeLoadBalancerNotFound, "Load balancer not found"), kv); err != nil {
		return nil, err
	}
	return &elbv2.ModifyLoadBalancerAttributesOutput{Attributes: in.Attributes}, nil
}

func (f *FakeAPI) DescribeTargetGroupAttributes(_ context.Context, in *elbv2.DescribeTargetGroupAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeTargetGroupAttributesOutput, error) {
	arn := aws.ToString(in.TargetGroupArn)
	m, err := f.readAttrs("DescribeTargetGroupAttributes", arn, in, f.has(arn), fakeError(codeTargetGroupNotFound, "Target group not found"))
	if err != nil {
		return nil, err
	}
	out := &elbv2.DescribeTargetGroupAttributesOutput{}
	for k, v := range m {
		out.Attributes = append(out.Attributes, elbtypes.TargetGroupAttribute{Key: aws.String(k), Value: aws.String(v)})
	}
	return out, nil
}

func (f *FakeAPI) ModifyTargetGroupAttributes(_ context.Context, in *elbv2.ModifyTargetGroupAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyTargetGroupAttributesOutput, error) {
	arn := aws.ToString(in.TargetGroupArn)
	kv := map[string]string{}
	for _, a := range in.Attributes {
		kv[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	if err := f.writeAttrs("ModifyTargetGroupAttributes", arn, in, f.has(arn), fakeError(codeTargetGroupNotFound, "Target group not found"), kv); err != nil {
		return nil, err
	}
	return &elbv2.ModifyTargetGroupAttributesOutput{Attributes: in.Attributes}, nil
}

func (f *FakeAPI) DescribeListenerAttributes(_ context.Context, in *elbv2.DescribeListenerAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.DescribeListenerAttributesOutput, error) {
	arn := aws.ToString(in.ListenerArn)
	m, err := f.readAttrs("DescribeListenerAttributes", arn, in, f.has(arn), fakeError("ListenerNotFound", "Listener not found"))
	if err != nil {
		return nil, err
	}
	out := &elbv2.DescribeListenerAttributesOutput{}
	for k, v := range m {
		out.Attributes = append(out.Attributes, elbtypes.ListenerAttribute{Key: aws.String(k), Value: aws.String(v)})
	}
	return out, nil
}

func (f *FakeAPI) ModifyListenerAttributes(_ context.Context, in *elbv2.ModifyListenerAttributesInput, _ ...func(*elbv2.Options)) (*elbv2.ModifyListenerAttributesOutput, error) {
	arn := aws.ToString(in.ListenerArn)
	kv := map[string]string{}
	for _, a := range in.Attributes {
		kv[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	if err := f.writeAttrs("ModifyListenerAttributes", arn, in, f.has(arn), fakeError("ListenerNotFound", "Listener not found"), kv); err != nil {
		return nil, err
	}
	return &elbv2.ModifyListenerAttributesOutput{Attributes: in.Attributes}, nil
}
