package elb

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/lbsg/lbsg/internal/state"
)

// lbsg writes only a few kinds of actions and conditions: on a listener, a forward to one
// target group or a fixed 404; on a rule, one forward (weighted or sticky), redirect or
// fixed response, on the six condition fields of conditions.* annotations. Anything else
// on a listener or rule it adopted (from upstream, or from a person) is recorded as
// "unmodelled", so the planner leaves it as it is instead of rewriting it.

// unmodelledActions describes actions lbsg never writes; "" when they are one plain forward
// or, with fixed404 (a listener's default action), lbsg's fixed 404 response.
func unmodelledActions(actions []elbtypes.Action, fixed404 bool) string {
	if len(actions) == 0 {
		return ""
	}
	if len(actions) == 1 {
		a := actions[0]
		switch a.Type {
		case elbtypes.ActionTypeEnumForward:
			if plainForward(a) {
				return ""
			}
		case elbtypes.ActionTypeEnumRedirect:
			if fixed404 && sslRedirectPort(a) != 0 {
				return "" // a listener's ssl-redirect
			}
		case elbtypes.ActionTypeEnumFixedResponse:
			if fixed404 && a.FixedResponseConfig != nil && aws.ToString(a.FixedResponseConfig.StatusCode) == fixedResponseStatus {
				return ""
			}
		}
	}
	parts := make([]string, len(actions))
	for i, a := range actions {
		parts[i] = describeAction(a)
	}
	return strings.Join(parts, ", ")
}

// plainForward reports whether a forward action sends to exactly one target group without
// stickiness: the only forward lbsg writes.
func plainForward(a elbtypes.Action) bool {
	if fc := a.ForwardConfig; fc != nil {
		if len(fc.TargetGroups) > 1 {
			return false
		}
		if s := fc.TargetGroupStickinessConfig; s != nil && aws.ToBool(s.Enabled) {
			return false
		}
	}
	return forwardTarget(a) != ""
}

func describeAction(a elbtypes.Action) string {
	switch a.Type {
	case elbtypes.ActionTypeEnumForward:
		if fc := a.ForwardConfig; fc != nil && len(fc.TargetGroups) > 1 {
			return fmt.Sprintf("forward to %d target groups", len(fc.TargetGroups))
		}
		if fc := a.ForwardConfig; fc != nil && fc.TargetGroupStickinessConfig != nil && aws.ToBool(fc.TargetGroupStickinessConfig.Enabled) {
			return "forward with stickiness"
		}
		return "forward"
	case elbtypes.ActionTypeEnumFixedResponse:
		if a.FixedResponseConfig != nil {
			return "fixed-response " + aws.ToString(a.FixedResponseConfig.StatusCode)
		}
	}
	return string(a.Type)
}

// unmodelledRule describes the actions and conditions of a rule that lbsg never writes; ""
// when it models all of the rule.
func unmodelledRule(r elbtypes.Rule) string {
	var parts []string
	// A rule's one forward (weighted or sticky), redirect or fixed response is modelled
	// (actions.* annotations); several actions (authenticate-*, then forward) are not.
	if len(r.Actions) != 1 || actionFromSDK(r.Actions[0]) == nil {
		if s := unmodelledActions(r.Actions, false); s != "" {
			parts = append(parts, s)
		}
	}
	for _, c := range r.Conditions {
		switch f := aws.ToString(c.Field); f {
		case fieldHostHeader, fieldPathPattern, state.FieldHTTPHeader, state.FieldHTTPRequestMethod, state.FieldQueryString, state.FieldSourceIP:
		default:
			parts = append(parts, "condition "+f)
		}
	}
	return strings.Join(parts, ", ")
}

// sslRedirectPort returns the port of a redirect lbsg writes for ssl-redirect: HTTPS on a
// port, permanent, with the request's host, path and query kept (AWS fills in the
// placeholders lbsg leaves out); 0 for any other action.
func sslRedirectPort(a elbtypes.Action) int32 {
	r := a.RedirectConfig
	if a.Type != elbtypes.ActionTypeEnumRedirect || r == nil || r.StatusCode != elbtypes.RedirectActionStatusCodeEnumHttp301 ||
		aws.ToString(r.Protocol) != redirectProtocol {
		return 0
	}
	keeps := func(v *string, placeholder string) bool { return v == nil || *v == "" || *v == placeholder }
	if !keeps(r.Host, "#{host}") || !keeps(r.Path, "/#{path}") || !keeps(r.Query, "#{query}") {
		return 0
	}
	port, err := strconv.ParseInt(aws.ToString(r.Port), 10, 32)
	if err != nil || port < 1 || port > 65535 {
		return 0
	}
	return int32(port)
}
