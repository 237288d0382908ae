package controller

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// ReasonTargetRules is the Ready condition's reason while the rules an object's load
// balancer needs on its targets' security groups are not all applied.
const ReasonTargetRules = "TargetRulesNotApplied"

// targetRulesStillFailing reports whether a Ready=True write must keep old, the target-SG
// reconciler's report that rules are missing: only that reconciler clears it, when the
// rules are applied.
func targetRulesStillFailing(old *metav1.Condition, status metav1.ConditionStatus) bool {
	return old != nil && status == metav1.ConditionTrue && old.Status == metav1.ConditionFalse && old.Reason == ReasonTargetRules
}

func objectKey(o runtime.Object) string {
	switch x := o.(type) {
	case *corev1.Service:
		return "Service/" + x.Namespace + "/" + x.Name
	case *networkingv1.Ingress:
		return "Ingress/" + x.Namespace + "/" + x.Name
	}
	return ""
}

func joinMessages(texts []string) string {
	return truncate(strings.Join(texts, "; "), 4000)
}

// setTargetRulesCondition sets Ready=False with ReasonTargetRules, unless the object's
// condition already shows another failure (bad input, an AWS error on its load balancer):
// that one says more and stays.
func (r *NetworkingReconciler) setTargetRulesCondition(ctx context.Context, o runtime.Object, msg string) error {
	want := metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonTargetRules, Message: msg}
	keep := func(old *metav1.Condition) bool {
		return old != nil && old.Status == metav1.ConditionFalse && old.Reason != ReasonTargetRules
	}
	switch x := o.(type) {
	case *corev1.Service:
		if keep(meta.FindStatusCondition(x.Status.Conditions, ConditionReady)) {
			return nil
		}
		return r.writeServiceCondition(ctx, x, want)
	case *networkingv1.Ingress:
		if keep(IngressCondition(x)) {
			return nil
		}
		return r.writeIngressCondition(ctx, x, want)
	}
	return nil
}

// clearTargetRulesConditions sets Ready=True again on the objects whose condition says
// target rules are missing and that no longer fail.
func (r *NetworkingReconciler) clearTargetRulesConditions(ctx context.Context, objs ClusterObjects, failing map[string]bool) {
	ok := metav1.Condition{Type: ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonReconciled,
		Message: "the load balancer's rules on its targets' security groups are applied"}
	for i := range objs.Services {
		s := &objs.Services[i]
		c := meta.FindStatusCondition(s.Status.Conditions, ConditionReady)
		if c == nil || c.Reason != ReasonTargetRules || failing[objectKey(s)] {
			continue
		}
		if err := r.writeServiceCondition(ctx, s, ok); err != nil {
			ctrllog.FromContext(ctx).Error(err, "update condition")
		}
	}
	for i := range objs.Ingresses {
		ing := &objs.Ingresses[i]
		c := IngressCondition(ing)
		if c == nil || c.Reason != ReasonTargetRules || failing[objectKey(ing)] {
			continue
		}
		if err := r.writeIngressCondition(ctx, ing, ok); err != nil {
			ctrllog.FromContext(ctx).Error(err, "update condition")
		}
	}
}

func (r *NetworkingReconciler) writeServiceCondition(ctx context.Context, svc *corev1.Service, c metav1.Condition) error {
	c.ObservedGeneration = svc.Generation
	before := svc.DeepCopy()
	if !meta.SetStatusCondition(&svc.Status.Conditions, c) {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, svc, lockedPatch(before)); err != nil {
		return fmt.Errorf("update status of %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return nil
}

func (r *NetworkingReconciler) writeIngressCondition(ctx context.Context, ing *networkingv1.Ingress, c metav1.Condition) error {
	return writeIngressCondition(ctx, r.Client, ing, c)
}
