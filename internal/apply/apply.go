// Package apply executes a plan against AWS, one API call per change, in the plan's order.
// It resolves the logical keys of resources created earlier in the same plan into their
// AWS IDs, and classifies failures so that callers know whether to retry.
package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbsg/lbsg/internal/audit"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

// EC2 is the part of the EC2 boundary that apply writes through.
type EC2 interface {
	CreateSecurityGroup(ctx context.Context, name, description string, tags map[string]string) (string, error)
	FindSecurityGroups(ctx context.Context, tagFilters map[string][]string, fresh bool) ([]cloud.SecurityGroup, error)
	DeleteSecurityGroup(ctx context.Context, id string) error
	AuthorizeIngress(ctx context.Context, sgID string, rules []sgrules.Rule, ruleTags map[string]string) error
	RevokeIngress(ctx context.Context, sgID string, rules []sgrules.Rule) error
	CreateTags(ctx context.Context, id string, tags map[string]string) error
	DeleteTags(ctx context.Context, id string, keys []string) error
}

var _ EC2 = (*cloud.Observer)(nil)

// Users is what apply asks when AWS refuses to delete a security group: what still holds
// it. *cloud.Observer implements it; with an EC2 without it the refusal is reported as is.
type Users interface {
	SecurityGroupUsers(ctx context.Context, sgID string) (cloud.SGUsers, error)
}

// DefaultChangeTimeout bounds one change when Executor.ChangeTimeout is not set.
const DefaultChangeTimeout = 30 * time.Second

// Executor applies plans.
type Executor struct {
	EC2   EC2
	ELB   *elb.Client
	VPCID string
	// ChangeTimeout bounds each change. A change runs to its end even when the caller's
	// context is cancelled (shutdown, the reconcile deadline): cutting an AWS write in
	// flight leaves lbsg not knowing what it created.
	ChangeTimeout time.Duration
	// Changes counts the changes carried out by operation and outcome
	// (lbsg_plan_changes_total, see NewChangeCounter); nil counts nothing.
	Changes *prometheus.CounterVec
}

// Result is what applying a plan produced.
type Result struct {
	// IDs maps the logical key of every resource created by the plan to its AWS ID or ARN.
	IDs map[string]string
	// Created is the load balancer created by the plan, if any.
	Created *state.LoadBalancer
	// Applied counts the changes that were carried out.
	Applied int
}

// RetryError means the plan stopped at a change that cannot be made yet (a security
// group still in use, throttling). Its message names what holds the change up and how to
// clear it. Callers report it and return it, so that the work queue retries with
// exponential backoff.
type RetryError struct {
	Err error
}

func (e *RetryError) Error() string { return e.Err.Error() }
func (e *RetryError) Unwrap() error { return e.Err }

// Apply executes the changes in order and stops at the first failure. It starts no change
// once ctx is done; the change in flight then runs to its end, within ChangeTimeout.
func (x *Executor) Apply(ctx context.Context, p plan.Plan) (Result, error) {
	res := Result{IDs: map[string]string{}}
	timeout := x.ChangeTimeout
	if timeout <= 0 {
		timeout = DefaultChangeTimeout
	}
	for _, c := range p.Changes {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("stopped before %s %s (%d of %d changes applied): %w", c.Op, c.Target.String(), res.Applied, len(p.Changes), err)
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		if len(c.For) > 0 {
			// The write's audit line names the objects its rules are for.
			cctx = audit.WithObject(cctx, strings.Join(c.For, ", "))
		}
		err := x.apply(cctx, c, &res)
		cancel()
		if x.Changes != nil {
			x.Changes.WithLabelValues(string(c.Op), changeOutcome(err)).Inc()
		}
		if err != nil {
			var blocked *RetryError
			if errors.As(err, &blocked) {
				return res, &RetryError{Err: fmt.Errorf("%s %s: %w", c.Op, c.Target.String(), blocked.Err)}
			}
			err = fmt.Errorf("%s %s: %w", c.Op, c.Target.String(), err)
			if cloud.IsDependencyViolation(err) || cloud.IsThrottling(err) || cloud.IsResourceInUse(err) {
				return res, &RetryError{Err: err}
			}
			return res, err
		}
		res.Applied++
	}
	return res, nil
}

// deleteSG deletes an SG. AWS refuses to delete an SG that an interface uses or another
// SG's rule refers to, so nothing is asked before: the planner read the referring rules
// fresh anyway (HeldBy names those it leaves), and AWS itself is the check for interfaces.
// When AWS refuses with DependencyViolation, which names nothing, what holds the SG is
// read then, so that the error names the rule or interface to remove.
func (x *Executor) deleteSG(ctx context.Context, c plan.Change) error {
	id := c.Target.ID
	if len(c.HeldBy) > 0 {
		return &RetryError{Err: errors.New(cloud.SGUsers{ReferencedBy: c.HeldBy}.Explain(id))}
	}
	err := x.EC2.DeleteSecurityGroup(ctx, id)
	if users, canAsk := x.EC2.(Users); canAsk && cloud.IsDependencyViolation(err) {
		if u, uerr := users.SecurityGroupUsers(ctx, id); uerr == nil && !u.None() {
			return &RetryError{Err: fmt.Errorf("%s: %w", u.Explain(id), err)}
		}
	}
	return err
}

func (x *Executor) id(r plan.Ref, res *Result) (string, error) {
	if r.ID != "" {
		return r.ID, nil
	}
	if id, ok := res.IDs[r.Key]; ok {
		return id, nil
	}
	return "", fmt.Errorf("%s %q is not known: the change that creates it did not run", r.Kind, r.Key)
}

func (x *Executor) ids(refs []plan.Ref, res *Result) ([]string, error) {
	out := make([]string, 0, len(refs))
	for _, r := range refs {
		id, err := x.id(r, res)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

func (x *Executor) apply(ctx context.Context, c plan.Change, res *Result) error {
	switch c.Op {
	case plan.OpCreateSG:
		return x.createSG(ctx, c, res)
	case plan.OpDeleteSG:
		return x.deleteSG(ctx, c)
	}
	target, err := x.id(c.Target, res)
	if err != nil && c.Op != plan.OpCreateTG && c.Op != plan.OpCreateLB && c.Op != plan.OpCreateListener && c.Op != plan.OpCreateRule {
		return err
	}
	switch c.Op {
	case plan.OpTagSG:
		if len(c.Tags) > 0 {
			if err := x.EC2.CreateTags(ctx, target, c.Tags); err != nil {
				return err
			}
		}
		if len(c.Untag) > 0 {
			return x.EC2.DeleteTags(ctx, target, c.Untag)
		}
		return nil
	case plan.OpAuthorize:
		return x.EC2.AuthorizeIngress(ctx, target, c.Rules, c.RuleTags)
	case plan.OpRevoke:
		return x.EC2.RevokeIngress(ctx, target, c.Rules)
	case plan.OpCreateTG:
		tg := c.TG
		arn, adopted, err := x.ELB.CreateTargetGroup(ctx, elb.TargetGroupInput{Name: tg.Name, Protocol: tg.Protocol, TargetType: tg.TargetType,
			VPCID: x.VPCID, Port: tgPort(tg.Port), Tags: tg.Tags, ProtocolVersion: tg.ProtocolVersion,
			HealthCheck: state.HealthCheck(tg.HealthCheck)})
		if err != nil {
			return err
		}
		res.IDs[c.Target.Key] = arn
		if adopted {
			return replan("target group", tg.Name, arn)
		}
		return nil
	case plan.OpModifyTG:
		return x.ELB.ModifyHealthCheck(ctx, target, state.HealthCheck(c.TG.HealthCheck), c.TG.ProtocolVersion)
	case plan.OpSetTGAttributes:
		return x.ELB.SetAttributes(ctx, elb.AttrTargetGroup, target, c.Attributes, c.Target.ID == "")
	case plan.OpSetLBAttributes:
		return x.ELB.SetAttributes(ctx, elb.AttrLoadBalancer, target, c.Attributes, c.Target.ID == "")
	case plan.OpSetListenerAttributes:
		return x.ELB.SetAttributes(ctx, elb.AttrListener, target, c.Attributes, c.Target.ID == "")
	case plan.OpTag:
		return x.ELB.Tag(ctx, target, c.Tags, c.Untag)
	case plan.OpCreateLB:
		sgs, err := x.ids(c.SGs, res)
		if err != nil {
			return err
		}
		lb, adopted, err := x.ELB.CreateLoadBalancer(ctx, elb.CreateLoadBalancerInput{Name: c.LB.Name, Type: c.LB.Type, Scheme: c.LB.Scheme,
			IPAddressType: c.LB.IPAddressType, Subnets: c.LB.Subnets, SecurityGroups: sgs, Tags: c.LB.Tags})
		if err != nil {
			return err
		}
		res.IDs[c.Target.Key] = lb.ARN
		if adopted {
			return replan("load balancer", lb.Name, lb.ARN)
		}
		res.Created = &lb
		if c.PrivateLinkEnforce != "" && len(sgs) > 0 {
			return x.ELB.SetSecurityGroups(ctx, lb.ARN, sgs, c.PrivateLinkEnforce)
		}
		return nil
	case plan.OpSetLBSGs:
		sgs, err := x.ids(c.SGs, res)
		if err != nil {
			return err
		}
		return x.ELB.SetSecurityGroups(ctx, target, sgs, c.PrivateLinkEnforce)
	case plan.OpSetSubnets:
		return x.ELB.SetSubnets(ctx, target, c.Subnets)
	case plan.OpSetIPType:
		return x.ELB.SetIPAddressType(ctx, target, c.IPType)
	case plan.OpCreateListener, plan.OpModifyListener:
		lbARN, err := x.id(c.Listener.LoadBalancer, res)
		if err != nil {
			return err
		}
		tgARN := "" // no target group: a fixed 404 response
		if c.Listener.TargetGroup != (plan.Ref{}) {
			if tgARN, err = x.id(c.Listener.TargetGroup, res); err != nil {
				return err
			}
		}
		in := elb.ListenerInput{Port: c.Listener.Port, Protocol: c.Listener.Protocol, TargetGroupARN: tgARN,
			Certificates: c.Listener.Certificates, SSLPolicy: c.Listener.SSLPolicy, ALPNPolicy: c.Listener.ALPNPolicy, RedirectPort: c.Listener.RedirectPort,
			KeepProtocol: c.Listener.KeepProtocol, SameProtocol: c.Listener.SameProtocol, KeepDefaultAction: c.Listener.KeepDefaultAction,
			Tags: c.Listener.Tags}
		if c.Listener.DefaultAction != nil {
			rs := &plan.RuleSpec{Action: c.Listener.DefaultAction, ForwardRefs: c.Listener.DefaultForwardRefs}
			if in.DefaultAction, err = x.ruleAction(rs, res); err != nil {
				return err
			}
		}
		if c.Op == plan.OpModifyListener {
			return x.ELB.ModifyListener(ctx, lbARN, target, in)
		}
		arn, err := x.ELB.CreateListener(ctx, lbARN, in)
		if err != nil {
			return err
		}
		res.IDs[c.Target.Key] = arn
		return nil
	case plan.OpCreateRule, plan.OpModifyRule:
		lbARN, err := x.id(c.Rule.LoadBalancer, res)
		if err != nil {
			return err
		}
		in := elb.RuleInput{Priority: c.Rule.Priority, Hosts: c.Rule.Hosts, Paths: c.Rule.Paths, Conditions: c.Rule.Conditions, Tags: c.Rule.Tags}
		if c.Rule.Action == nil {
			if in.TargetGroupARN, err = x.id(c.Rule.TargetGroup, res); err != nil {
				return err
			}
		} else if in.Action, err = x.ruleAction(c.Rule, res); err != nil {
			return err
		}
		if c.Op == plan.OpModifyRule {
			return x.ELB.ModifyRule(ctx, lbARN, target, in)
		}
		listenerARN, err := x.id(c.Rule.Listener, res)
		if err != nil {
			return err
		}
		arn, err := x.ELB.CreateRule(ctx, lbARN, listenerARN, in)
		if err != nil {
			return err
		}
		res.IDs[c.Target.Key] = arn
		return nil
	case plan.OpTagListeners:
		return x.ELB.TagListeners(ctx, target, c.TagARNs, c.Tags)
	case plan.OpDeleteRule:
		lbARN, _ := x.id(c.Rule.LoadBalancer, res)
		return x.ELB.DeleteRule(ctx, lbARN, target)
	case plan.OpDeleteListener:
		lbARN := ""
		if c.Listener != nil {
			lbARN, _ = x.id(c.Listener.LoadBalancer, res)
		}
		err := x.ELB.DeleteListener(ctx, lbARN, target)
		if cloud.IsNotFound(err) {
			return nil
		}
		return err
	case plan.OpRegister:
		return x.ELB.RegisterTargets(ctx, target, c.Targets)
	case plan.OpDeregister:
		return x.ELB.DeregisterTargets(ctx, target, c.Targets)
	case plan.OpDeleteLB:
		err := x.ELB.DeleteLoadBalancer(ctx, target)
		if cloud.IsNotFound(err) {
			return nil
		}
		return err
	case plan.OpDeleteTG:
		err := x.ELB.DeleteTargetGroup(ctx, target)
		if cloud.IsNotFound(err) {
			return nil
		}
		return err
	}
	return errors.New("unknown change " + string(c.Op))
}

// tgPort is the port a target group is created with; ip targets on a named port that no
// endpoint reports yet get a placeholder, since every target is registered with its port.
func tgPort(p int32) int32 {
	if p == 0 {
		return 1
	}
	return p
}
