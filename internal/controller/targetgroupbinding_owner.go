package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
)

// Whose a bound target group is, and what lbsg registered there, is decided from AWS,
// never from the binding alone: a tenant writes its bindings (their annotations and
// spec.targetGroupARN included), not the target group's tags. A target group carries the
// claim of the one binding of the cluster that owns its targets (naming.BoundByTagKey),
// and the seal of the records lbsg wrote for it (naming.RegisteredTagKey).

// TGBARNIndex is the field index of the TargetGroupBinding informer by
// spec.targetGroupARN: the other bindings of a target group are found without listing
// every binding.
const TGBARNIndex = "spec.targetGroupARN"

// IndexBindingARNs adds TGBARNIndex to the manager's TargetGroupBinding informer.
func IndexBindingARNs(ctx context.Context, indexer client.FieldIndexer) error {
	err := indexer.IndexField(ctx, &elbv2api.TargetGroupBinding{}, TGBARNIndex, func(o client.Object) []string {
		if b, ok := o.(*elbv2api.TargetGroupBinding); ok && b.Spec.TargetGroupARN != "" {
			return []string{b.Spec.TargetGroupARN}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index target group bindings by target group: %w", err)
	}
	return nil
}

// bindingsNaming returns the bindings of the cluster whose spec.targetGroupARN is arn,
// from TGBARNIndex; a reader without the index lists them all.
func bindingsNaming(ctx context.Context, c client.Reader, arn string) ([]elbv2api.TargetGroupBinding, error) {
	list := &elbv2api.TargetGroupBindingList{}
	if err := c.List(ctx, list, client.MatchingFields{TGBARNIndex: arn}); err == nil {
		return list.Items, nil
	}
	if err := c.List(ctx, list); err != nil {
		return nil, fmt.Errorf("list target group bindings: %w", err)
	}
	return slices.DeleteFunc(list.Items, func(b elbv2api.TargetGroupBinding) bool { return b.Spec.TargetGroupARN != arn }), nil
}

func bindingSubject(b *elbv2api.TargetGroupBinding) authz.Subject {
	return authz.Subject{Kind: "TargetGroupBinding", Namespace: b.Namespace, Name: b.Name}
}

// claimOf is the claim b puts on its target group.
func (e *Engine) claimOf(b *elbv2api.TargetGroupBinding) authz.StackTag {
	return authz.StackTag{Key: naming.BoundByTagKey(e.Settings.Cluster), Value: naming.BoundByValue(b.Namespace, b.Name)}
}

// bindingClassifier classifies target groups for b: its claim is its own.
func (e *Engine) bindingClassifier(b *elbv2api.TargetGroupBinding) authz.Classifier {
	return authz.Classifier{Cluster: e.Settings.Cluster, Self: e.claimOf(b)}
}

// ownerTags returns the tags of tg as the reference authorizer judges them for b. The
// claim tg carries stands while the binding it names still names tg; a claim left by a
// binding that is gone (deleted without its finalizer) frees the target group. An
// unclaimed target group belongs to the senior binding that names it (the oldest), which
// claims it on its next reconcile: one binding per target group and cluster, whichever
// binding is reconciled first.
func (e *Engine) ownerTags(ctx context.Context, c client.Reader, b *elbv2api.TargetGroupBinding, tg elb.BoundTargetGroup) (map[string]string, error) {
	tags := maps.Clone(tg.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	others, err := bindingsNaming(ctx, c, tg.ARN)
	if err != nil {
		return nil, err
	}
	self := e.claimOf(b)
	if v, ok := tags[self.Key]; ok && v != self.Value && !slices.ContainsFunc(others, func(o elbv2api.TargetGroupBinding) bool {
		return naming.BoundByValue(o.Namespace, o.Name) == v
	}) {
		delete(tags, self.Key)
	}
	if _, ok := tags[self.Key]; !ok {
		if s := seniorBinding(others, b); s != nil {
			tags[self.Key] = naming.BoundByValue(s.Namespace, s.Name)
		}
	}
	return tags, nil
}

// seniorBinding returns the binding among others older than b (by creation, then
// namespace and name), or nil when b is the senior one. Upstream's bindings of a stack
// lbsg serves never register anything and do not count.
func seniorBinding(others []elbv2api.TargetGroupBinding, b *elbv2api.TargetGroupBinding) *elbv2api.TargetGroupBinding {
	var senior *elbv2api.TargetGroupBinding
	older := func(x, y *elbv2api.TargetGroupBinding) bool {
		if !x.CreationTimestamp.Equal(&y.CreationTimestamp) {
			return x.CreationTimestamp.Before(&y.CreationTimestamp)
		}
		return x.Namespace+"/"+x.Name < y.Namespace+"/"+y.Name
	}
	for i := range others {
		o := &others[i]
		if (o.Namespace == b.Namespace && o.Name == b.Name) || upstreamStackOf(o) != nil || !older(o, b) {
			continue
		}
		if senior == nil || older(o, senior) {
			senior = o
		}
	}
	return senior
}

// authorizeTargetGroup asks the reference authorizer whether b may use target group arn,
// whose tags are as ownerTags returns them; nil when it may.
func (e *Engine) authorizeTargetGroup(b *elbv2api.TargetGroupBinding, arn string, tags map[string]string) *authz.Denial {
	r := authz.Reference{From: bindingSubject(b), Kind: authz.TargetGroup, Value: arn, ID: arn, Key: "spec.targetGroupARN",
		Owner: e.bindingClassifier(b).Classify(tags)}
	if d := e.Policy.Decide(r); !d.Allowed {
		return &authz.Denial{Reference: r, Decision: d}
	}
	return nil
}

// vouched reports whether tg's tags vouch for rec as what lbsg registered there for b: tg
// is rec's target group, b claims it, and the seal holds rec's digest.
func (e *Engine) vouched(b *elbv2api.TargetGroupBinding, tg elb.BoundTargetGroup, rec trackedTargets) bool {
	self := e.claimOf(b)
	return rec.ARN == tg.ARN && tg.Tags[self.Key] == self.Value &&
		sealed(tg.Tags[naming.RegisteredTagKey(e.Settings.Cluster)], recordDigest(e.Settings.Cluster, b.Namespace, b.Name, rec))
}

// errDenied is a binding's plan the reference check refused; nothing of it was applied.
var errDenied = errors.New("refused by the reference check")

// applyChecked applies a binding's changes to its target group once plan.CheckReferences
// passed the whole of p: a deregistration or a tag write passes the same ownership checks
// as a registration, and a registered IP must be the only live Pod of the cluster with
// that IP, in the binding's namespace. tags are the target group's tags as ownerTags
// returns them. parts split p into the steps it is applied in; the check covers them all
// before any is applied. between runs after each step but the last.
func (e *Engine) applyChecked(ctx context.Context, b *elbv2api.TargetGroupBinding, arn string, tags map[string]string,
	objs ClusterObjects, parts [][]plan.Change, between func(step int) error) error {
	var all plan.Plan
	for _, p := range parts {
		all.Changes = append(all.Changes, p...)
	}
	in := plan.ReferenceCheck{From: bindingSubject(b), Policy: e.Policy, Classifier: e.bindingClassifier(b),
		TGTags: map[string]map[string]string{arn: tags}, PodIPs: livePodIPs(objs), Instances: nodeInstances(objs.Nodes)}
	if ds := plan.CheckReferences(all, in); len(ds) > 0 {
		msgs := make([]string, len(ds))
		for i, d := range ds {
			msgs[i] = d.Error()
		}
		return fmt.Errorf("%w: %s", errDenied, strings.Join(msgs, "; "))
	}
	for i, p := range parts {
		if len(p) > 0 {
			if _, err := e.Exec.Apply(ctx, plan.Plan{Changes: p}); err != nil {
				return err
			}
		}
		if i < len(parts)-1 && between != nil {
			if err := between(i); err != nil {
				return err
			}
		}
	}
	return nil
}
