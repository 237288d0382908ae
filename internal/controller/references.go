package controller

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/targets"
)

// EventReferenceDenied is the reason of the Warning Event for a reference the reference
// authorizer refuses (authz).
const EventReferenceDenied = "ReferenceDenied"

// subjectOf is the stack's owner as the reference authorizer sees it: a Service, or an
// Ingress group spanning its members' namespaces.
func subjectOf(o spec.Owner, namespaces []string) authz.Subject {
	s := authz.Subject{Kind: o.Kind, Namespace: o.Namespace, Name: o.Name}
	if o.Namespace == "" {
		s.Namespaces = namespaces
	}
	return s
}

// classifier recognises the owners of what a stack's object names: the resources of the
// stack of that tag are Own.
func (e *Engine) classifier(stackTag, stackID string) authz.Classifier {
	return authz.Classifier{Cluster: e.Settings.Cluster, Self: authz.StackTag{Key: stackTag, Value: stackID}}
}

// checkReferences refuses a stack's plan when it names anything the policy denies: the
// last gate before apply, whatever path a reference took into the plan. sgTags are the
// tags of the SGs the stack's references resolved to.
func (e *Engine) checkReferences(ctx context.Context, sp *StackPlan, objs ClusterObjects, sgs []cloud.SecurityGroup,
	sgTags map[string]map[string]string, backendSGID string) error {
	st := sp.Stack
	in := plan.ReferenceCheck{
		From:        sp.Subject,
		Policy:      e.Policy,
		Classifier:  e.classifier(st.StackTag, st.StackID),
		SGTags:      map[string]map[string]string{},
		TGTags:      map[string]map[string]string{},
		BackendSGID: backendSGID,
		PodIPs:      livePodIPs(objs),
		Instances:   nodeInstances(objs.Nodes),
	}
	for _, sg := range sgs {
		in.SGTags[sg.ID] = sg.Tags
	}
	for id, t := range sgTags {
		in.SGTags[id] = t
	}
	tgs, err := e.ELB.TargetGroups(ctx, false)
	if err != nil {
		return err
	}
	for _, tg := range tgs {
		in.TGTags[tg.ARN] = tg.Tags
	}
	for _, tg := range sp.Observed.TargetGroups {
		in.TGTags[tg.ARN] = tg.Tags
	}
	for arn, t := range sp.forwardTGTags {
		in.TGTags[arn] = t
	}
	externalTargetGroups(sp.Plan, in.TGTags)
	if denials := plan.CheckReferences(sp.Plan, in); len(denials) > 0 {
		sp.Plan = plan.Plan{}
		for _, d := range denials {
			sp.Problems = append(sp.Problems, denialProblem(d))
		}
	}
	return nil
}

// externalTargetGroups adds the target groups a plan forwards or writes to that the
// inventory (lbsg's and upstream's target groups, all named k8s-...) does not hold, and
// whose name no stack gives, as made outside Kubernetes.
func externalTargetGroups(p plan.Plan, tags map[string]map[string]string) {
	for _, arn := range plan.TargetGroupsNamed(p) {
		if _, ok := tags[arn]; ok {
			continue
		}
		// arn:aws:elasticloadbalancing:region:account:targetgroup/<name>/<id>
		_, rest, _ := strings.Cut(arn, ":targetgroup/")
		if name, _, _ := strings.Cut(rest, "/"); name != "" && !strings.HasPrefix(name, "k8s-") {
			tags[arn] = nil
		}
	}
}

// forwardTargetGroups classifies the target groups that the group's actions.* annotations
// forward to by ARN (no AWS call when none does): by the tags of the target-group inventory
// (lbsg's and upstream's, all named k8s-…) and of the group's own, and, for an ARN neither
// holds, by its tags read through the tag cache. A group named k8s-… that the inventory
// lacks is read like any other, never assumed to be made outside Kubernetes. An ARN AWS does
// not know is left out: the builder reports it.
func (e *Engine) forwardTargetGroups(ctx context.Context, g *IngressGroup, obs plan.Observed) (map[string]authz.Owner, map[string]map[string]string, error) {
	var arns []string
	for _, m := range g.Members {
		for _, a := range annotations.ActionTargetGroupARNs(m.Ingress.Annotations) {
			arns = appendOnce(arns, a)
		}
	}
	if len(arns) == 0 {
		return nil, nil, nil
	}
	known := map[string]map[string]string{}
	tgs, err := e.ELB.TargetGroups(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	for _, tg := range tgs {
		known[tg.ARN] = tg.Tags
	}
	for _, tg := range obs.TargetGroups {
		known[tg.ARN] = tg.Tags
	}
	tags := map[string]map[string]string{}
	var unknown []string
	for _, a := range arns {
		if t, ok := known[a]; ok {
			tags[a] = t
		} else {
			unknown = append(unknown, a)
		}
	}
	if len(unknown) > 0 {
		read, _, err := e.ELB.TargetGroupTags(ctx, unknown)
		if err != nil {
			return nil, nil, fmt.Errorf("read the tags of the target groups %v that actions forward to: %w", unknown, err)
		}
		maps.Copy(tags, read)
	}
	id := e.ingressIdentity(g.ID)
	c := e.classifier(id.StackTag, id.StackID)
	owners := make(map[string]authz.Owner, len(tags))
	for a, t := range tags {
		owners[a] = c.Classify(t)
	}
	return owners, tags, nil
}

// denialProblem reports a refused reference as bad input of the object that made it.
func denialProblem(d authz.Denial) *spec.Problem {
	key := d.Reference.Key
	if key == "" {
		key = string(d.Reference.Kind)
	}
	return &spec.Problem{Key: key, Value: d.Reference.Value, Reason: d.Decision.Reason, Fix: d.Decision.Fix}
}

// leftOutNotice tells an object that an SG carrying a Name it uses was left out of the
// name's resolution, and whose it is: someone copied the name, and the object should know.
func leftOutNotice(d authz.Denial) spec.Notice {
	r := d.Reference
	return spec.Notice{Reason: EventReferenceDenied, Message: fmt.Sprintf(
		"%s %q: security group %s also carries the Name tag %q but is left out, and the name resolves to the other security groups that carry it: %s; fix: name your security group by its ID (sg-...) so that no copied Name can matter, and have the owner of %s remove the Name tag",
		r.Key, r.Value, r.ID, r.Value, d.Decision.Reason, r.ID)}
}

// livePodIPs maps each endpoint address to the Pods of the whole cluster that hold it
// (targets.HoldsIP): the check sees every live holder of an IP the plan registers, not
// only the Pods of the subject's namespaces.
func livePodIPs(objs ClusterObjects) map[string][]plan.PodRef {
	now := time.Now()
	out := map[string][]plan.PodRef{}
	for ip, holders := range objs.IPHolders {
		for _, p := range holders {
			if targets.HoldsIP(podLiveness(p), now) {
				out[ip] = append(out[ip], plan.PodRef{Namespace: p.Namespace, Name: p.Name, HostNetwork: p.Spec.HostNetwork})
			}
		}
	}
	return out
}

// nodeInstances are the EC2 instance IDs of the cluster's Nodes.
func nodeInstances(nodes []corev1.Node) map[string]bool {
	out := map[string]bool{}
	for _, n := range nodes {
		if id, err := targets.InstanceIDFromProviderID(n.Spec.ProviderID); err == nil {
			out[id] = true
		}
	}
	return out
}
