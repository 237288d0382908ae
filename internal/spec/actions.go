package spec

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/state"
)

// checkActionAnnotations reports every malformed actions.* and conditions.* annotation of
// a member, used by a rule or not, so that a typo shows before a rule comes to use it.
func (b *ingressBuilder) checkActionAnnotations(m *member) {
	keys := make([]string, 0, len(m.Ingress.Annotations))
	for k := range m.Ingress.Annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := m.Ingress.Annotations[k]
		switch {
		case strings.HasPrefix(k, annotations.IngActionsPrefix):
			if _, err := annotations.ParseAction(k, v); err != nil {
				b.addOn(err, m.key)
			}
		case strings.HasPrefix(k, annotations.IngConditionsPrefix):
			if _, err := annotations.ParseConditions(k, v); err != nil {
				b.addOn(err, m.key)
			}
		}
	}
}

// customRule applies the conditions.<name> and actions.<name> annotations that a rule's
// backend names, as upstream does: the annotation's host-header and path-pattern values
// join the rule's host and path (any of them matches), its other conditions are added, and
// a backend whose port name is use-annotation takes the action instead of a Service. It
// reports whether it set the rule's action (the caller forwards to the backend otherwise).
func (b *ingressBuilder) customRule(m *member, tgs *tgSet, r *ListenerRule, be *networkingv1.IngressBackend, where string) bool {
	if be.Service == nil {
		return false
	}
	ann := m.Ingress.Annotations
	name := be.Service.Name
	if v, ok := ann[annotations.IngConditionsPrefix+name]; ok {
		// A malformed value is reported by checkActionAnnotations.
		if conds, err := annotations.ParseConditions(annotations.IngConditionsPrefix+name, v); err == nil {
			for _, c := range conds {
				switch c.Field {
				case "host-header":
					r.Hosts = appendNew(r.Hosts, c.Values...)
				case "path-pattern":
					r.Paths = appendNew(r.Paths, c.Values...)
				default:
					r.Conditions = append(r.Conditions, state.RuleCondition{Field: c.Field, HeaderName: c.HeaderName, Values: c.Values, Query: c.Query})
				}
			}
		}
	}
	if be.Service.Port.Name != annotations.UseAnnotation {
		return false
	}
	r.TargetGroup, r.Action = b.backendAction(m, tgs, name, where)
	return true
}

// backendAction resolves the actions.<name> annotation a use-annotation backend names: a
// forward to one Service port without stickiness is that port's target group (as a backend
// naming it), anything else an action. A problem is reported and nothing returned when the
// annotation is missing or malformed.
func (b *ingressBuilder) backendAction(m *member, tgs *tgSet, name, where string) (string, *state.RuleAction) {
	key := annotations.IngActionsPrefix + name
	v, ok := m.Ingress.Annotations[key]
	if !ok {
		b.addOn(&Problem{Key: where + ".service.name", Value: name,
			Reason: fmt.Sprintf("the backend uses port %s but the Ingress has no annotation %s", annotations.UseAnnotation, key),
			Fix:    "add the annotation " + key + " with the action, or point the backend at a Service port"}, m.key)
		return "", nil
	}
	a, err := annotations.ParseAction(key, v)
	if err != nil {
		return "", nil // reported by checkActionAnnotations
	}
	switch a.Type {
	case state.ActionForward:
		sticky := a.Stickiness != nil && a.Stickiness.Enabled
		if len(a.Targets) == 1 && a.Targets[0].ServiceName != "" && !sticky {
			return tgs.forBackend(m, actionBackend(a.Targets[0]), key+" forwardConfig.targetGroups[0]"), nil
		}
		act := &state.RuleAction{Type: state.ActionForward, Stickiness: a.Stickiness}
		for i, t := range a.Targets {
			if t.TargetGroupARN != "" {
				b.judgeForward(m, key, t.TargetGroupARN)
			}
			f := state.ForwardTo{TargetGroupARN: t.TargetGroupARN, Weight: t.Weight}
			if t.ServiceName != "" {
				f.TargetGroup = tgs.forBackend(m, actionBackend(t), fmt.Sprintf("%s forwardConfig.targetGroups[%d]", key, i))
			}
			act.Forward = append(act.Forward, f)
		}
		return "", act
	case state.ActionRedirect:
		return "", &state.RuleAction{Type: state.ActionRedirect, Redirect: a.Redirect}
	case state.ActionFixedResponse:
		return "", &state.RuleAction{Type: state.ActionFixedResponse, FixedResponse: a.FixedResponse}
	}
	return "", nil
}

// judgeForward asks the reference authorizer whether a member may forward to a target group
// it names by ARN: one made outside Kubernetes, or the group's own, is fine; another
// stack's or cluster's is not (its targets follow that stack's Service, and it would be
// deleted under this rule). A refusal, or an ARN AWS does not know, is a problem of the
// member.
func (b *ingressBuilder) judgeForward(m *member, key, arn string) {
	if b.facts.TargetGroupsUnknown {
		return
	}
	seen := m.key + "\x00" + key + "\x00" + arn
	if b.forwardsJudged[seen] {
		return
	}
	if b.forwardsJudged == nil {
		b.forwardsJudged = map[string]bool{}
	}
	b.forwardsJudged[seen] = true
	owner, ok := b.facts.ForwardTargetGroups[arn]
	if !ok {
		b.problems = append(b.problems, onIngress(&Problem{Key: key, Value: arn,
			Reason: fmt.Sprintf("target group %s was not found", arn),
			Fix:    "forward to an existing target group of the cluster's region and account, by its ARN"}, m.key))
		return
	}
	r := authz.Reference{From: authz.Subject{Kind: "Ingress", Namespace: m.Ingress.Namespace, Name: m.Ingress.Name},
		Kind: authz.TargetGroup, Key: key, Value: arn, ID: arn, Owner: owner}
	if d := b.facts.Policy.Decide(r); !d.Allowed {
		b.problems = append(b.problems, onIngress(&Problem{Key: key, Value: arn, Reason: d.Reason, Fix: d.Fix}, m.key))
	}
}

// actionBackend is the Ingress backend a forward action's Service target stands for, so
// that it gets the same target group as a rule naming the Service port directly.
func actionBackend(t annotations.ActionTarget) *networkingv1.IngressBackend {
	port := networkingv1.ServiceBackendPort{Name: t.ServicePort}
	if n, err := strconv.Atoi(t.ServicePort); err == nil {
		port = networkingv1.ServiceBackendPort{Number: int32(n)}
	}
	return &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: t.ServiceName, Port: port}}
}

// appendNew appends the values not yet in list, in order.
func appendNew(list []string, values ...string) []string {
	for _, v := range values {
		if !contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

// sslRedirectOf returns the port of a default action that is exactly what ssl-redirect
// makes (a 301 to HTTPS on a port, host, path and query kept), 0 for any other.
func sslRedirectOf(a *state.RuleAction) int32 {
	if a == nil || a.Type != state.ActionRedirect || a.Redirect == nil {
		return 0
	}
	r := a.Redirect
	kept := func(v, placeholder string) bool { return v == "" || v == placeholder }
	if r.StatusCode != "HTTP_301" || r.Protocol != "HTTPS" || !kept(r.Host, "#{host}") || !kept(r.Path, "/#{path}") || !kept(r.Query, "#{query}") {
		return 0
	}
	port, err := strconv.ParseInt(r.Port, 10, 32)
	if err != nil || port < 1 || port > 65535 {
		return 0
	}
	return int32(port)
}
