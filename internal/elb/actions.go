package elb

import (
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/lbsg/lbsg/internal/state"
)

// The rule actions and conditions of actions.* and conditions.* annotations, converted to
// and from the ELBv2 API's shapes.

// ruleActions is the one action of a rule: in.Action, or a forward to in.TargetGroupARN.
func ruleActions(in RuleInput) []elbtypes.Action {
	a := in.Action
	if a == nil {
		return forwardActions(in.TargetGroupARN)
	}
	switch a.Type {
	case state.ActionRedirect:
		r := a.Redirect
		out := elbtypes.Action{Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{
			StatusCode: elbtypes.RedirectActionStatusCodeEnum(r.StatusCode)}}
		rc := out.RedirectConfig
		rc.Protocol, rc.Port, rc.Host, rc.Path, rc.Query = optional(r.Protocol), optional(r.Port), optional(r.Host), optional(r.Path), optional(r.Query)
		return []elbtypes.Action{out}
	case state.ActionFixedResponse:
		f := a.FixedResponse
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String(f.StatusCode), ContentType: optional(f.ContentType), MessageBody: optional(f.MessageBody)}}}
	}
	fc := &elbtypes.ForwardActionConfig{}
	for _, t := range a.Forward {
		fc.TargetGroups = append(fc.TargetGroups, elbtypes.TargetGroupTuple{TargetGroupArn: aws.String(t.TargetGroupARN), Weight: t.Weight})
	}
	if s := a.Stickiness; s != nil {
		fc.TargetGroupStickinessConfig = &elbtypes.TargetGroupStickinessConfig{Enabled: aws.Bool(s.Enabled)}
		if s.DurationSeconds != 0 {
			fc.TargetGroupStickinessConfig.DurationSeconds = aws.Int32(s.DurationSeconds)
		}
	}
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: fc}}
}

// actionFromSDK reads a rule's only action when it is more than a plain forward: nil for a
// plain forward and for the types lbsg does not write.
func actionFromSDK(a elbtypes.Action) *state.RuleAction {
	switch a.Type {
	case elbtypes.ActionTypeEnumForward:
		if plainForward(a) || a.ForwardConfig == nil {
			return nil
		}
		out := &state.RuleAction{Type: state.ActionForward}
		for _, t := range a.ForwardConfig.TargetGroups {
			out.Forward = append(out.Forward, state.ForwardTo{TargetGroupARN: aws.ToString(t.TargetGroupArn), Weight: t.Weight})
		}
		if s := a.ForwardConfig.TargetGroupStickinessConfig; s != nil {
			out.Stickiness = &state.Stickiness{Enabled: aws.ToBool(s.Enabled), DurationSeconds: aws.ToInt32(s.DurationSeconds)}
		}
		return out
	case elbtypes.ActionTypeEnumRedirect:
		r := a.RedirectConfig
		if r == nil {
			return nil
		}
		return &state.RuleAction{Type: state.ActionRedirect, Redirect: &state.Redirect{Protocol: aws.ToString(r.Protocol), Port: aws.ToString(r.Port),
			Host: aws.ToString(r.Host), Path: aws.ToString(r.Path), Query: aws.ToString(r.Query), StatusCode: string(r.StatusCode)}}
	case elbtypes.ActionTypeEnumFixedResponse:
		f := a.FixedResponseConfig
		if f == nil {
			return nil
		}
		return &state.RuleAction{Type: state.ActionFixedResponse, FixedResponse: &state.FixedResponse{ContentType: aws.ToString(f.ContentType),
			StatusCode: aws.ToString(f.StatusCode), MessageBody: aws.ToString(f.MessageBody)}}
	}
	return nil
}

func sdkCondition(c state.RuleCondition) elbtypes.RuleCondition {
	out := elbtypes.RuleCondition{Field: aws.String(c.Field)}
	switch c.Field {
	case state.FieldHTTPHeader:
		out.HttpHeaderConfig = &elbtypes.HttpHeaderConditionConfig{HttpHeaderName: aws.String(c.HeaderName), Values: c.Values}
	case state.FieldHTTPRequestMethod:
		out.HttpRequestMethodConfig = &elbtypes.HttpRequestMethodConditionConfig{Values: c.Values}
	case state.FieldQueryString:
		qc := &elbtypes.QueryStringConditionConfig{}
		for _, q := range c.Query {
			qc.Values = append(qc.Values, elbtypes.QueryStringKeyValuePair{Key: optional(q.Key), Value: aws.String(q.Value)})
		}
		out.QueryStringConfig = qc
	case state.FieldSourceIP:
		out.SourceIpConfig = &elbtypes.SourceIpConditionConfig{Values: c.Values}
	}
	return out
}

// conditionFromSDK reads an http-header, http-request-method, query-string or source-ip
// condition; false for any other field.
func conditionFromSDK(c elbtypes.RuleCondition) (state.RuleCondition, bool) {
	out := state.RuleCondition{Field: aws.ToString(c.Field)}
	switch out.Field {
	case state.FieldHTTPHeader:
		if h := c.HttpHeaderConfig; h != nil {
			out.HeaderName, out.Values = aws.ToString(h.HttpHeaderName), h.Values
		}
	case state.FieldHTTPRequestMethod:
		if m := c.HttpRequestMethodConfig; m != nil {
			out.Values = m.Values
		}
	case state.FieldQueryString:
		if q := c.QueryStringConfig; q != nil {
			for _, kv := range q.Values {
				out.Query = append(out.Query, state.QueryPair{Key: aws.ToString(kv.Key), Value: aws.ToString(kv.Value)})
			}
		}
	case state.FieldSourceIP:
		if s := c.SourceIpConfig; s != nil {
			out.Values = s.Values
		}
	default:
		return state.RuleCondition{}, false
	}
	// The legacy Values field may repeat the *Config values.
	out.Values = appendNew(appendNew(nil, out.Values...), c.Values...)
	return out, true
}

// richRule describes the action and conditions of a rule beyond a plain forward on host
// and path, for notices: "redirect, condition http-header".
func richRule(r state.ListenerRule) string {
	var parts []string
	if a := r.Action; a != nil {
		switch {
		case a.Type == state.ActionFixedResponse:
			parts = append(parts, "fixed-response "+a.FixedResponse.StatusCode)
		case a.Type == state.ActionForward && len(a.Forward) > 1:
			parts = append(parts, "forward to "+strconv.Itoa(len(a.Forward))+" target groups")
		case a.Type == state.ActionForward:
			parts = append(parts, "forward with stickiness")
		default:
			parts = append(parts, a.Type)
		}
	}
	for _, c := range r.Conditions {
		parts = append(parts, "condition "+c.Field)
	}
	return strings.Join(parts, ", ")
}

// lbsg404 reports whether a fixed response is the 404 lbsg answers on a listener without
// default backend (text/plain, no body); false for any other action.
func lbsg404(a *state.RuleAction) bool {
	f := a.FixedResponse
	return a.Type == state.ActionFixedResponse && f != nil && f.StatusCode == fixedResponseStatus && f.MessageBody == "" &&
		(f.ContentType == "" || f.ContentType == "text/plain")
}
