package plan

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/state"
)

// TestStackLeavesUnmodelledSettings guards case 6 of issue 6: an adopted listener or rule
// setting lbsg does not model (a redirect, a fixed response other than 404, an
// authentication, a weighted forward, a TLS listener on an NLB, an SSL policy) was
// rewritten to forward, 404 or TCP. The plan must carry no change that touches it, and a
// notice that says it was left.
func TestStackLeavesUnmodelledSettings(t *testing.T) {
	type edit func(l *state.Listener)
	alb := filepath.Join("testdata", "alb-rules-change")
	nlb := filepath.Join("testdata", "steady-state")
	cases := []struct {
		name   string
		dir    string
		port   int32 // the listener edited
		edit   edit
		notice string // a notice must contain it ("" for none)
		// rule is the priority of an edited rule that must be neither modified nor
		// deleted (0: none).
		rule int32
	}{
		{name: "redirect default action", dir: alb, port: 80, notice: "(redirect); left as is",
			edit: func(l *state.Listener) { l.FixedResponseStatus, l.Unmodelled = "", "redirect" }},
		{name: "fixed-response 503 default action", dir: alb, port: 80, notice: "(fixed-response 503)",
			edit: func(l *state.Listener) { l.FixedResponseStatus, l.Unmodelled = "503", "fixed-response 503" }},
		{name: "authenticate then forward", dir: alb, port: 80, notice: "(authenticate-cognito, forward)",
			edit: func(l *state.Listener) { l.FixedResponseStatus, l.Unmodelled = "", "authenticate-cognito, forward" }},
		{name: "weighted forward", dir: alb, port: 80, notice: "(forward to 2 target groups)",
			edit: func(l *state.Listener) {
				l.FixedResponseStatus, l.TargetGroupARN, l.Unmodelled = "", l.Rules[0].TargetGroupARN, "forward to 2 target groups"
			}},
		{name: "fixed-response rule at a priority lbsg wants", dir: alb, port: 80, rule: 1, notice: "rule 1 on listener 80",
			edit: func(l *state.Listener) { l.Rules[0].Unmodelled = "fixed-response 503" }},
		{name: "rule with changed target at a priority lbsg wants, on a header condition", dir: alb, port: 80, rule: 2, notice: "rule 2 on listener 80",
			edit: func(l *state.Listener) { l.Rules[1].Unmodelled = "condition http-header" }},
		{name: "redirect rule lbsg no longer wants", dir: alb, port: 80, rule: 3, notice: "rule 3 on listener 80",
			edit: func(l *state.Listener) { l.Rules[2].Unmodelled = "redirect" }},
		{name: "TLS listener on an NLB", dir: nlb, port: 443, notice: "is TLS",
			edit: func(l *state.Listener) {
				l.Protocol, l.Certificates, l.SslPolicy = "TLS", []string{"arn:aws:acm:us-east-1:111122223333:certificate/tls"}, "ELBSecurityPolicy-TLS13-1-2-2021-06"
			}},
		{name: "SSL policy of a TLS listener", dir: nlb, port: 80, notice: "is TLS",
			edit: func(l *state.Listener) { l.Protocol, l.SslPolicy = "TLS", "ELBSecurityPolicy-FS-1-2-Res-2020-10" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := readGoldenInput(t, tc.dir)
			var edited state.Listener
			for arn, ls := range in.Stack.Observed.Listeners {
				for i := range ls {
					if ls[i].Port == tc.port {
						tc.edit(&ls[i])
						edited = ls[i]
					}
				}
				in.Stack.Observed.Listeners[arn] = ls
			}
			if edited.ARN == "" {
				t.Fatalf("no listener on port %d in %s", tc.port, tc.dir)
			}
			p := Stack(*in.Stack, in.Owner)
			for _, c := range p.Changes {
				switch {
				case c.Op == OpModifyListener && c.Target.ID == edited.ARN:
					if edited.Unmodelled != "" && !c.Listener.KeepDefaultAction {
						t.Errorf("the default action (%s) is rewritten: %s", edited.Unmodelled, c.Reason)
					}
					if edited.Protocol == "TLS" && !c.Listener.KeepProtocol {
						t.Errorf("the TLS protocol, certificates or SSL policy are rewritten: %s", c.Reason)
					}
				case c.Op == OpDeleteListener && c.Target.ID == edited.ARN:
					t.Errorf("the listener is deleted: %s", c.Reason)
				case (c.Op == OpModifyRule || c.Op == OpDeleteRule) && tc.rule != 0 && c.Rule.Priority == tc.rule:
					t.Errorf("rule %d is rewritten: %s %s", tc.rule, c.Op, c.Reason)
				case c.Op == OpCreateRule && tc.rule != 0 && c.Rule.Priority == tc.rule:
					t.Errorf("a rule is created at priority %d, which an adopted rule holds", tc.rule)
				}
			}
			found := false
			for _, n := range p.Notices {
				found = found || strings.Contains(n, tc.notice)
			}
			if !found {
				t.Errorf("no notice containing %q; notices: %q", tc.notice, p.Notices)
			}
			checkPhases(t, p)
		})
	}
}

// A kept action that still forwards to a target group lbsg no longer wants keeps that
// target group: deleting it would fail (ResourceInUse) on every pass.
func TestStackKeepsTargetGroupsOfUnmodelledActions(t *testing.T) {
	in := readGoldenInput(t, filepath.Join("testdata", "alb-rules-change"))
	var legacy string
	for arn, ls := range in.Stack.Observed.Listeners {
		ls[0].Rules[2].Unmodelled = "forward with stickiness"
		legacy = ls[0].Rules[2].TargetGroupARN
		in.Stack.Observed.Listeners[arn] = ls
	}
	p := Stack(*in.Stack, in.Owner)
	for _, c := range p.Changes {
		if c.Op == OpDeleteTG && c.Target.ID == legacy {
			t.Errorf("target group %s is deleted while a kept rule forwards to it", legacy)
		}
	}
}
