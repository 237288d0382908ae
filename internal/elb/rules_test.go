package elb

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/state"
)

// AWS answers DescribeRules with the values of a condition both in its *Config and in the
// legacy Values field; moto repeats only the form it was sent. Both forms are read here.
func TestRuleFromSDK(t *testing.T) {
	got, err := ruleFromSDK(elbtypes.Rule{
		RuleArn:  aws.String("rule"),
		Priority: aws.String("12"),
		Conditions: []elbtypes.RuleCondition{
			{Field: aws.String("host-header"), Values: []string{"a.example.com"},
				HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: []string{"a.example.com", "b.example.com"}}},
			{Field: aws.String("path-pattern"), Values: []string{"/legacy/*"}},
			{Field: aws.String("http-request-method"), HttpRequestMethodConfig: &elbtypes.HttpRequestMethodConditionConfig{Values: []string{"GET"}}},
		},
		Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward,
			ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String("tg")}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := state.ListenerRule{ARN: "rule", Priority: 12, Hosts: []string{"a.example.com", "b.example.com"},
		Paths: []string{"/legacy/*"}, TargetGroupARN: "tg",
		Conditions: []state.RuleCondition{{Field: "http-request-method", Values: []string{"GET"}}}, Rich: "condition http-request-method"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ruleFromSDK (-want +got):\n%s", diff)
	}
	if _, err := ruleFromSDK(elbtypes.Rule{RuleArn: aws.String("rule"), Priority: aws.String("default")}); err == nil {
		t.Error("ruleFromSDK of a rule with priority \"default\" succeeded")
	}
}

// AWS lists only the default certificate in DescribeListeners, without IsDefault; moto lists
// all of them, the default first.
func TestListenerFromSDK(t *testing.T) {
	got := listenerFromSDK(elbtypes.Listener{
		ListenerArn: aws.String("l"), Port: aws.Int32(443), Protocol: elbtypes.ProtocolEnumHttps,
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse,
			FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")}}},
		Certificates: []elbtypes.Certificate{{CertificateArn: aws.String("c1")}, {CertificateArn: aws.String("c2")}},
	})
	want := state.Listener{ARN: "l", Port: 443, Protocol: "HTTPS", FixedResponseStatus: "404", Certificates: []string{"c1"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listenerFromSDK (-want +got):\n%s", diff)
	}
}
