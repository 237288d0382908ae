package plan

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/spec"
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
// condition that lbsg did not write (no lbsg tags) is left as it is at a priority lbsg does
// not want, and adopted at one it wants (upstream's actions.* made it); a rule lbsg wrote is
// managed; an unmodelled one is always left.
func TestRuleLeftAdoptedRich(t *testing.T) {
	tags := map[string]string{"elbv2.k8s.aws/cluster": "prod", "ingress.k8s.aws/stack": "front"}
	cases := []struct {
		name   string
		rule   state.ListenerRule
		wanted bool
		want   string
	}{
		{"plain adopted rule", state.ListenerRule{TargetGroupARN: "tg"}, false, ""},
		{"adopted redirect at a priority lbsg does not want", state.ListenerRule{Rich: "redirect"}, false, "redirect"},
		{"adopted redirect at a priority lbsg wants", state.ListenerRule{Rich: "redirect"}, true, ""},
		{"redirect lbsg wrote", state.ListenerRule{Rich: "redirect", Tags: tags}, false, ""},
		{"authenticate with lbsg's tags", state.ListenerRule{Unmodelled: "authenticate-oidc, forward", Tags: tags}, true, "authenticate-oidc, forward"},
	}
	for _, tc := range cases {
		if got := ruleLeft(tc.rule, tags, tc.wanted); got != tc.want {
			t.Errorf("%s: ruleLeft = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// An adopted fixed-response rule (no lbsg tags) at a priority the desired state does not
// want is neither deleted nor tagged, and the notice says why; at a priority it wants it
// is tagged and modified like any adopted rule.
func TestStackLeavesAdoptedRichRule(t *testing.T) {
	for _, prio := range []int32{9, 1} {
		in := readGoldenInput(t, filepath.Join("testdata", "alb-actions"))
		var arn string
		for lb, ls := range in.Stack.Observed.Listeners {
			r := state.ListenerRule{ARN: "arn:adopted-rule", Priority: prio, Paths: []string{"/maintenance"}, Rich: "fixed-response 503",
				Action: &state.RuleAction{Type: "fixed-response", FixedResponse: &state.FixedResponse{StatusCode: "503"}}}
			if prio == 1 {
				ls[0].Rules[0] = r
			} else {
				ls[0].Rules = append(ls[0].Rules, r)
			}
			arn = r.ARN
			in.Stack.Observed.Listeners[lb] = ls
		}
		p := Stack(*in.Stack, in.Owner)
		changed, tagged := false, false
		for _, c := range p.Changes {
			changed = changed || ((c.Op == OpModifyRule || c.Op == OpDeleteRule) && c.Target.ID == arn)
			for _, a := range c.TagARNs {
				tagged = tagged || a == arn
			}
		}
		noticed := strings.Contains(strings.Join(p.Notices, "\n"), "has fixed-response 503, which lbsg does not manage")
		if prio == 1 && (!changed || !tagged || noticed) {
			t.Errorf("adopted fixed-response rule at a wanted priority: changed %v, tagged %v, notice %v; want tagged and modified", changed, tagged, noticed)
		}
		if prio == 9 && (changed || tagged || !noticed) {
			t.Errorf("adopted fixed-response rule at priority 9: changed %v, tagged %v, notice %v; want left with a notice", changed, tagged, noticed)
		}
	}
}

// TestListenerDefaultAction guards the listener's default action: an action the group asks
// for replaces whatever redirect, fixed response or forward is there, but never an
// authenticate-* one; an adopted redirect stays when the group sets no default backend.
func TestListenerDefaultAction(t *testing.T) {
	tg := Ref{Kind: KindTargetGroup, ID: "arn:tg/a"}
	fixed := &state.RuleAction{Type: "fixed-response", FixedResponse: &state.FixedResponse{StatusCode: "503", MessageBody: "down"}}
	redirect := &state.RuleAction{Type: "redirect", Redirect: &state.Redirect{Protocol: "HTTPS", StatusCode: "HTTP_301"}}
	cases := []struct {
		name    string
		want    spec.Listener
		ls      ListenerSpec
		have    state.Listener
		keep    bool
		changes bool
	}{
		{"action in step", spec.Listener{DefaultAction: fixed}, ListenerSpec{DefaultAction: fixed},
			state.Listener{DefaultAction: fixed, Unmodelled: "fixed-response 503"}, false, false},
		{"404 becomes the action", spec.Listener{DefaultAction: fixed}, ListenerSpec{DefaultAction: fixed},
			state.Listener{FixedResponseStatus: "404"}, false, true},
		{"adopted redirect replaced by the action", spec.Listener{DefaultAction: fixed}, ListenerSpec{DefaultAction: fixed},
			state.Listener{DefaultAction: redirect, Unmodelled: "redirect"}, false, true},
		{"adopted redirect replaced by a default backend", spec.Listener{TargetGroup: "x"}, ListenerSpec{TargetGroup: tg},
			state.Listener{DefaultAction: redirect, Unmodelled: "redirect"}, false, true},
		{"adopted redirect kept without default backend", spec.Listener{}, ListenerSpec{},
			state.Listener{DefaultAction: redirect, Unmodelled: "redirect"}, true, false},
		{"authenticate kept even for an action", spec.Listener{DefaultAction: fixed}, ListenerSpec{DefaultAction: fixed},
			state.Listener{Unmodelled: "authenticate-oidc, forward", TargetGroupARN: "arn:tg/a"}, true, false},
		{"action back to lbsg's 404 is kept (adopted-looking)", spec.Listener{}, ListenerSpec{},
			state.Listener{DefaultAction: fixed, Unmodelled: "fixed-response 503"}, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := keepsDefaultAction(tc.want, tc.have); got != tc.keep {
				t.Errorf("keepsDefaultAction = %v, want %v", got, tc.keep)
			}
			tc.ls.KeepDefaultAction = tc.keep
			if why := defaultActionDiff(&tc.ls, tc.have); (why != "") != tc.changes {
				t.Errorf("defaultActionDiff = %q, want a change %v", why, tc.changes)
			}
		})
	}
}
