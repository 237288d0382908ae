package elb

import (
	"testing"

	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/state"
)

// TestRuleActionsRoundTrip guards the conversion of the actions and conditions lbsg writes:
// what it sends reads back as the same action and conditions, so that a rule in step is
// not rewritten.
func TestRuleActionsRoundTrip(t *testing.T) {
	w := func(v int32) *int32 { return &v }
	actions := []*state.RuleAction{
		{Type: "redirect", Redirect: &state.Redirect{Protocol: "HTTPS", Port: "443", Host: "example.com", Path: "/new", Query: "a=1", StatusCode: "HTTP_302"}},
		{Type: "fixed-response", FixedResponse: &state.FixedResponse{ContentType: "application/json", StatusCode: "418", MessageBody: `{"tea":true}`}},
		{Type: "forward", Forward: []state.ForwardTo{{TargetGroupARN: "a", Weight: w(10)}, {TargetGroupARN: "b", Weight: w(90)}},
			Stickiness: &state.Stickiness{Enabled: true, DurationSeconds: 3600}},
		{Type: "forward", Forward: []state.ForwardTo{{TargetGroupARN: "a", Weight: w(1)}}, Stickiness: &state.Stickiness{Enabled: true, DurationSeconds: 10}},
	}
	for _, a := range actions {
		sdk := ruleActions(RuleInput{Action: a})
		if len(sdk) != 1 {
			t.Fatalf("%s: %d actions", a.Type, len(sdk))
		}
		if diff := cmp.Diff(a, actionFromSDK(sdk[0])); diff != "" {
			t.Errorf("%s round trip (-sent +read):\n%s", a.Type, diff)
		}
	}
	conds := []state.RuleCondition{
		{Field: "http-header", HeaderName: "X-Env", Values: []string{"beta", "gamma"}},
		{Field: "http-request-method", Values: []string{"GET"}},
		{Field: "query-string", Query: []state.QueryPair{{Key: "v", Value: "2"}, {Value: "bare"}}},
		{Field: "source-ip", Values: []string{"10.0.0.0/8", "2001:db8::/32"}},
	}
	for _, c := range conds {
		got, ok := conditionFromSDK(sdkCondition(c))
		if !ok {
			t.Fatalf("%s not read back", c.Field)
		}
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("%s round trip (-sent +read):\n%s", c.Field, diff)
		}
	}
	// The legacy Values field of a condition is read too.
	got, _ := conditionFromSDK(elbtypes.RuleCondition{Field: strp("source-ip"), Values: []string{"10.0.0.0/8"}})
	if diff := cmp.Diff(state.RuleCondition{Field: "source-ip", Values: []string{"10.0.0.0/8"}}, got); diff != "" {
		t.Errorf("legacy values (-want +got):\n%s", diff)
	}
}

func strp(s string) *string { return &s }
