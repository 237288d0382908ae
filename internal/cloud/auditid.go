package cloud

import (
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// resourceID names the resource an AWS write changed, for the audit line: the ID a create
// returned, else the ID or ARN the request names. EC2 and ELBv2 name the resource a
// write acts on in a small set of input fields, so reading those covers every write lbsg
// makes (and any it may add) without a list of actions to keep up to date.
func resourceID(input, output any) string {
	switch o := output.(type) {
	case *ec2.CreateSecurityGroupOutput:
		return aws.ToString(o.GroupId)
	case *elbv2.CreateLoadBalancerOutput:
		if len(o.LoadBalancers) > 0 {
			return aws.ToString(o.LoadBalancers[0].LoadBalancerArn)
		}
	case *elbv2.CreateTargetGroupOutput:
		if len(o.TargetGroups) > 0 {
			return aws.ToString(o.TargetGroups[0].TargetGroupArn)
		}
	case *elbv2.CreateListenerOutput:
		if len(o.Listeners) > 0 {
			return aws.ToString(o.Listeners[0].ListenerArn)
		}
	case *elbv2.CreateRuleOutput:
		if len(o.Rules) > 0 {
			return aws.ToString(o.Rules[0].RuleArn)
		}
	}
	return inputResource(input)
}

// resourceFields are the input fields that name the resource of a write, most specific
// first (CreateListener names its load balancer, ModifyRule its rule).
var resourceFields = []string{"RuleArn", "ListenerArn", "TargetGroupArn", "LoadBalancerArn",
	"GroupId", "Resources", "ResourceArns", "GroupName", "Name"}

func inputResource(input any) string {
	v := reflect.ValueOf(input)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return ""
	}
	for _, name := range resourceFields {
		f := v.FieldByName(name)
		if !f.IsValid() {
			continue
		}
		switch {
		case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.String && !f.IsNil():
			return f.Elem().String()
		case f.Kind() == reflect.String && f.String() != "":
			return f.String()
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String && f.Len() > 0:
			ids := make([]string, f.Len())
			for i := range ids {
				ids[i] = f.Index(i).String()
			}
			return strings.Join(ids, ",")
		}
	}
	return ""
}
