package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

// Rules with the actions and conditions of actions.* and conditions.* annotations.

// ruleSpec is the payload that creates or modifies rule r.
func ruleSpec(lbRef, listener Ref, r spec.ListenerRule, tgRefs map[string]Ref) *RuleSpec {
	rs := &RuleSpec{LoadBalancer: lbRef, Listener: listener, Priority: r.Priority, Hosts: r.Hosts, Paths: r.Paths,
		Action: r.Action, Conditions: r.Conditions}
	if r.TargetGroup != "" {
		rs.TargetGroup = tgRefs[r.TargetGroup]
	}
	if r.Action != nil {
		for _, f := range r.Action.Forward {
			var ref Ref
			if f.TargetGroup != "" {
				ref = tgRefs[f.TargetGroup]
			}
			rs.ForwardRefs = append(rs.ForwardRefs, ref)
		}
	}
	return rs
}

// ruleLeft says why lbsg leaves an existing rule as it is ("" when it may rewrite or delete
// it): actions lbsg does not model (authenticate-*); or, on a rule without lbsg's tags (made
// by upstream or by hand) at a priority lbsg does not want (wanted false), a redirect, a
// fixed response, a weighted or sticky forward or an extra condition. At a priority lbsg
// wants, such a rule is adopted like a plain forward: upstream's actions.* annotations made
// it, in the same order lbsg gives priorities.
func ruleLeft(r state.ListenerRule, tags map[string]string, wanted bool) string {
	switch {
	case r.Unmodelled != "":
		return r.Unmodelled
	case r.Rich != "" && !wanted && missingTags(tags, r.Tags) != nil:
		return r.Rich
	}
	return ""
}

// ruleDiffers reports whether an existing rule's conditions or action differ from rs. A
// target group lbsg has yet to create always differs.
func ruleDiffers(rs *RuleSpec, have state.ListenerRule) bool {
	want, ok := wantAction(rs)
	if !ok {
		return true
	}
	return !sameSet(have.Hosts, rs.Hosts) || !sameSet(have.Paths, rs.Paths) ||
		actionKey(want) != actionKey(haveAction(have)) || conditionsKey(rs.Conditions) != conditionsKey(have.Conditions)
}

// wantAction is rs's action with target group ARNs; false when a target group has no ARN
// yet.
func wantAction(rs *RuleSpec) (state.RuleAction, bool) {
	if rs.Action == nil {
		return state.RuleAction{Type: state.ActionForward, Forward: []state.ForwardTo{{TargetGroupARN: rs.TargetGroup.ID}}}, rs.TargetGroup.ID != ""
	}
	out := *rs.Action
	out.Forward = nil
	for i, f := range rs.Action.Forward {
		if f.TargetGroupARN == "" {
			if i >= len(rs.ForwardRefs) || rs.ForwardRefs[i].ID == "" {
				return out, false
			}
			f.TargetGroupARN = rs.ForwardRefs[i].ID
		}
		f.TargetGroup = ""
		out.Forward = append(out.Forward, f)
	}
	return out, true
}

func haveAction(r state.ListenerRule) state.RuleAction {
	if r.Action != nil {
		return *r.Action
	}
	return state.RuleAction{Type: state.ActionForward, Forward: []state.ForwardTo{{TargetGroupARN: r.TargetGroupARN}}}
}

// actionKey renders an action canonically, with what AWS fills in when it is left out:
// a redirect keeps the request's parts, a fixed response is text/plain, a weight is 1
// (and does not matter for a single target group), disabled stickiness is none.
func actionKey(a state.RuleAction) string {
	switch a.Type {
	case state.ActionRedirect:
		r := a.Redirect
		if r == nil {
			return "redirect"
		}
		return strings.Join([]string{"redirect", or(r.Protocol, "#{protocol}"), or(r.Port, "#{port}"), or(r.Host, "#{host}"),
			or(r.Path, "/#{path}"), or(r.Query, "#{query}"), r.StatusCode}, "|")
	case state.ActionFixedResponse:
		f := a.FixedResponse
		if f == nil {
			return "fixed-response"
		}
		return strings.Join([]string{"fixed-response", or(f.ContentType, "text/plain"), f.StatusCode, f.MessageBody}, "|")
	}
	var tgs []string
	for _, f := range a.Forward {
		w := int32(1)
		if f.Weight != nil {
			w = *f.Weight
		}
		if len(a.Forward) == 1 {
			w = 1
		}
		tgs = append(tgs, f.TargetGroupARN+"*"+strconv.Itoa(int(w)))
	}
	sort.Strings(tgs)
	key := "forward|" + strings.Join(tgs, ",")
	if s := a.Stickiness; s != nil && s.Enabled {
		key += fmt.Sprintf("|sticky %d", s.DurationSeconds)
	}
	return key
}

// conditionsKey renders conditions canonically: values as sets, conditions in any order.
func conditionsKey(conds []state.RuleCondition) string {
	keys := make([]string, 0, len(conds))
	for _, c := range conds {
		vals := append([]string(nil), c.Values...)
		for _, q := range c.Query {
			vals = append(vals, q.Key+"="+q.Value)
		}
		sort.Strings(vals)
		keys = append(keys, c.Field+"|"+strings.ToLower(c.HeaderName)+"|"+strings.Join(vals, ","))
	}
	sort.Strings(keys)
	return strings.Join(keys, ";")
}

// ruleTarget describes where a desired rule sends requests, and on which extra conditions.
func ruleTarget(r spec.ListenerRule) string {
	out := r.TargetGroup
	if a := r.Action; a != nil {
		switch a.Type {
		case state.ActionRedirect:
			out = "redirect " + a.Redirect.StatusCode
		case state.ActionFixedResponse:
			out = "fixed-response " + a.FixedResponse.StatusCode
		default:
			var tgs []string
			for _, f := range a.Forward {
				tg := f.TargetGroup
				if tg == "" {
					tg = f.TargetGroupARN
				}
				if f.Weight != nil {
					tg += fmt.Sprintf(" (weight %d)", *f.Weight)
				}
				tgs = append(tgs, tg)
			}
			out = "forward to " + strings.Join(tgs, ", ")
		}
	}
	for _, c := range r.Conditions {
		out += " when " + c.Field
		if c.HeaderName != "" {
			out += " " + c.HeaderName
		}
	}
	return out
}

// markRuleInUse records the target groups a rule forwards to.
func markRuleInUse(inUse map[string]bool, r state.ListenerRule) {
	if r.TargetGroupARN != "" {
		inUse[r.TargetGroupARN] = true
	}
	if r.Action != nil {
		for _, f := range r.Action.Forward {
			if f.TargetGroupARN != "" {
				inUse[f.TargetGroupARN] = true
			}
		}
	}
}

// specActionString renders a rule payload's action for the printed plan.
func specActionString(rs *RuleSpec) string {
	a := rs.Action
	if a == nil {
		return rs.TargetGroup.String()
	}
	switch a.Type {
	case state.ActionRedirect:
		r := a.Redirect
		return fmt.Sprintf("redirect %s to %s://%s:%s%s?%s", r.StatusCode, or(r.Protocol, "#{protocol}"), or(r.Host, "#{host}"),
			or(r.Port, "#{port}"), or(r.Path, "/#{path}"), or(r.Query, "#{query}"))
	case state.ActionFixedResponse:
		f := a.FixedResponse
		return fmt.Sprintf("fixed-response %s %s %q", f.StatusCode, or(f.ContentType, "text/plain"), f.MessageBody)
	}
	var tgs []string
	for i, f := range a.Forward {
		tg := f.TargetGroupARN
		if tg == "" && i < len(rs.ForwardRefs) {
			tg = rs.ForwardRefs[i].String()
		}
		if f.Weight != nil {
			tg += fmt.Sprintf(" weight %d", *f.Weight)
		}
		tgs = append(tgs, tg)
	}
	out := "forward to " + strings.Join(tgs, ", ")
	if s := a.Stickiness; s != nil && s.Enabled {
		out += fmt.Sprintf(", sticky %ds", s.DurationSeconds)
	}
	return out
}

// conditionsString renders a rule's extra conditions for the printed plan.
func conditionsString(conds []state.RuleCondition) string {
	var out string
	for _, c := range conds {
		vals := append([]string(nil), c.Values...)
		for _, q := range c.Query {
			vals = append(vals, q.Key+"="+q.Value)
		}
		out += " " + c.Field
		if c.HeaderName != "" {
			out += " " + c.HeaderName
		}
		out += " " + strings.Join(vals, ",")
	}
	return out
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// wantedRules are the rule priorities the desired state wants, by listener port.
func wantedRules(want []spec.Listener) map[int32]map[int32]bool {
	out := map[int32]map[int32]bool{}
	for _, l := range want {
		out[l.Port] = map[int32]bool{}
		for _, r := range l.Rules {
			out[l.Port][r.Priority] = true
		}
	}
	return out
}

// keepsDefaultAction reports whether an existing listener's default action is left as it
// is: always when lbsg does not model it (authenticate-*, several actions); a redirect,
// fixed response or weighted forward only when the group sets no default backend (an
// adopted one, not lbsg's to replace with its 404).
func keepsDefaultAction(want spec.Listener, have state.Listener) bool {
	if have.Unmodelled == "" {
		return false
	}
	return have.DefaultAction == nil || (want.TargetGroup == "" && want.DefaultAction == nil)
}

// defaultActionDiff says why a listener's default action must change when either side is
// a redirect, fixed response or weighted forward; "" otherwise (listenerDiff compares
// plain forwards and the 404).
func defaultActionDiff(ls *ListenerSpec, have state.Listener) string {
	if ls.KeepDefaultAction || (ls.DefaultAction == nil && have.DefaultAction == nil) {
		return ""
	}
	rs := &RuleSpec{TargetGroup: ls.TargetGroup, Action: ls.DefaultAction, ForwardRefs: ls.DefaultForwardRefs}
	var want string
	switch a, ok := wantAction(rs); {
	case ls.DefaultAction == nil && ls.TargetGroup == (Ref{}):
		want = lbsg404Key
	case !ok:
		return "the default action must be " + specActionString(rs)
	default:
		want = actionKey(a)
	}
	var got string
	switch {
	case have.DefaultAction != nil:
		got = actionKey(*have.DefaultAction)
	case have.TargetGroupARN != "":
		got = actionKey(state.RuleAction{Type: state.ActionForward, Forward: []state.ForwardTo{{TargetGroupARN: have.TargetGroupARN}}})
	case have.FixedResponseStatus == "404":
		got = lbsg404Key
	}
	if got == want {
		return ""
	}
	switch {
	case ls.DefaultAction == nil && ls.TargetGroup == (Ref{}):
		return "the default action must answer 404 (no default backend)"
	case ls.DefaultAction == nil:
		return "the default action must forward to " + ls.TargetGroup.String()
	}
	return "the default action must be " + specActionString(rs)
}

// lbsg404Key is actionKey of the 404 lbsg answers on a listener without default backend.
var lbsg404Key = actionKey(state.RuleAction{Type: state.ActionFixedResponse, FixedResponse: &state.FixedResponse{StatusCode: "404", ContentType: "text/plain"}})

// markDefaultInUse records the target groups a listener's default action forwards to.
func markDefaultInUse(inUse map[string]bool, l state.Listener) {
	markRuleInUse(inUse, state.ListenerRule{TargetGroupARN: l.TargetGroupARN, Action: l.DefaultAction})
}
