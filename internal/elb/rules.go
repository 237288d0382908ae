package elb

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/state"
)

// Condition fields of the ALB rules lbsg writes and reads.
const (
	fieldHostHeader  = "host-header"
	fieldPathPattern = "path-pattern"
)

// RuleInput is one non-default ALB listener rule: forward to TargetGroupARN when the
// host-header matches one of Hosts (if any) and the path-pattern matches one of Paths (if
// any). At least one of Hosts and Paths must be set: ELB has no rule without a condition,
// and the listener's default action already covers "everything else".
type RuleInput struct {
	Priority       int32
	Hosts, Paths   []string
	TargetGroupARN string
	// Action, when set, replaces the forward to TargetGroupARN: a weighted or sticky
	// forward (by target group ARN), a redirect or a fixed response.
	Action *state.RuleAction
	// Conditions are the rule's conditions other than host and path.
	Conditions []state.RuleCondition
	// Tags (CreateRule) are given in the create call.
	Tags map[string]string
}

// CreateRule creates a rule on an ALB listener and returns its ARN.
func (c *Client) CreateRule(ctx context.Context, lbARN, listenerARN string, in RuleInput) (string, error) {
	conds, err := ruleConditions(in)
	if err != nil {
		return "", fmt.Errorf("create rule %d on listener %s: %w", in.Priority, listenerARN, err)
	}
	res, err := c.api.CreateRule(ctx, &elbv2.CreateRuleInput{
		ListenerArn: aws.String(listenerARN),
		Priority:    aws.Int32(in.Priority),
		Conditions:  conds,
		Actions:     ruleActions(in),
		Tags:        sdkTags(in.Tags),
	})
	if err != nil {
		c.forget(lbARN)
		return "", fmt.Errorf("create rule %d on listener %s: %w", in.Priority, listenerARN, err)
	}
	if len(res.Rules) == 0 {
		c.forget(lbARN)
		return "", fmt.Errorf("create rule %d on listener %s: empty response", in.Priority, listenerARN)
	}
	c.wroteRule(lbARN, listenerARN, res.Rules[0], in.Tags)
	return aws.ToString(res.Rules[0].RuleArn), nil
}

// ModifyRule replaces a rule's conditions and action. Its priority is not changed
// (ModifyRule cannot; SetRulePriorities would have to move the rules it collides with).
func (c *Client) ModifyRule(ctx context.Context, lbARN, ruleARN string, in RuleInput) error {
	conds, err := ruleConditions(in)
	if err != nil {
		// ModifyRule would read no conditions as "keep the current ones", silently.
		return fmt.Errorf("modify rule %s: %w", ruleARN, err)
	}
	_, err = c.api.ModifyRule(ctx, &elbv2.ModifyRuleInput{
		RuleArn:    aws.String(ruleARN),
		Conditions: conds,
		Actions:    ruleActions(in),
	})
	c.forget(lbARN)
	if err != nil {
		return fmt.Errorf("modify rule %s: %w", ruleARN, err)
	}
	return nil
}

// DeleteRule deletes a rule; one that is already gone (or whose listener or load balancer
// is) is not an error.
func (c *Client) DeleteRule(ctx context.Context, lbARN, ruleARN string) error {
	_, err := c.api.DeleteRule(ctx, &elbv2.DeleteRuleInput{RuleArn: aws.String(ruleARN)})
	c.forget(lbARN)
	if err != nil && !cloud.IsNotFound(err) {
		return fmt.Errorf("delete rule %s: %w", ruleARN, err)
	}
	return nil
}

// ruleConditions builds the host-header and path-pattern conditions of in with the
// *Config form, which takes several values (the legacy Values field takes one).
func ruleConditions(in RuleInput) ([]elbtypes.RuleCondition, error) {
	var out []elbtypes.RuleCondition
	if len(in.Hosts) > 0 {
		out = append(out, elbtypes.RuleCondition{Field: aws.String(fieldHostHeader),
			HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: in.Hosts}})
	}
	if len(in.Paths) > 0 {
		out = append(out, elbtypes.RuleCondition{Field: aws.String(fieldPathPattern),
			PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: in.Paths}})
	}
	for _, c := range in.Conditions {
		out = append(out, sdkCondition(c))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("rule %d has no condition, and a rule needs one", in.Priority)
	}
	return out, nil
}

func forwardActions(tgARN string) []elbtypes.Action {
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}}
}

// rules reads a listener's non-default rules, uncached, by ascending priority.
func (c *Client) rules(ctx context.Context, listenerARN string) ([]state.ListenerRule, error) {
	var out []state.ListenerRule
	p := elbv2.NewDescribeRulesPaginator(c.api, &elbv2.DescribeRulesInput{ListenerArn: aws.String(listenerARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe rules of listener %s: %w", listenerARN, err)
		}
		for _, r := range page.Rules {
			// The default rule is the listener's default action, already read with the
			// listener; its priority is "default", not a number.
			if aws.ToBool(r.IsDefault) || aws.ToString(r.Priority) == "default" {
				continue
			}
			rule, err := ruleFromSDK(r)
			if err != nil {
				return nil, fmt.Errorf("rules of listener %s: %w", listenerARN, err)
			}
			out = append(out, rule)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Priority < out[j].Priority })
	return out, nil
}

func ruleFromSDK(r elbtypes.Rule) (state.ListenerRule, error) {
	out := state.ListenerRule{ARN: aws.ToString(r.RuleArn)}
	prio, err := strconv.ParseInt(aws.ToString(r.Priority), 10, 32)
	if err != nil {
		return state.ListenerRule{}, fmt.Errorf("rule %s has priority %q: %w", out.ARN, aws.ToString(r.Priority), err)
	}
	out.Priority = int32(prio)
	for _, cond := range r.Conditions {
		// A condition carries its values in the *Config form, the legacy Values field, or
		// (as AWS answers) both; read both and keep each value once.
		switch aws.ToString(cond.Field) {
		case fieldHostHeader:
			if cond.HostHeaderConfig != nil {
				out.Hosts = appendNew(out.Hosts, cond.HostHeaderConfig.Values...)
			}
			out.Hosts = appendNew(out.Hosts, cond.Values...)
		case fieldPathPattern:
			if cond.PathPatternConfig != nil {
				out.Paths = appendNew(out.Paths, cond.PathPatternConfig.Values...)
			}
			out.Paths = appendNew(out.Paths, cond.Values...)
		default:
			if c, ok := conditionFromSDK(cond); ok {
				out.Conditions = append(out.Conditions, c)
			}
		}
	}
	for _, a := range r.Actions {
		if a.Type == elbtypes.ActionTypeEnumForward {
			out.TargetGroupARN = forwardTarget(a)
		}
	}
	if len(r.Actions) == 1 {
		out.Action = actionFromSDK(r.Actions[0])
		if out.Action != nil {
			out.TargetGroupARN = ""
		}
	}
	out.Rich = richRule(out)
	out.Unmodelled = unmodelledRule(r)
	return out, nil
}

// appendNew appends the values not yet in list, in order.
func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}
