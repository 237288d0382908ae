package controller

import (
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/spec"
)

// managedSGDrift returns the stacks whose managed SG, as the drift check read it with
// every other SG of the cluster (one batched read, whatever the number of stacks),
// differs from what their spec wants: a client rule added or revoked behind lbsg's back,
// or a tag. Each is handed to its own reconciler, which plans and applies the repair as
// for any change; the others are not reconciled. Stacks that cannot be computed, have no
// load balancer yet, or whose managed SG is ambiguous or absent (an SG detached from its
// load balancer shows as a change of the load balancer's SGs) are left to their
// reconciler's own pace.
func (e *Engine) managedSGDrift(stacks []*netStack, owned []cloud.SecurityGroup) []spec.Owner {
	states := statesOf(owned)
	var out []spec.Owner
	for _, ns := range stacks {
		if ns.err != nil || ns.stack == nil || ns.lb == nil || ns.id == nil || ns.stack.ManagedSG == nil {
			continue
		}
		have, err := plan.RecogniseManagedSGs(*ns.id, states)
		if err != nil {
			continue
		}
		if plan.ManagedSGDrifted(ns.stack.ManagedSG, have, e.keepTag) {
			out = append(out, ns.owner)
		}
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }
