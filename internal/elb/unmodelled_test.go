package elb

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Every action and condition lbsg does not write is recorded, so the planner leaves it.
func TestUnmodelledActionsAndConditions(t *testing.T) {
	forward := elbtypes.Action{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String("tg")}
	// AWS answers a plain forward with both fields set.
	forwardBoth := elbtypes.Action{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String("tg"),
		ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String("tg"), Weight: aws.Int32(1)}},
			TargetGroupStickinessConfig: &elbtypes.TargetGroupStickinessConfig{Enabled: aws.Bool(false)}}}
	weighted := elbtypes.Action{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
		TargetGroups: []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String("a")}, {TargetGroupArn: aws.String("b")}}}}
	sticky := elbtypes.Action{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{
		TargetGroups:                []elbtypes.TargetGroupTuple{{TargetGroupArn: aws.String("a")}},
		TargetGroupStickinessConfig: &elbtypes.TargetGroupStickinessConfig{Enabled: aws.Bool(true), DurationSeconds: aws.Int32(60)}}}
	fixed := func(code string) elbtypes.Action {
		return elbtypes.Action{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String(code)}}
	}
	redirect := elbtypes.Action{Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{
		Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301}}
	found := elbtypes.Action{Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{
		Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp302}}
	otherHost := elbtypes.Action{Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{
		Protocol: aws.String("HTTPS"), Port: aws.String("443"), Host: aws.String("example.com"), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301}}
	oidc := elbtypes.Action{Type: elbtypes.ActionTypeEnumAuthenticateOidc}
	listeners := []struct {
		name    string
		actions []elbtypes.Action
		want    string
	}{
		{"forward", []elbtypes.Action{forward}, ""},
		{"forward as AWS answers it", []elbtypes.Action{forwardBoth}, ""},
		{"lbsg's 404", []elbtypes.Action{fixed("404")}, ""},
		{"fixed 503", []elbtypes.Action{fixed("503")}, "fixed-response 503"},
		{"lbsg's ssl-redirect", []elbtypes.Action{redirect}, ""},
		{"temporary redirect", []elbtypes.Action{found}, "redirect"},
		{"redirect to another host", []elbtypes.Action{otherHost}, "redirect"},
		{"weighted forward", []elbtypes.Action{weighted}, "forward to 2 target groups"},
		{"sticky forward", []elbtypes.Action{sticky}, "forward with stickiness"},
		{"authenticate then forward", []elbtypes.Action{oidc, forward}, "authenticate-oidc, forward"},
	}
	for _, tc := range listeners {
		if got := unmodelledActions(tc.actions, true); got != tc.want {
			t.Errorf("listener %s: unmodelled = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := unmodelledActions([]elbtypes.Action{fixed("404")}, false); got != "fixed-response 404" {
		t.Errorf("a rule's fixed 404 is not lbsg's: unmodelled = %q", got)
	}
	cond := func(field string) elbtypes.RuleCondition { return elbtypes.RuleCondition{Field: aws.String(field)} }
	rules := []struct {
		name string
		rule elbtypes.Rule
		want string
	}{
		{"host and path forward", elbtypes.Rule{Actions: []elbtypes.Action{forward},
			Conditions: []elbtypes.RuleCondition{cond("host-header"), cond("path-pattern")}}, ""},
		// actions.* and conditions.* annotations write these: modelled on a rule.
		{"fixed 503", elbtypes.Rule{Actions: []elbtypes.Action{fixed("503")}, Conditions: []elbtypes.RuleCondition{cond("path-pattern")}}, ""},
		{"header and source-ip", elbtypes.Rule{Actions: []elbtypes.Action{forward},
			Conditions: []elbtypes.RuleCondition{cond("http-header"), cond("source-ip")}}, ""},
		{"redirect on query string", elbtypes.Rule{Actions: []elbtypes.Action{redirect}, Conditions: []elbtypes.RuleCondition{cond("query-string")}}, ""},
		{"weighted sticky forward on method", elbtypes.Rule{Actions: []elbtypes.Action{weighted}, Conditions: []elbtypes.RuleCondition{cond("http-request-method")}}, ""},
		{"sticky forward", elbtypes.Rule{Actions: []elbtypes.Action{sticky}, Conditions: []elbtypes.RuleCondition{cond("path-pattern")}}, ""},
		// Still not modelled: several actions (authenticate-*, then forward).
		{"authenticate then forward", elbtypes.Rule{Actions: []elbtypes.Action{oidc, forward}, Conditions: []elbtypes.RuleCondition{cond("path-pattern")}},
			"authenticate-oidc, forward"},
		{"authenticate alone", elbtypes.Rule{Actions: []elbtypes.Action{oidc}, Conditions: []elbtypes.RuleCondition{cond("path-pattern")}},
			"authenticate-oidc"},
	}
	for _, tc := range rules {
		if got := unmodelledRule(tc.rule); got != tc.want {
			t.Errorf("rule %s: unmodelled = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// The listener's SSL policy is read, so the plan and lbsg plan show it; lbsg never writes it.
func TestListenerFromSDKSslPolicy(t *testing.T) {
	got := listenerFromSDK(elbtypes.Listener{ListenerArn: aws.String("l"), Port: aws.Int32(443), Protocol: elbtypes.ProtocolEnumTls,
		SslPolicy:      aws.String("ELBSecurityPolicy-TLS13-1-2-2021-06"),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String("tg")}}})
	if got.SslPolicy != "ELBSecurityPolicy-TLS13-1-2-2021-06" || got.Unmodelled != "" || got.TargetGroupARN != "tg" {
		t.Errorf("listenerFromSDK = %+v", got)
	}
}
