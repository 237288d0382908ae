package plan

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/state"
)

func w32(v int32) *int32 { return &v }

// TestRuleDiffers guards the comparison of rules with actions and conditions: what AWS
// fills in, the order of values and conditions, and a lone target group's weight make no
// difference; any real change does.
func TestRuleDiffers(t *testing.T) {
	tgA := Ref{Kind: KindTargetGroup, ID: "arn:tg/a"}
	redirect := func(r state.Redirect) *state.RuleAction { return &state.RuleAction{Type: "redirect", Redirect: &r} }
	fixed := func(f state.FixedResponse) *state.RuleAction {
		return &state.RuleAction{Type: "fixed-response", FixedResponse: &f}
	}
	weighted := func(wa, wb int32, sticky bool) *state.RuleAction {
		a := &state.RuleAction{Type: "forward", Forward: []state.ForwardTo{{TargetGroupARN: "arn:tg/a", Weight: w32(wa)}, {TargetGroupARN: "arn:tg/b", Weight: w32(wb)}}}
		if sticky {
			a.Stickiness = &state.Stickiness{Enabled: true, DurationSeconds: 60}
		}
		return a
	}
	header := func(name string, vals ...string) []state.RuleCondition {
		return []state.RuleCondition{{Field: "http-header", HeaderName: name, Values: vals}}
	}
	cases := []struct {
		name   string
		want   RuleSpec
		have   state.ListenerRule
		differ bool
	}{
		{"plain forward in step", RuleSpec{Paths: []string{"/a"}, TargetGroup: tgA},
			state.ListenerRule{Paths: []string{"/a"}, TargetGroupARN: "arn:tg/a"}, false},
		{"redirect in step, AWS filled in the request's parts",
			RuleSpec{Paths: []string{"/a"}, Action: redirect(state.Redirect{Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301"})},
			state.ListenerRule{Paths: []string{"/a"}, Action: redirect(state.Redirect{Protocol: "HTTPS", Port: "443", Host: "#{host}", Path: "/#{path}", Query: "#{query}", StatusCode: "HTTP_301"})}, false},
		{"redirect status changed",
			RuleSpec{Paths: []string{"/a"}, Action: redirect(state.Redirect{Protocol: "HTTPS", StatusCode: "HTTP_302"})},
			state.ListenerRule{Paths: []string{"/a"}, Action: redirect(state.Redirect{Protocol: "HTTPS", StatusCode: "HTTP_301"})}, true},
		{"fixed response without content type in step",
			RuleSpec{Paths: []string{"/a"}, Action: fixed(state.FixedResponse{StatusCode: "503"})},
			state.ListenerRule{Paths: []string{"/a"}, Action: fixed(state.FixedResponse{StatusCode: "503", ContentType: "text/plain"})}, false},
		{"fixed response body changed",
			RuleSpec{Paths: []string{"/a"}, Action: fixed(state.FixedResponse{StatusCode: "503", MessageBody: "new"})},
			state.ListenerRule{Paths: []string{"/a"}, Action: fixed(state.FixedResponse{StatusCode: "503", MessageBody: "old"})}, true},
		{"weighted forward in step", RuleSpec{Paths: []string{"/a"}, Action: weighted(80, 20, true)},
			state.ListenerRule{Paths: []string{"/a"}, Action: weighted(80, 20, true)}, false},
		{"weight changed", RuleSpec{Paths: []string{"/a"}, Action: weighted(50, 50, true)},
			state.ListenerRule{Paths: []string{"/a"}, Action: weighted(80, 20, true)}, true},
		{"stickiness turned off", RuleSpec{Paths: []string{"/a"}, Action: weighted(80, 20, false)},
			state.ListenerRule{Paths: []string{"/a"}, Action: weighted(80, 20, true)}, true},
		{"plain forward became a redirect", RuleSpec{Paths: []string{"/a"}, Action: redirect(state.Redirect{StatusCode: "HTTP_301", Protocol: "HTTPS"})},
			state.ListenerRule{Paths: []string{"/a"}, TargetGroupARN: "arn:tg/a"}, true},
		{"forward to a target group not created yet",
			RuleSpec{Paths: []string{"/a"}, Action: &state.RuleAction{Type: "forward", Forward: []state.ForwardTo{{TargetGroup: "x", Weight: w32(1)}, {TargetGroupARN: "arn:tg/b"}}},
				ForwardRefs: []Ref{{Kind: KindTargetGroup, Key: "x"}, {}}},
			state.ListenerRule{Paths: []string{"/a"}, Action: weighted(1, 1, false)}, true},
		{"conditions in another order, header name in another case", RuleSpec{Paths: []string{"/a"}, TargetGroup: tgA,
			Conditions: append(header("X-Env", "b", "a"), state.RuleCondition{Field: "source-ip", Values: []string{"10.0.0.0/8"}})},
			state.ListenerRule{Paths: []string{"/a"}, TargetGroupARN: "arn:tg/a",
				Conditions: append([]state.RuleCondition{{Field: "source-ip", Values: []string{"10.0.0.0/8"}}}, header("x-env", "a", "b")...)}, false},
		{"header value changed", RuleSpec{Paths: []string{"/a"}, TargetGroup: tgA, Conditions: header("X-Env", "beta")},
			state.ListenerRule{Paths: []string{"/a"}, TargetGroupARN: "arn:tg/a", Conditions: header("X-Env", "alpha")}, true},
		{"condition removed", RuleSpec{Paths: []string{"/a"}, TargetGroup: tgA},
			state.ListenerRule{Paths: []string{"/a"}, TargetGroupARN: "arn:tg/a", Conditions: header("X-Env", "alpha")}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ruleDiffers(&tc.want, tc.have); got != tc.differ {
				t.Errorf("ruleDiffers = %v, want %v", got, tc.differ)
			}
		})
	}
}

// TestRuleLeftAdoptedRich guards adopted rules: a redirect, fixed response or extra
// condition that lbsg did not write (no lbsg tags) is left as it is and never tagged, a
// rule lbsg wrote is managed, an unmodelled one always left.
func TestRuleLeftAdoptedRich(t *testing.T) {
	tags := map[string]string{"elbv2.k8s.aws/cluster": "prod", "ingress.k8s.aws/stack": "front"}
	cases := []struct {
		name string
		rule state.ListenerRule
		want string
	}{
		{"plain adopted rule", state.ListenerRule{TargetGroupARN: "tg"}, ""},
		{"adopted redirect", state.ListenerRule{Rich: "redirect"}, "redirect"},
		{"redirect lbsg wrote", state.ListenerRule{Rich: "redirect", Tags: tags}, ""},
		{"authenticate with lbsg's tags", state.ListenerRule{Unmodelled: "authenticate-oidc, forward", Tags: tags}, "authenticate-oidc, forward"},
	}
	for _, tc := range cases {
		if got := ruleLeft(tc.rule, tags); got != tc.want {
			t.Errorf("%s: ruleLeft = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// An adopted fixed-response rule (no lbsg tags) at a priority the desired state wants
// differently is neither modified nor tagged, and the notice says why; once it carries
// lbsg's tags it is modified.
func TestStackLeavesAdoptedRichRule(t *testing.T) {
	for _, tagged := range []bool{false, true} {
		in := readGoldenInput(t, filepath.Join("testdata", "alb-actions"))
		var arn string
		for lb, ls := range in.Stack.Observed.Listeners {
			r := &ls[0].Rules[0] // priority 1: the desired state forwards /api to shop/web-api
			r.Action, r.TargetGroupARN, r.Rich = &state.RuleAction{Type: "fixed-response", FixedResponse: &state.FixedResponse{StatusCode: "503"}}, "", "fixed-response 503"
			if tagged {
				r.Tags = map[string]string{"elbv2.k8s.aws/cluster": "prod", "ingress.k8s.aws/stack": "front"}
			}
			arn = r.ARN
			in.Stack.Observed.Listeners[lb] = ls
		}
		p := Stack(*in.Stack, in.Owner)
		modified, taggedNow := false, false
		for _, c := range p.Changes {
			modified = modified || (c.Op == OpModifyRule && c.Target.ID == arn)
			for _, a := range c.TagARNs {
				taggedNow = taggedNow || a == arn
			}
		}
		noticed := strings.Contains(strings.Join(p.Notices, "\n"), "rule 1 on listener 80 of k8s-front-b4ea955c8a has fixed-response 503")
		if tagged && (!modified || noticed) {
			t.Errorf("lbsg's own fixed-response rule: modified %v, notice %v; want modified", modified, noticed)
		}
		if !tagged && (modified || taggedNow || !noticed) {
			t.Errorf("adopted fixed-response rule: modified %v, tagged %v, notice %v; want left with a notice", modified, taggedNow, noticed)
		}
	}
}
